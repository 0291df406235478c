package migrations

import (
	"io/fs"
	"path"
	"slices"
	"testing"
)

// TestDialectsInStep keeps the two schemas numbered alike: a migration added
// for one store needs its twin, under the same name, for the other.
func TestDialectsInStep(t *testing.T) {
	names := func(d Dialect) []string {
		t.Helper()
		files, err := fs.Glob(d.FS, d.Name+"/*.sql")
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: %v %v", d.Name, files, err)
		}
		var out []string
		for _, f := range files {
			out = append(out, path.Base(f))
		}
		return out
	}
	sq, pg := names(SQLiteDialect), names(PostgresDialect)
	for _, n := range sq {
		if !slices.Contains(pg, n) {
			t.Errorf("sqlite/%s has no twin in postgres/", n)
		}
	}
	for _, n := range pg {
		if !slices.Contains(sq, n) {
			t.Errorf("postgres/%s has no twin in sqlite/", n)
		}
	}
}
