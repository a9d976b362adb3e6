// Package api holds the OpenAPI document of Parley's public API: every
// route nginx serves, the original ones and /v1 (SPEC §11). openapi.yaml is
// the source; openapi.json, which nginx serves at /openapi.json and this
// package embeds, is generated from it by `go test ./api -update`, and the
// package's test fails while the two differ.
package api

import _ "embed"

//go:embed openapi.json
var document string

// Document returns the OpenAPI 3.0 document as JSON, a fresh copy on each
// call: the caller may keep or change it.
func Document() []byte { return []byte(document) }
