// Package strict checks a YAML (or JSON) node tree against a Go type as a strict decoder
// would, reporting each problem at its line and field path; package api builds its manifest
// decoding on it. It knows nothing of gitfleet's kinds.
package strict
