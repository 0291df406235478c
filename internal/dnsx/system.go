package dnsx

import (
	"container/list"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Cache lifetimes of the System resolver. Answers are cached for the smallest
// TTL of the records they are made of (CNAME chain included), at most
// DefaultCacheTTL; negative answers (NXDOMAIN, NODATA) for the SOA minimum of
// the authority section (RFC 2308 section 5), at most DefaultNegativeTTL, or
// DefaultNoSOATTL when the server sent no SOA. Failures are never cached.
//
// When System falls back to net.Resolver, which does not expose TTLs, answers
// are kept for FallbackCacheTTL and not-found answers for FallbackNegativeTTL
// (each still bounded by the caps).
const (
	DefaultCacheTTL     = time.Hour
	DefaultNegativeTTL  = 15 * time.Minute
	DefaultNoSOATTL     = 60 * time.Second
	FallbackCacheTTL    = 60 * time.Second
	FallbackNegativeTTL = 15 * time.Second
	DefaultCacheSize    = 10000
)

// ednsSize is the UDP payload size advertised with EDNS0 (DNS flag day 2020).
const ednsSize = 1232

// System is the production Resolver: a stub resolver querying the nameservers
// of /etc/resolv.conf with github.com/miekg/dns (UDP, TCP when the answer is
// truncated, each server in turn), with a per-server timeout and a bounded LRU
// cache that respects record TTLs. NXDOMAIN and NODATA are told apart as by
// the zone resolver. When /etc/resolv.conf is missing or lists no server it
// falls back to net.Resolver with fixed cache lifetimes. It is safe for
// concurrent use.
type System struct {
	servers []string // host:port; empty means use inner
	inner   Resolver // fallback when there are no servers
	timeout time.Duration
	now     func() time.Time

	// CacheTTL and NegativeTTL cap how long answers and not-found answers are
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

// NewSystem returns a caching resolver over the nameservers of
// /etc/resolv.conf (or net.Resolver if there are none) whose queries each take
// at most timeout per server tried (zero means 5 seconds), on top of any
// deadline of the caller's context.
func NewSystem(timeout time.Duration) *System {
	if cfg, err := dns.ClientConfigFromFile("/etc/resolv.conf"); err == nil && len(cfg.Servers) > 0 {
		servers := make([]string, len(cfg.Servers))
		for i, srv := range cfg.Servers {
			servers[i] = net.JoinHostPort(srv, cfg.Port)
		}
		return NewSystemServers(timeout, servers...)
	}
	return newSystem(&net.Resolver{}, timeout)
}

// NewSystemServers is NewSystem querying the given nameservers, tried in order,
// instead of those of /etc/resolv.conf. A server is an IP address, with an
// optional port (default 53) as in "192.0.2.1:53" or "[2001:db8::1]:53". With
// no server it falls back to net.Resolver.
func NewSystemServers(timeout time.Duration, servers ...string) *System {
	if len(servers) == 0 {
		return newSystem(&net.Resolver{}, timeout)
	}
	s := newSystem(nil, timeout)
	for _, srv := range servers {
		if _, _, err := net.SplitHostPort(srv); err != nil {
			srv = net.JoinHostPort(strings.Trim(srv, "[]"), "53")
		}
		s.servers = append(s.servers, srv)
	}
	return s
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

// put caches value or err for ttl, bounded by the caps. Failures other than
// not found are never cached.
func (s *System) put(key string, value any, err error, ttl time.Duration) {
	limit := s.CacheTTL
	if err != nil {
		if !IsNotFound(err) {
			return
		}
		limit = s.NegativeTTL
	}
	ttl = min(ttl, limit)
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

func cacheKey(kind, name string) string {
	return kind + " " + strings.ToLower(strings.TrimSuffix(name, "."))
}

// lookup runs one cached query through the fallback net.Resolver, whose TTLs
// are unknown.
func lookup[T any](ctx context.Context, s *System, kind, name string, q func(context.Context) ([]T, error)) ([]T, error) {
	key := cacheKey(kind, name)
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
	ttl := FallbackCacheTTL
	if err != nil {
		ttl = FallbackNegativeTTL
	}
	s.put(key, append([]T(nil), v...), err, ttl)
	return v, err
}

// query returns the records of type qtype at name, CNAMEs in the answer
// followed (the chain is not returned), from the cache or the servers. The
// error is a *net.DNSError wrapping ErrNXDomain, ErrNoData, ErrServFail,
// ErrTimeout or the context's error.
func (s *System) query(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	key := cacheKey(dns.TypeToString[qtype], name)
	if e, ok := s.get(key); ok {
		if e.err != nil {
			return nil, e.err
		}
		return e.value.([]dns.RR), nil
	}
	if err := ctx.Err(); err != nil {
		return nil, ctxError(name, err)
	}
	if _, ok := dns.IsDomainName(name); !ok || name == "" {
		return nil, nxdomain(name)
	}
	msg, err := s.exchange(ctx, name, qtype)
	if err != nil {
		return nil, err
	}
	rrs, ttl, err := parseAnswer(msg, name, qtype)
	if err != nil && !IsNotFound(err) {
		return nil, err
	}
	s.put(key, rrs, err, ttl)
	return rrs, err
}

// exchange sends the query to each server in turn until one answers with
// NOERROR or NXDOMAIN, retrying over TCP when the UDP answer is truncated.
func (s *System) exchange(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	req := new(dns.Msg)
	req.SetQuestion(dns.Fqdn(name), qtype)
	req.RecursionDesired = true
	req.SetEdns0(ednsSize, false)
	var last error
	for _, srv := range s.servers {
		msg, err := s.exchangeOne(ctx, req, srv)
		if err == nil {
			switch msg.Rcode {
			case dns.RcodeSuccess, dns.RcodeNameError:
				return msg, nil
			}
			last = servfail(name) // SERVFAIL, REFUSED, ...: try the next server
			continue
		}
		if ctx.Err() != nil {
			return nil, ctxError(name, ctx.Err())
		}
		if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
			// The connection's deadline, the caller's, fired before the context's timer.
			return nil, ctxError(name, context.DeadlineExceeded)
		}
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
			last = timeout(name)
		} else {
			last = &net.DNSError{Err: err.Error(), Name: name, Server: srv, IsTemporary: true, UnwrapErr: ErrServFail}
		}
	}
	return nil, last
}

func (s *System) exchangeOne(ctx context.Context, req *dns.Msg, srv string) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	c := &dns.Client{Net: "udp", UDPSize: ednsSize, Timeout: s.timeout}
	msg, _, err := c.ExchangeContext(ctx, req, srv)
	if err == nil && msg.Truncated {
		c.Net = "tcp"
		msg, _, err = c.ExchangeContext(ctx, req, srv)
	}
	return msg, err
}

// parseAnswer extracts the records of type qtype at name from msg, following
// CNAMEs, and how long the result may be cached.
func parseAnswer(msg *dns.Msg, name string, qtype uint16) ([]dns.RR, time.Duration, error) {
	cur := dns.CanonicalName(name)
	minTTL := uint32(1<<32 - 1)
	for range maxCNAMEChain {
		var out []dns.RR
		var cname *dns.CNAME
		for _, rr := range msg.Answer {
			h := rr.Header()
			if h.Class != dns.ClassINET || dns.CanonicalName(h.Name) != cur {
				continue
			}
			if h.Rrtype == qtype {
				out = append(out, rr)
			} else if c, ok := rr.(*dns.CNAME); ok && qtype != dns.TypeCNAME {
				cname = c
			}
		}
		if len(out) > 0 {
			for _, rr := range out {
				minTTL = min(minTTL, rr.Header().Ttl)
			}
			return out, time.Duration(minTTL) * time.Second, nil
		}
		if cname == nil {
			ttl := negativeTTL(msg)
			if msg.Rcode == dns.RcodeNameError {
				return nil, ttl, nxdomain(name)
			}
			return nil, ttl, nodata(name)
		}
		minTTL = min(minTTL, cname.Hdr.Ttl)
		cur = dns.CanonicalName(cname.Target)
	}
	return nil, 0, servfail(name)
}

// negativeTTL is the RFC 2308 section 5 lifetime of a negative answer: the
// smaller of the TTL and MINIMUM field of the SOA in the authority section.
func negativeTTL(msg *dns.Msg) time.Duration {
	for _, rr := range msg.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			return time.Duration(min(soa.Hdr.Ttl, soa.Minttl)) * time.Second
		}
	}
	return DefaultNoSOATTL
}

