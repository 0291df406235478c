package bayes

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"slices"
)

// A snapshot is a compact copy of one account's model: the message counts and,
// for every token, its hash and counts. Loading the model from the store's
// token rows costs a row per token (about a second for the 640,000 tokens of
// an 8,500-message corpus in SQLite); a snapshot is one read and a loop.
//
// Layout, little-endian: the 8-byte magic, the ham, spam and phish message
// counts (uint64 each), the token count n (uint64), then n entries of hash
// (uint64) and ham, spam, phish counts (uint32 each), hashes strictly
// increasing. The magic names the version: a change of layout or of the token
// hash (util.go) needs a new one.
const snapshotMagic = "MWBAYES1"

const (
	snapshotHeader = len(snapshotMagic) + 4*8
	snapshotEntry  = 8 + 3*4
)

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
	ss := make([]slot, 0, toks.Len())
	toks.each(func(h uint64, c counts) { ss = append(ss, slot{h, c}) })
	slices.SortFunc(ss, func(a, b slot) int { return cmp.Compare(a.h, b.h) })
	b := make([]byte, 0, snapshotHeader+snapshotEntry*len(ss))
	b = append(b, snapshotMagic...)
	b = binary.LittleEndian.AppendUint64(b, uint64(max(msgs.Ham, 0)))
	b = binary.LittleEndian.AppendUint64(b, uint64(max(msgs.Spam, 0)))
	b = binary.LittleEndian.AppendUint64(b, uint64(max(msgs.Phish, 0)))
	b = binary.LittleEndian.AppendUint64(b, uint64(len(ss)))
	for _, s := range ss {
		h, c := s.h, s.c
		b = binary.LittleEndian.AppendUint64(b, h)
		b = binary.LittleEndian.AppendUint32(b, c.ham)
		b = binary.LittleEndian.AppendUint32(b, c.spam)
		b = binary.LittleEndian.AppendUint32(b, c.phish)
	}
	return b
}

// decodeSnapshot reads a snapshot written by encodeSnapshot. It rejects
// anything encodeSnapshot would not have written.
func decodeSnapshot(b []byte) (Counts, *table, error) {
	if len(b) < snapshotHeader || string(b[:len(snapshotMagic)]) != snapshotMagic {
		return Counts{}, nil, ErrSnapshot
	}
	le := binary.LittleEndian
	p := b[len(snapshotMagic):]
	var msgs Counts
	for _, v := range []*int64{&msgs.Ham, &msgs.Spam, &msgs.Phish} {
		n := le.Uint64(p)
		if n > 1<<62 {
			return Counts{}, nil, ErrSnapshot
		}
		*v = int64(n)
		p = p[8:]
	}
	n := le.Uint64(p)
	p = p[8:]
	if n != uint64(len(p))/snapshotEntry || uint64(len(p))%snapshotEntry != 0 {
		return Counts{}, nil, ErrSnapshot
	}
	toks := newTable(int(n))
	var prev uint64
	for i := range int(n) {
		e := p[i*snapshotEntry : (i+1)*snapshotEntry]
		h := le.Uint64(e)
		c := counts{ham: le.Uint32(e[8:]), spam: le.Uint32(e[12:]), phish: le.Uint32(e[16:])}
		if i > 0 && h <= prev || c == (counts{}) {
			return Counts{}, nil, ErrSnapshot
		}
		prev = h
		toks.set(h, c)
	}
	return msgs, toks, nil
}
