package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/bayes"
	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/store/postgres/pgtest"
	"github.com/mailwarden/mailwarden/internal/store/storetest"
)

// open opens a store on dsn, closed when the test ends.
func open(t *testing.T, dsn string) *Store {
	t.Helper()
	st, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestStore runs the suite every store passes, each case in a fresh schema.
func TestStore(t *testing.T) {
	pgtest.Require(t)
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, pgtest.DSN(t)) })
}

func TestMigrationsIdempotent(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	// Nodes starting at once apply each migration once (the advisory lock).
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := Open(ctx, dsn)
			if err == nil {
				st.Close()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent open: %v", err)
		}
	}
	st := open(t, dsn)
	var applied, files int
	if err := st.Pool().QueryRow(ctx, `SELECT count(*), count(DISTINCT name) FROM schema_migrations`).Scan(&applied, &files); err != nil {
		t.Fatal(err)
	}
	if applied == 0 || applied != files {
		t.Fatalf("schema_migrations holds %d rows for %d files", applied, files)
	}
	if _, err := st.CreateAccount(ctx, "after reopen"); err != nil {
		t.Fatal(err)
	}
}

// TestSkipLockedClaims runs several nodes (each its own pool) claiming the
// same queues at once: every delivery, submission and job goes to exactly one.
func TestSkipLockedClaims(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	nodes := []*Store{open(t, dsn), open(t, dsn), open(t, dsn), open(t, dsn)}
	st := nodes[0]
	a, _ := st.CreateAccount(ctx, "a")
	const n = 40
	for i := range n {
		m := &store.Message{ID: fmt.Sprintf("q%02d", i), AccountID: a.ID, ScannedAt: time.Now(), Disposition: "NONE", DeliveryMode: "DIRECT",
			DeliveryStatus: store.StatusQueued, EnvelopeTo: []string{"r@corp.test"}}
		if err := st.InsertMessage(ctx, m, []byte("x"), nil, []string{"r1@corp.test", "r2@corp.test"}); err != nil {
			t.Fatal(err)
		}
		sub := store.Submission{AccountID: a.ID, Type: store.SubmissionTeam, Channel: store.ChannelAPI, MessageSeq: m.Seq, RawKey: m.ID, RequestedDisposition: "SPAM"}
		if _, err := st.CreateSubmission(ctx, &sub); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateJob(ctx, &store.Job{ID: fmt.Sprintf("job%02d", i), AccountID: a.ID, Action: "RELEASE"}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for i, node := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; ; k++ {
				// A worker re-claims its own job (after a restart): each claim is a new worker here.
				worker := fmt.Sprintf("node%d-%d", i, k)
				progress := false
				due, err := node.DueDeliveries(ctx, time.Now(), 7)
				if err != nil {
					t.Error(err)
					return
				}
				sub, serr := node.ClaimSubmission(ctx, worker, time.Minute)
				job, jerr := node.ClaimJob(ctx, worker, time.Minute)
				mu.Lock()
				for _, d := range due {
					seen[fmt.Sprint("delivery ", d.ID)]++
					progress = true
				}
				if serr == nil {
					seen["submission "+sub.ID]++
					progress = true
				} else if !errors.Is(serr, store.ErrNotFound) {
					t.Error(serr)
				}
				if jerr == nil {
					seen["job "+job.ID]++
					progress = true
				} else if !errors.Is(jerr, store.ErrNotFound) {
					t.Error(jerr)
				}
				mu.Unlock()
				if !progress {
					return
				}
			}
		}()
	}
	wg.Wait()
	counts := map[string]int{}
	for k, c := range seen {
		if c != 1 {
			t.Errorf("%s claimed %d times", k, c)
		}
		var kind string
		fmt.Sscan(k, &kind)
		counts[kind]++
	}
	if counts["delivery"] != 2*n || counts["submission"] != n || counts["job"] != n {
		t.Errorf("claimed %v, want %d deliveries, %d submissions, %d jobs", counts, 2*n, n, n)
	}
	// Claimed deliveries are leased: not due again until the lease runs out.
	if due, _ := st.DueDeliveries(ctx, time.Now(), 100); len(due) != 0 {
		t.Errorf("%d leased deliveries due again", len(due))
	}
	if due, _ := st.DueDeliveries(ctx, time.Now().Add(DeliveryLease+time.Second), 100); len(due) != 2*n {
		t.Errorf("after the lease: %d due, want %d", len(due), 2*n)
	}
}

