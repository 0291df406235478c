package bayes

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// snapStore is a MemStore that keeps snapshots, with a generation per account.
type snapStore struct {
	*MemStore
	gen   map[int64]int64
	snaps map[int64]snap
	loads int // LoadBayes calls
}

type snap struct {
	gen  int64
	data []byte
}

func newSnapStore() *snapStore {
	return &snapStore{MemStore: NewMemStore(), gen: map[int64]int64{}, snaps: map[int64]snap{}}
}

func (s *snapStore) LoadBayes(ctx context.Context, account int64, each func(string, Counts)) (Counts, error) {
	s.loads++
	return s.MemStore.LoadBayes(ctx, account, each)
}

func (s *snapStore) ApplyBayes(ctx context.Context, account int64, ds ...Delta) error {
	if err := s.MemStore.ApplyBayes(ctx, account, ds...); err != nil {
		return err
	}
	s.gen[account] += int64(len(ds))
	return nil
}

func (s *snapStore) BayesGeneration(ctx context.Context, account int64) (int64, error) {
	return s.gen[account], nil
}

func (s *snapStore) LoadBayesSnapshot(ctx context.Context, account int64) ([]byte, error) {
	if sn, ok := s.snaps[account]; ok && sn.gen == s.gen[account] {
		return sn.data, nil
	}
	return nil, nil
}

func (s *snapStore) SaveBayesSnapshot(ctx context.Context, account int64, gen int64, data []byte) error {
	if s.gen[account] == gen {
		s.snaps[account] = snap{gen, bytes.Clone(data)}
	}
	return nil
}

// TestSnapshotModel loads a model from its snapshot and gets the same scores
// as from the token rows; training makes the snapshot stale.
func TestSnapshotModel(t *testing.T) {
	ctx := context.Background()
	st := newSnapStore()
	m, err := Load(ctx, st, 1, Config{})
	if err != nil {
		t.Fatal(err)
	}
	ham, spam, phish := corpus("ham", 70), corpus("spam", 70), corpus("phish", 70)
	trainAll(t, m, ham[:60], Ham)
	trainAll(t, m, spam[:60], Spam)
	trainAll(t, m, phish[:60], Phish)
	if len(st.snaps) != 0 {
		t.Fatal("snapshot of an untrained model")
	}
	rows, err := Load(ctx, st, 1, Config{}) // from the rows; saves the snapshot
	if err != nil {
		t.Fatal(err)
	}
	if st.loads != 2 || st.snaps[1].gen != st.gen[1] {
		t.Fatalf("after the second load: %d row loads, snapshot at %d, generation %d", st.loads, st.snaps[1].gen, st.gen[1])
	}
	fromSnap, err := Load(ctx, st, 1, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if st.loads != 2 {
		t.Fatal("the third load read the rows, not the snapshot")
	}
	if fromSnap.Messages() != m.Messages() || fromSnap.tokens.Len() != m.tokens.Len() || rows.tokens.Len() != m.tokens.Len() {
		t.Fatalf("snapshot %+v %d tokens, trained %+v %d tokens", fromSnap.Messages(), fromSnap.tokens.Len(), m.Messages(), m.tokens.Len())
	}
	m.tokens.each(func(h uint64, c counts) {
		fs, _ := fromSnap.tokens.get(h)
		rs, _ := rows.tokens.get(h)
		if fs != c || rs != c {
			t.Fatalf("token %x: trained %v, rows %v, snapshot %v", h, c, rs, fs)
		}
	})
	for _, x := range append(append(ham[60:], spam[60:]...), phish[60:]...) {
		a, b := m.Score(x), fromSnap.Score(x)
		if a.Spam != b.Spam || a.Phish != b.Phish || a.Known != b.Known {
			t.Fatalf("trained %+v, snapshot %+v", a, b)
		}
	}
	trainAll(t, m, ham[60:61], Ham)
	if _, err := Load(ctx, st, 1, Config{}); err != nil || st.loads != 3 {
		t.Fatalf("after training: %v, %d row loads, want 3 (stale snapshot)", err, st.loads)
	}
	// A snapshot this version cannot read is rebuilt from the rows.
	st.snaps[1] = snap{st.gen[1], []byte("MWBAYES0")}
	if again, err := Load(ctx, st, 1, Config{}); err != nil || st.loads != 4 || again.Messages() != m.Messages() {
		t.Fatalf("corrupt snapshot: %v, %d row loads", err, st.loads)
	}
	if _, _, err := decodeSnapshot(st.snaps[1].data); err != nil {
		t.Fatalf("rebuilt snapshot: %v", err)
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	msgs := Counts{Ham: 3, Spam: 1, Phish: 2}
	want := map[uint64]counts{hashString("a"): {ham: 3}, hashString("b"): {spam: 1, phish: 2}, 0: {ham: 1}, ^uint64(0): {phish: 1 << 31}}
	toks := newTable(0)
	for h, c := range want {
		toks.set(h, c)
	}
	b := encodeSnapshot(msgs, toks)
	m2, t2, err := decodeSnapshot(b)
	if err != nil || m2 != msgs || t2.Len() != len(want) {
		t.Fatalf("decode: %v %+v %d tokens", err, m2, t2.Len())
	}
	for h, c := range want {
		if got, _ := t2.get(h); got != c {
			t.Fatalf("%x: %v, want %v", h, got, c)
		}
	}
	for _, bad := range [][]byte{nil, b[:len(b)-1], append(bytes.Clone(b), 0), []byte("MWBAYES0" + string(b[8:]))} {
		if _, _, err := decodeSnapshot(bad); !errors.Is(err, ErrSnapshot) {
			t.Errorf("decode of %d bytes: %v, want ErrSnapshot", len(bad), err)
		}
	}
}

// FuzzDecodeSnapshot: decoding never panics, and what decodes encodes back to
// the same bytes (one encoding per model: nothing else is accepted).
func FuzzDecodeSnapshot(f *testing.F) {
	two := newTable(2)
	two.set(1, counts{ham: 1})
	two.set(7, counts{spam: 2})
	f.Add(encodeSnapshot(Counts{}, newTable(0)))
	f.Add(encodeSnapshot(Counts{Ham: 1, Spam: 2}, two))
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, toks, err := decodeSnapshot(b)
		if err != nil {
			return
		}
		if again := encodeSnapshot(msgs, toks); !bytes.Equal(again, b) {
			t.Fatalf("re-encoded %x, decoded from %x", again, b)
		}
	})
}
