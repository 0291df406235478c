package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/mailwarden/mailwarden/internal/bayes"
	"github.com/mailwarden/mailwarden/internal/message"
)

func TestBayesStore(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "bayes.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

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
	d := bayes.Delta{Key: "k1", From: bayes.Untrained, To: bayes.Spam, Tokens: []string{"a", "b"}}
	if err := s.ApplyBayes(ctx, 1, d); err != nil {
		t.Fatal(err)
	}
	// Replaying the same delta conflicts: the record now says spam.
	if err := s.ApplyBayes(ctx, 1, d); !errors.Is(err, bayes.ErrConflict) {
		t.Fatalf("replay: %v, want ErrConflict", err)
	}
	if c, err := s.BayesTrainedAs(ctx, 1, "k1"); err != nil || c != bayes.Spam {
		t.Fatalf("trained as %q %v", c, err)
	}
	if err := s.ApplyBayes(ctx, 1, bayes.Delta{Key: "k2", To: bayes.Ham, Tokens: []string{"b", "c"}}); err != nil {
		t.Fatal(err)
	}
	msgs, toks := load(1)
	if msgs != (bayes.Counts{Ham: 1, Spam: 1}) || toks["a"] != (bayes.Counts{Spam: 1}) || toks["b"] != (bayes.Counts{Ham: 1, Spam: 1}) || toks["c"] != (bayes.Counts{Ham: 1}) {
		t.Fatalf("after two: %+v %v", msgs, toks)
	}
	// Reclassify k1 spam -> phish, then untrain k2.
	if err := s.ApplyBayes(ctx, 1, bayes.Delta{Key: "k1", From: bayes.Spam, To: bayes.Phish, Tokens: []string{"a", "b"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyBayes(ctx, 1, bayes.Delta{Key: "k2", From: bayes.Ham, To: bayes.Untrained, Tokens: []string{"b", "c"}}); err != nil {
		t.Fatal(err)
	}
	msgs, toks = load(1)
	if msgs != (bayes.Counts{Phish: 1}) || len(toks) != 2 || toks["a"] != (bayes.Counts{Phish: 1}) || toks["b"] != (bayes.Counts{Phish: 1}) {
		t.Fatalf("after reclassify: %+v %v", msgs, toks)
	}
	if c, _ := s.BayesTrainedAs(ctx, 1, "k2"); c != bayes.Untrained {
		t.Fatalf("k2 still trained as %q", c)
	}
	if msgs, _ := load(2); msgs != (bayes.Counts{}) {
		t.Fatal("account 2 sees account 1")
	}
	if err := s.ApplyBayes(ctx, 1, bayes.Delta{Key: "k3", To: "bulk"}); !errors.Is(err, bayes.ErrClass) {
		t.Fatalf("bad class: %v", err)
	}
}

// TestBayesModelOnSQLite trains through a Model and reloads from the database.
func TestBayesModelOnSQLite(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bayes.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m, err := bayes.Load(ctx, s, 5, bayes.Config{})
	if err != nil {
		t.Fatal(err)
	}
	x := &message.Message{Raw: []byte("Subject: hi\r\n\r\nhello world"), Subject: "hi", Text: "hello world"}
	for i := 0; i < 2; i++ {
		if changed, err := m.Train(ctx, x, bayes.Ham); err != nil || changed != (i == 0) {
			t.Fatalf("train #%d: %v %v", i, changed, err)
		}
	}
	again, err := bayes.Load(ctx, s, 5, bayes.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Messages() != (bayes.Counts{Ham: 1}) || m.Messages() != again.Messages() {
		t.Fatalf("reloaded %+v, memory %+v", again.Messages(), m.Messages())
	}
}