// TestBayesShared trains one account's model from several nodes at once and
// checks the shared counts, then the trained-as records and conflicts.
func TestBayesShared(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	nodes := []*Store{open(t, dsn), open(t, dsn), open(t, dsn)}
	s := nodes[0]
	load := func(account int64) (bayes.Counts, map[string]bayes.Counts) {
		t.Helper()
		toks := map[string]bayes.Counts{}
		msgs, err := s.LoadBayes(ctx, account, func(tok string, c bayes.Counts) { toks[tok] = c })
		if err != nil {
			t.Fatal(err)
		}
		return msgs, toks
	}
	if msgs, toks := load(1); msgs != (bayes.Counts{}) || len(toks) != 0 {
		t.Fatalf("empty store: %+v %v", msgs, toks)
	}
	var wg sync.WaitGroup
	for i, node := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 10 {
				// Batches of two; every message holds the shared token "w" (twice: counted once).
				ds := []bayes.Delta{
					{Key: fmt.Sprintf("n%d-%d-a", i, j), To: bayes.Spam, Tokens: []string{"w", "w", fmt.Sprintf("t%d", j)}},
					{Key: fmt.Sprintf("n%d-%d-b", i, j), To: bayes.Ham, Tokens: []string{"w"}},
				}
				if err := node.ApplyBayes(ctx, 1, ds...); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	msgs, toks := load(1)
	if msgs != (bayes.Counts{Ham: 30, Spam: 30}) || toks["w"] != (bayes.Counts{Ham: 30, Spam: 30}) || toks["t3"] != (bayes.Counts{Spam: 3}) || len(toks) != 11 {
		t.Fatalf("after concurrent training: %+v w=%+v t3=%+v (%d tokens)", msgs, toks["w"], toks["t3"], len(toks))
	}

	// The scenario of the SQLite store's test, on account 2.
	d := bayes.Delta{Key: "k1", From: bayes.Untrained, To: bayes.Spam, Tokens: []string{"a", "b"}}
	if err := s.ApplyBayes(ctx, 2, d); err != nil {
		t.Fatal(err)
	}
	if err := nodes[1].ApplyBayes(ctx, 2, d); !errors.Is(err, bayes.ErrConflict) {
		t.Fatalf("replay: %v, want ErrConflict", err)
	}
	if c, err := s.BayesTrainedAs(ctx, 2, "k1"); err != nil || c != bayes.Spam {
		t.Fatalf("trained as %q %v", c, err)
	}
	// A conflict anywhere in a batch rolls back all of it.
	if err := s.ApplyBayes(ctx, 2, bayes.Delta{Key: "k9", To: bayes.Ham, Tokens: []string{"z"}}, d); !errors.Is(err, bayes.ErrConflict) {
		t.Fatalf("batch with a replay: %v", err)
	}
	if c, _ := s.BayesTrainedAs(ctx, 2, "k9"); c != bayes.Untrained {
		t.Fatalf("rolled-back batch trained k9 as %q", c)
	}
	if err := s.ApplyBayes(ctx, 2, bayes.Delta{Key: "k2", To: bayes.Ham, Tokens: []string{"b", "c"}}); err != nil {
		t.Fatal(err)
	}
	msgs, toks = load(2)
	if msgs != (bayes.Counts{Ham: 1, Spam: 1}) || toks["a"] != (bayes.Counts{Spam: 1}) || toks["b"] != (bayes.Counts{Ham: 1, Spam: 1}) || toks["c"] != (bayes.Counts{Ham: 1}) || len(toks) != 3 {
		t.Fatalf("after two: %+v %v", msgs, toks)
	}
	// Reclassify k1 spam -> phish and untrain k2, in one batch.
	if err := s.ApplyBayes(ctx, 2,
		bayes.Delta{Key: "k1", From: bayes.Spam, To: bayes.Phish, Tokens: []string{"a", "b"}},
		bayes.Delta{Key: "k2", From: bayes.Ham, To: bayes.Untrained, Tokens: []string{"b", "c"}}); err != nil {
		t.Fatal(err)
	}
	msgs, toks = load(2)
	if msgs != (bayes.Counts{Phish: 1}) || len(toks) != 2 || toks["a"] != (bayes.Counts{Phish: 1}) || toks["b"] != (bayes.Counts{Phish: 1}) {
		t.Fatalf("after reclassify: %+v %v", msgs, toks)
	}
	var zero int
	s.Pool().QueryRow(ctx, `SELECT count(*) FROM bayes_tokens WHERE account_id = 2 AND ham = 0 AND spam = 0 AND phish = 0`).Scan(&zero)
	if zero != 0 {
		t.Errorf("%d tokens with no counts kept", zero)
	}
	if c, _ := s.BayesTrainedAs(ctx, 2, "k2"); c != bayes.Untrained {
		t.Fatalf("k2 still trained as %q", c)
	}
	// Two deltas of one message in a batch apply in order.
	if err := s.ApplyBayes(ctx, 2,
		bayes.Delta{Key: "k5", To: bayes.Ham, Tokens: []string{"q"}},
		bayes.Delta{Key: "k5", From: bayes.Ham, To: bayes.Spam, Tokens: []string{"q"}}); err != nil {
		t.Fatal(err)
	}
	if msgs, toks = load(2); toks["q"] != (bayes.Counts{Spam: 1}) || msgs != (bayes.Counts{Spam: 1, Phish: 1}) {
		t.Fatalf("ham then spam in one batch: %+v q=%+v", msgs, toks["q"])
	}
	if err := s.ApplyBayes(ctx, 2, bayes.Delta{Key: "k3", To: "bulk"}); !errors.Is(err, bayes.ErrClass) {
		t.Fatalf("bad class: %v", err)
	}
}

// TestSearchWords pins the tokenisation FTS5's unicode61 does, which search
// relies on: words of letters and digits, lowercased, without diacritics.
func TestSearchWords(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"Bob@Corp.Test", []string{"bob", "corp", "test"}},
		{"Café Crème", []string{"cafe", "creme"}},
		{`invoice" OR "prize`, []string{"invoice", "or", "prize"}},
		{"%_%", nil},
		{"m2@example.org 0123abcd", []string{"m2", "example", "org", "0123abcd"}},
	} {
		got := words(c.in)
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("words(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if v := tsvector("a b a"); v != "'a':1 'b':2 'a':3" {
		t.Errorf("tsvector: %s", v)
	}
	if q, ok := tsquery("Bob@corp", true); !ok || q != "'bob' <-> 'corp':*" {
		t.Errorf("tsquery: %s %v", q, ok)
	}
	if _, ok := tsquery("%", false); ok {
		t.Error("a query of no words")
	}
}
