// Package geo holds pure geometry and parsing helpers on top of orb: bounding
// boxes, time intervals and distances. It has no HTTP, no logging and no
// shared state, and imports no other package of this project.
package geo
