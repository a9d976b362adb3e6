// Package migrations embeds the schema's SQL files so that every binary
// carries the schema it was built with.
package migrations

import "embed"

// FS holds the goose migration files.
//
//go:embed *.sql
var FS embed.FS
