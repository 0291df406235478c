package bayes

import (
	"math/rand"
	"testing"
)

// TestTableLikeMap: random sets and removals leave the table holding what a
// Go map holds. Hashes from a small range with few low bits make long probe
// runs that wrap around the end, which removal must keep intact.
func TestTableLikeMap(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, keys := range []uint64{40, 1000} {
		tab, want := newTable(0), map[uint64]counts{}
		for i := range 20000 {
			h := uint64(r.Intn(int(keys))) * 64 // same low bits: every key collides in a small table
			if r.Intn(3) == 0 {
				h = ^h
			}
			c := counts{ham: uint32(r.Intn(3))}
			if c.ham != 0 {
				want[h] = c
			} else {
				delete(want, h)
			}
			tab.set(h, c)
			if i%97 == 0 || i > 19900 {
				if tab.Len() != len(want) {
					t.Fatalf("step %d: %d tokens, want %d", i, tab.Len(), len(want))
				}
				for k := range keys {
					for _, h := range []uint64{k * 64, ^(k * 64)} {
						got, ok := tab.get(h)
						if w, wok := want[h]; ok != wok || got != w {
							t.Fatalf("step %d: %x: %v %v, want %v %v", i, h, got, ok, w, wok)
						}
					}
				}
			}
		}
		n := 0
		tab.each(func(h uint64, c counts) {
			n++
			if want[h] != c {
				t.Fatalf("each: %x %v, want %v", h, c, want[h])
			}
		})
		if n != len(want) {
			t.Fatalf("each: %d tokens, want %d", n, len(want))
		}
	}
}
