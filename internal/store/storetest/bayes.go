package storetest

import (
	"context"
	"testing"

	"github.com/mailwarden/mailwarden/internal/bayes"
	"github.com/mailwarden/mailwarden/internal/store"
)

// testBayesSnapshot: a snapshot is returned only while no training has
// happened since it was saved, and is not saved over a newer generation.
func testBayesSnapshot(t *testing.T, st store.Store) {
	ctx := context.Background()
	s, ok := st.(bayes.SnapshotStore)
	if !ok {
		t.Fatalf("%T keeps no model snapshots (bayes.SnapshotStore)", st)
	}
	gen := func() int64 {
		t.Helper()
		g, err := s.BayesGeneration(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	snapshot := func() []byte {
		t.Helper()
		b, err := s.LoadBayesSnapshot(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if gen() != 0 || snapshot() != nil {
		t.Fatal("untrained account has a generation or a snapshot")
	}
	if err := s.ApplyBayes(ctx, 1, bayes.Delta{Key: "k1", To: bayes.Spam, Tokens: []string{"a"}}, bayes.Delta{Key: "k2", To: bayes.Ham, Tokens: []string{"b"}}); err != nil {
		t.Fatal(err)
	}
	g := gen()
	if g == 0 {
		t.Fatal("training left the generation at 0")
	}
	if err := s.SaveBayesSnapshot(ctx, 1, g, []byte("snap")); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(); string(got) != "snap" {
		t.Fatalf("snapshot %q", got)
	}
	if err := s.ApplyBayes(ctx, 1, bayes.Delta{Key: "k1", From: bayes.Spam, To: bayes.Untrained, Tokens: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	if gen() == g || snapshot() != nil {
		t.Fatal("untraining left the snapshot current")
	}
	// A snapshot of the old generation is not saved over the new one.
	if err := s.SaveBayesSnapshot(ctx, 1, g, []byte("old")); err != nil || snapshot() != nil {
		t.Fatalf("stale save: %v %q", err, snapshot())
	}
	if err := s.SaveBayesSnapshot(ctx, 1, gen(), []byte("new")); err != nil || string(snapshot()) != "new" {
		t.Fatalf("save: %v %q", err, snapshot())
	}
}
