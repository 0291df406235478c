package dnsx

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// countingResolver answers from a Zone and counts the queries that reach it.
type countingResolver struct {
	*Zone
	n     int
	block bool // LookupTXT waits for the context to end
}

func (c *countingResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	c.n++
	if c.block {
		<-ctx.Done()
		return nil, ctxError(name, ctx.Err())
	}
	return c.Zone.LookupTXT(ctx, name)
}

func TestSystemCache(t *testing.T) {
	z, err := ParseZone(strings.NewReader("a 60 IN TXT \"x\"\n; mailwarden:servfail bad\n"), "example.com")
	if err != nil {
		t.Fatal(err)
	}
	inner := &countingResolver{Zone: z}
	s := newSystem(inner, time.Second)
	now := time.Unix(1e9, 0)
	s.now = func() time.Time { return now }
	ctx := context.Background()

	query := func(name string, wantQueries int) {
		t.Helper()
		inner.n = 0
		s.LookupTXT(ctx, name)
		if inner.n != wantQueries {
			t.Errorf("LookupTXT(%q) at %v: %d upstream queries, want %d", name, now, inner.n, wantQueries)
		}
	}
	query("a.example.com", 1)
	query("A.example.com.", 0) // cached, case-insensitive
	query("nx.example.com", 1)
	query("nx.example.com", 0) // negative answers cached
	if _, err := s.LookupTXT(ctx, "nx.example.com"); !IsNXDomain(err) {
		t.Errorf("cached negative answer lost its kind: %v", err)
	}
	query("bad.example.com", 1)
	query("bad.example.com", 1) // failures not cached
	now = now.Add(DefaultNegativeTTL)
	query("nx.example.com", 1)
	query("a.example.com", 0)
	now = now.Add(DefaultCacheTTL)
	query("a.example.com", 1)

	// Bounded size: the least recently used entry goes first.
	s.max = 2
	query("a.example.com", 0)
	query("b.example.com", 1)
	query("c.example.com", 1)
	query("b.example.com", 0)
	query("a.example.com", 1)
}

func TestSystemTimeout(t *testing.T) {
	inner := &countingResolver{Zone: NewZone(), block: true}
	s := newSystem(inner, 20*time.Millisecond)
	start := time.Now()
	_, err := s.LookupTXT(context.Background(), "example.com")
	var de *net.DNSError
	if !errors.As(err, &de) || !de.IsTimeout || !IsTemporary(err) {
		t.Errorf("blocked query: %v, want timeout", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("timeout took %v", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	inner.n = 0
	if _, err := s.LookupTXT(ctx, "example.com"); !errors.Is(err, context.Canceled) || inner.n != 0 {
		t.Errorf("canceled context: %v after %d queries", err, inner.n)
	}
}
