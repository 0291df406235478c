package bayes

import "math/bits"

// table maps token hashes to counts for scoring: open addressing with linear
// probing, a slot's index taken from the hash's low bits (hashes are XXH64,
// uniform). A slot is empty when its counts are all zero: a token no trained
// message holds is not kept. Compared with a Go map of the same content it is
// built without rehashing and a lookup mostly touches one cache line, which
// matters for a model of hundreds of thousands of tokens read at random.
type table struct {
	slots []slot
	n     int
}

type slot struct {
	h uint64
	c counts
}

// newTable returns a table sized for n tokens.
func newTable(n int) *table {
	size := 16
	for size*3 < n*4 { // load factor at most 3/4
		size *= 2
	}
	return &table{slots: make([]slot, size)}
}

// bits returns log2 of the number of slots: how many low bits of a hash index a slot.
func (t *table) bits() int { return bits.TrailingZeros(uint(len(t.slots))) }

// Len returns the number of tokens.
func (t *table) Len() int { return t.n }

// get returns the counts of h, ok false if absent.
func (t *table) get(h uint64) (counts, bool) {
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.c == (counts{}) {
			return counts{}, false
		}
		if s.h == h {
			return s.c, true
		}
	}
}

// getAll sets out[i] to the counts of hs[i], zero if absent, and returns out.
// Looking up a batch first, in a loop that does nothing else, lets the
// processor have many of the (cache-missing) slot reads in flight at once.
func (t *table) getAll(hs []uint64, out []counts) []counts {
	out = out[:0]
	mask := uint64(len(t.slots) - 1)
	for _, h := range hs {
		s := &t.slots[h&mask]
		c := s.c
		if s.h != h && c != (counts{}) {
			c, _ = t.get(h) // further along the probe run
		} else if s.h != h {
			c = counts{}
		}
		out = append(out, c)
	}
	return out
}

// set records c for h; zero counts remove h.
func (t *table) set(h uint64, c counts) {
	if c == (counts{}) {
		t.remove(h)
		return
	}
	if (t.n+1)*4 > len(t.slots)*3 {
		t.grow()
	}
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.c == (counts{}) {
			*s = slot{h, c}
			t.n++
			return
		}
		if s.h == h {
			s.c = c
			return
		}
	}
}

// remove deletes h, moving later entries of its probe run back so that no
// lookup stops early at the hole (backward-shift deletion).
func (t *table) remove(h uint64) {
	mask := uint64(len(t.slots) - 1)
	i := h & mask
	for {
		s := &t.slots[i]
		if s.c == (counts{}) {
			return
		}
		if s.h == h {
			break
		}
		i = (i + 1) & mask
	}
	for j := (i + 1) & mask; t.slots[j].c != (counts{}); j = (j + 1) & mask {
		home := t.slots[j].h & mask
		// The entry at j may move to the hole at i when its home is not in (i, j] cyclically.
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = slot{}
	t.n--
}

func (t *table) grow() {
	old := t.slots
	t.slots, t.n = make([]slot, max(2*len(old), 16)), 0
	for _, s := range old {
		if s.c != (counts{}) {
			t.set(s.h, s.c)
		}
	}
}

// each calls fn for every token, in no particular order.
func (t *table) each(fn func(h uint64, c counts)) {
	for _, s := range t.slots {
		if s.c != (counts{}) {
			fn(s.h, s.c)
		}
	}
}
