package bayes

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
	"slices"
)

// A snapshot is a compact copy of one account's model: the message counts and,
// for every token, its hash and counts. Loading the model from the store's
// token rows costs a row per token (about a second for the 640,000 tokens of
// an 8,500-message corpus in SQLite); a snapshot is one read and a loop.
//
// Layout: the 8-byte magic, then unsigned varints (encoding/binary, minimal):
// the ham, spam and phish message counts, the token count n, then for each
// token the difference of its key from the previous key (the first: the key
// itself), and its ham, spam and phish counts, never all zero. A token's key
// is its hash rotated right by the bits of the table that n tokens are loaded
// into (table.go): keys strictly increase, so the table is filled in slot
// order, and the differences of 640,000 uniform keys take about 7 bytes. The
// magic names the version: a change of layout or of the token hash (util.go)
// needs a new one.
const snapshotMagic = "MWBAYES1"

// ErrSnapshot is returned for a snapshot that is not one this version wrote.
var ErrSnapshot = errors.New("bayes: invalid snapshot")

// SnapshotStore is a Store that also keeps each account's snapshot. A snapshot
// is current while no training has happened since it was taken: the store
// keeps a generation per account that every ApplyBayes changes.
type SnapshotStore interface {
	Store
	// BayesGeneration returns the account's model generation.
	BayesGeneration(ctx context.Context, account int64) (int64, error)
	// LoadBayesSnapshot returns the account's snapshot if it was saved at the
	// current generation, nil if there is none or it is stale.
	LoadBayesSnapshot(ctx context.Context, account int64) ([]byte, error)
	// SaveBayesSnapshot keeps data as the account's snapshot at generation gen,
	// unless the account's generation is no longer gen (then it does nothing).
	SaveBayesSnapshot(ctx context.Context, account int64, gen int64, data []byte) error
}

// encodeSnapshot writes the counts in the snapshot layout.
func encodeSnapshot(msgs Counts, toks *table) []byte {
	n := toks.Len()
	shift := newTable(n).bits()
	ss := make([]slot, 0, n)
	toks.each(func(h uint64, c counts) { ss = append(ss, slot{bits.RotateLeft64(h, -shift), c}) })
	slices.SortFunc(ss, func(a, b slot) int { return cmp.Compare(a.h, b.h) })
	b := make([]byte, 0, len(snapshotMagic)+4*binary.MaxVarintLen64+n*12)
	b = append(b, snapshotMagic...)
	b = binary.AppendUvarint(b, uint64(max(msgs.Ham, 0)))
	b = binary.AppendUvarint(b, uint64(max(msgs.Spam, 0)))
	b = binary.AppendUvarint(b, uint64(max(msgs.Phish, 0)))
	b = binary.AppendUvarint(b, uint64(n))
	prev := uint64(0)
	for _, s := range ss {
		b = binary.AppendUvarint(b, s.h-prev)
		prev = s.h
		b = binary.AppendUvarint(b, uint64(s.c.ham))
		b = binary.AppendUvarint(b, uint64(s.c.spam))
		b = binary.AppendUvarint(b, uint64(s.c.phish))
	}
	return b
}

// snapshotReader reads the varints of a snapshot.
type snapshotReader struct {
	b   []byte
	bad bool
}

// uvarint returns the next varint, not above limit; a short, overlong or
// too large one marks the reader bad.
func (r *snapshotReader) uvarint(limit uint64) uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 || n > 1 && r.b[n-1] == 0 || v > limit {
		r.bad, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

// decodeSnapshot reads a snapshot written by encodeSnapshot. It rejects
// anything encodeSnapshot would not have written.
func decodeSnapshot(b []byte) (Counts, *table, error) {
	if len(b) < len(snapshotMagic) || string(b[:len(snapshotMagic)]) != snapshotMagic {
		return Counts{}, nil, ErrSnapshot
	}
	r := snapshotReader{b: b[len(snapshotMagic):]}
	const maxMsgs = 1 << 62
	msgs := Counts{Ham: int64(r.uvarint(maxMsgs)), Spam: int64(r.uvarint(maxMsgs)), Phish: int64(r.uvarint(maxMsgs))}
	n := r.uvarint(uint64(len(r.b)) / 4) // a token takes at least 4 bytes
	if r.bad {
		return Counts{}, nil, ErrSnapshot
	}
	toks := newTable(int(n))
	shift := toks.bits()
	var key uint64
	for i := range int(n) {
		d := r.uvarint(math.MaxUint64)
		if i > 0 && d == 0 || key+d < key {
			return Counts{}, nil, ErrSnapshot
		}
		key += d
		c := counts{ham: uint32(r.uvarint(math.MaxUint32)), spam: uint32(r.uvarint(math.MaxUint32)), phish: uint32(r.uvarint(math.MaxUint32))}
		if r.bad || c == (counts{}) {
			return Counts{}, nil, ErrSnapshot
		}
		toks.set(bits.RotateLeft64(key, shift), c)
	}
	if len(r.b) > 0 {
		return Counts{}, nil, ErrSnapshot
	}
	return msgs, toks, nil
}
