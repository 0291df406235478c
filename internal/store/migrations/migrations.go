// Package migrations holds the embedded SQL schema of each store dialect. Files are
// applied in name order, each once, inside a transaction, and recorded in
// schema_migrations.
package migrations

import "embed"

// SQLite is the schema for the embedded SQLite store.
//
//go:embed sqlite/*.sql
var SQLite embed.FS
