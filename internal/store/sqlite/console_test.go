package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/store"
)

// TestRollupBackfill: migration 0500 backfills, on a database that had
// messages before it, exactly the rollup InsertMessage and SetDisposition keep.
func TestRollupBackfill(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "mw.db")
	st, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	acct, _ := st.CreateAccount(ctx, "a")
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	disps := []string{"NONE", "SPAM", "MALICIOUS", "BULK", "SPOOF", "SUSPICIOUS"}
	var seqs []int64
	for i := 0; i < 60; i++ {
		disp := disps[i%len(disps)]
		trig := fmt.Sprintf(`[{"name":"t%d","score":%d},{"name":"t%d","score":1.5},{"name":"neg","score":-1},{"name":"t%d","score":2}]`, i%4, i%3, i%5, i%4)
		m := &store.Message{ID: fmt.Sprintf("m%d", i), AccountID: acct.ID, ScannedAt: t0.Add(time.Duration(i) * 7 * time.Hour),
			Disposition: disp, Triggers: []byte(trig), DeliveryMode: "DIRECT", DeliveryStatus: store.StatusQueued,
			EnvelopeTo: []string{fmt.Sprintf("User%d@Corp.test", i%7), fmt.Sprintf("user%d@corp.test", i%7), "all@corp.test"}}
		if err := st.InsertMessage(ctx, m, nil, nil, nil); err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, m.Seq)
	}
	for i, seq := range seqs[:20] {
		if _, err := st.SetDisposition(ctx, seq, disps[(i+2)%len(disps)], []byte(`[{"name":"team_reclassification","score":0},{"name":"t9","score":3}]`)); err != nil {
			t.Fatal(err)
		}
	}
	kept := dumpRollup(t, st)
	if !strings.Contains(kept, "t9") || !strings.Contains(kept, "user3@corp.test") || strings.Contains(kept, "User3") || strings.Contains(kept, "neg") {
		t.Fatalf("rollup kept by the store looks wrong:\n%s", kept)
	}
	// Back to the schema before 0500, messages kept; reopening migrates again.
	for _, q := range []string{`DROP TABLE rollup_dispositions`, `DROP TABLE rollup_triggers`, `DROP TABLE rollup_recipients`,
		`DROP INDEX api_tokens_account`, `ALTER TABLE api_tokens DROP COLUMN last_used_at`, `DELETE FROM schema_migrations WHERE name = '0500_rollup.sql'`} {
		if _, err := st.DB().Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	st.Close()
	st, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if backfilled := dumpRollup(t, st); backfilled != kept {
		t.Errorf("backfilled rollup differs from the one kept:\nkept:\n%s\nbackfilled:\n%s", kept, backfilled)
	}
}

func dumpRollup(t *testing.T, st *Store) string {
	t.Helper()
	var b strings.Builder
	for _, table := range []string{"rollup_dispositions", "rollup_triggers", "rollup_recipients"} {
		rows, err := st.DB().Query(`SELECT * FROM ` + table + ` WHERE n <> 0 ORDER BY 1, 2, 3`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var acct, day, n int64
			var key string
			if err := rows.Scan(&acct, &day, &key, &n); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s %d %d %s %d\n", table, acct, day, key, n)
		}
		rows.Close()
	}
	return b.String()
}
