// Package formats turns the files analysts exchange into report features and
// back: CSV with longitude/latitude columns (ACLED style), KML and KMZ from
// Google Earth. Decoders produce GeoJSON features with properties in the
// types encoding/json gives (string, float64, bool, []any, map[string]any),
// so that an import goes through exactly the validation a GeoJSON upload
// does. Each decoded batch remembers where every feature came from, so that
// a validation error's JSON pointer (/features/15/properties/echelon) can be
// told back to the analyst as "row 17, column echelon".
//
// The package is pure: no HTTP, no storage, no shared state.
package formats
