// Package pgtest gives tests an empty PostgreSQL schema of their own in the
// database named by MAILWARDEN_TEST_POSTGRES, so the store suite and the
// end-to-end tests run against a real server, side by side, without fakes.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvVar names the DSN of the test database, e.g.
// postgres:///mailwarden_test?host=/var/run/postgresql
const EnvVar = "MAILWARDEN_TEST_POSTGRES"

// DSN creates a fresh schema in the test database and returns a DSN whose
// connections use it (search_path); the schema is dropped when the test ends.
// The test is skipped when MAILWARDEN_TEST_POSTGRES is unset.
func DSN(t testing.TB) string {
	t.Helper()
	base := Require(t)
	var b [6]byte
	rand.Read(b[:])
	schema := "mwtest_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v", EnvVar, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("pgtest: drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("pgtest: drop schema %s: %v", schema, err)
		}
	})
	return WithSchema(t, base, schema)
}

// Require skips the test when MAILWARDEN_TEST_POSTGRES is unset, and returns it.
func Require(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvVar)
	if base == "" {
		t.Skip(EnvVar + " is unset: set it to a PostgreSQL DSN (e.g. postgres:///mailwarden_test?host=/var/run/postgresql) to run the PostgreSQL tests; see README")
	}
	return base
}

// WithSchema returns dsn with its connections' search_path set to schema.
func WithSchema(t testing.TB, dsn, schema string) string {
	t.Helper()
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return dsn + " search_path=" + schema // key=value form
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("pgtest: %s: %v", EnvVar, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
