// Package migrations holds the embedded SQL schema of each store dialect and the
// one runner both stores use. Files are applied in name order, each once, inside
// a transaction, and recorded in schema_migrations. The dialects keep the same
// file numbers: 0100_bayes.sql is the same change in sqlite/ and postgres/.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"time"
)

// SQLite is the schema for the embedded SQLite store.
//
//go:embed sqlite/*.sql
var SQLite embed.FS

// PostgreSQL is the schema for the PostgreSQL store.
//
//go:embed postgres/*.sql
var PostgreSQL embed.FS

// Dialect is what differs between the databases the runner drives.
type Dialect struct {
	Name string // "sqlite" or "postgres", also the directory of its files in FS
	FS   fs.FS
	// Param is the placeholder of the n-th (1-based) query argument: ? or $n.
	Param func(n int) string
	// Lock and Unlock, when set, run on the runner's connection around all
	// migrations, so that nodes starting at once apply each file once.
	Lock, Unlock string
}

// SQLiteDialect is SQLite: one writer at a time already.
var SQLiteDialect = Dialect{Name: "sqlite", FS: SQLite, Param: func(int) string { return "?" }}

// PostgresDialect is PostgreSQL: a session advisory lock serialises the nodes.
var PostgresDialect = Dialect{
	Name:   "postgres",
	FS:     PostgreSQL,
	Param:  func(n int) string { return fmt.Sprintf("$%d", n) },
	Lock:   `SELECT pg_advisory_lock(7236524383)`, // "mwmigr" as a number: any constant works
	Unlock: `SELECT pg_advisory_unlock(7236524383)`,
}

// Apply applies the dialect's migrations not yet recorded in db.
func Apply(ctx context.Context, db *sql.DB, d Dialect) (err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("%s: migrations: %w", d.Name, err)
	}
	defer conn.Close()
	if d.Lock != "" {
		if _, err := conn.ExecContext(ctx, d.Lock); err != nil {
			return fmt.Errorf("%s: migrations lock: %w", d.Name, err)
		}
		defer func() {
			if _, uerr := conn.ExecContext(context.WithoutCancel(ctx), d.Unlock); uerr != nil && err == nil {
				err = fmt.Errorf("%s: migrations unlock: %w", d.Name, uerr)
			}
		}()
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("%s: migrations table: %w", d.Name, err)
	}
	names, err := fs.Glob(d.FS, d.Name+"/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		base := path.Base(name)
		var n int
		if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = `+d.Param(1), base).Scan(&n); err != nil {
			return fmt.Errorf("%s: migration %s: %w", d.Name, base, err)
		}
		if n > 0 {
			continue
		}
		body, err := fs.ReadFile(d.FS, name)
		if err != nil {
			return err
		}
		if err := applyOne(ctx, conn, d, base, string(body)); err != nil {
			return fmt.Errorf("%s: migration %s: %w", d.Name, base, err)
		}
	}
	return nil
}

func applyOne(ctx context.Context, conn *sql.Conn, d Dialect, name, body string) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(name, applied_at) VALUES (`+d.Param(1)+`, `+d.Param(2)+`)`, name, time.Now().UnixMilli()); err != nil {
		return err
	}
	return tx.Commit()
}