// LookupTXT implements Resolver: the strings of each record are joined without
// separator (RFC 7208 3.3).
func (s *System) LookupTXT(ctx context.Context, name string) ([]string, error) {
	if s.servers == nil {
		return lookup(ctx, s, "TXT", name, func(ctx context.Context) ([]string, error) { return s.inner.LookupTXT(ctx, name) })
	}
	return lookupTXT(ctx, s.query, name)
}

// LookupMX implements Resolver: the records are ordered by preference, hosts
// fully qualified.
func (s *System) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	if s.servers == nil {
		mxs, err := lookup(ctx, s, "MX", name, func(ctx context.Context) ([]*net.MX, error) { return s.inner.LookupMX(ctx, name) })
		for i, mx := range mxs { // callers get their own copies
			c := *mx
			mxs[i] = &c
		}
		return mxs, err
	}
	return lookupMX(ctx, s.query, name)
}

// LookupIPAddr implements Resolver with an A and an AAAA query. Like
// net.Resolver, it succeeds if either query gives addresses; otherwise a
// failure of either query wins over not found.
func (s *System) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	if s.servers == nil {
		return lookup(ctx, s, "IP", host, func(ctx context.Context) ([]net.IPAddr, error) { return s.inner.LookupIPAddr(ctx, host) })
	}
	return lookupIPAddr(ctx, s.query, host)
}

// LookupAddr implements Resolver with a PTR query of the reverse name of addr;
// the names are fully qualified.
func (s *System) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	if s.servers == nil {
		return lookup(ctx, s, "PTR", addr, func(ctx context.Context) ([]string, error) { return s.inner.LookupAddr(ctx, addr) })
	}
	return lookupAddr(ctx, s.query, addr)
}

var _ Resolver = (*System)(nil)
