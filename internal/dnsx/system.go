package dnsx

import (
	"container/list"
	"context"
	"net"
	"strings"
	"sync"
	"time"
)

// Cache lifetimes of the System resolver. net.Resolver does not expose record
// TTLs, so answers are kept for a conservative fixed time that is shorter than
// almost every TTL seen for SPF, DKIM and DMARC records; not-found answers for a
// shorter one (RFC 2308 negative caching, bounded). Failures are never cached.
const (
	DefaultCacheTTL    = 60 * time.Second
	DefaultNegativeTTL = 15 * time.Second
	DefaultCacheSize   = 10000
)

// System is the production Resolver: the operating system's resolver
// (net.Resolver, configured by /etc/resolv.conf) with a per-query timeout and a
// bounded LRU cache. It is safe for concurrent use.
type System struct {
	inner   Resolver
	timeout time.Duration
	now     func() time.Time

	// CacheTTL and NegativeTTL are how long answers and not-found answers are
	// cached; zero disables that part of the cache. Set them before first use.
	CacheTTL, NegativeTTL time.Duration

	mu    sync.Mutex
	max   int
	lru   *list.List // of *cacheEntry, most recently used first
	items map[string]*list.Element
}

type cacheEntry struct {
	key     string
	value   any
	err     error
	expires time.Time
}

// NewSystem returns a caching resolver over net.DefaultResolver's configuration
// whose queries each take at most timeout (zero means 5 seconds), on top of any
// deadline of the caller's context.
func NewSystem(timeout time.Duration) *System {
	return newSystem(&net.Resolver{}, timeout)
}

func newSystem(inner Resolver, timeout time.Duration) *System {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	return &System{
		inner:       inner,
		timeout:     timeout,
		now:         time.Now,
		CacheTTL:    DefaultCacheTTL,
		NegativeTTL: DefaultNegativeTTL,
		max:         DefaultCacheSize,
		lru:         list.New(),
		items:       map[string]*list.Element{},
	}
}

func (s *System) get(key string) (*cacheEntry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.items[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*cacheEntry)
	if !s.now().Before(e.expires) {
		s.lru.Remove(el)
		delete(s.items, key)
		return nil, false
	}
	s.lru.MoveToFront(el)
	return e, true
}

func (s *System) put(key string, value any, err error) {
	ttl := s.CacheTTL
	if err != nil {
		if !IsNotFound(err) {
			return
		}
		ttl = s.NegativeTTL
	}
	if ttl <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := &cacheEntry{key: key, value: value, err: err, expires: s.now().Add(ttl)}
	if el, ok := s.items[key]; ok {
		el.Value = e
		s.lru.MoveToFront(el)
		return
	}
	s.items[key] = s.lru.PushFront(e)
	for s.lru.Len() > s.max {
		last := s.lru.Back()
		s.lru.Remove(last)
		delete(s.items, last.Value.(*cacheEntry).key)
	}
}

// lookup runs one cached query. The key is case-insensitive in the name, as DNS is.
func lookup[T any](ctx context.Context, s *System, kind, name string, q func(context.Context) ([]T, error)) ([]T, error) {
	key := kind + " " + strings.ToLower(strings.TrimSuffix(name, "."))
	if e, ok := s.get(key); ok {
		if e.err != nil {
			return nil, e.err
		}
		return append([]T(nil), e.value.([]T)...), nil
	}
	if err := ctx.Err(); err != nil {
		return nil, ctxError(name, err)
	}
	qctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	v, err := q(qctx)
	s.put(key, append([]T(nil), v...), err)
	return v, err
}

// LookupTXT implements Resolver.
func (s *System) LookupTXT(ctx context.Context, name string) ([]string, error) {
	return lookup(ctx, s, "TXT", name, func(ctx context.Context) ([]string, error) { return s.inner.LookupTXT(ctx, name) })
}

// LookupMX implements Resolver.
func (s *System) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	mxs, err := lookup(ctx, s, "MX", name, func(ctx context.Context) ([]*net.MX, error) { return s.inner.LookupMX(ctx, name) })
	for i, mx := range mxs { // callers get their own copies
		c := *mx
		mxs[i] = &c
	}
	return mxs, err
}

// LookupIPAddr implements Resolver.
func (s *System) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	return lookup(ctx, s, "IP", host, func(ctx context.Context) ([]net.IPAddr, error) { return s.inner.LookupIPAddr(ctx, host) })
}

// LookupAddr implements Resolver.
func (s *System) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	return lookup(ctx, s, "PTR", addr, func(ctx context.Context) ([]string, error) { return s.inner.LookupAddr(ctx, addr) })
}

var _ Resolver = (*System)(nil)
