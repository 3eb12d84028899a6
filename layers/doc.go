// Package layers is troopmap's domain: features, layers, the catalog of
// layers, their R-tree indexes, queries and domain errors. It knows nothing of
// HTTP or storage engines; those live in their own packages and depend on it.
package layers
