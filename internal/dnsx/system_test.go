package dnsx

import (
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
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

func TestSystemFallbackCache(t *testing.T) {
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
	now = now.Add(FallbackNegativeTTL)
	query("nx.example.com", 1)
	query("a.example.com", 0)
	now = now.Add(FallbackCacheTTL)
	query("a.example.com", 1)

	// Bounded size: the least recently used entry goes first.
	s.max = 2
	query("a.example.com", 0)
	query("b.example.com", 1)
	query("c.example.com", 1)
	query("b.example.com", 0)
	query("a.example.com", 1)
}

func TestSystemFallbackTimeout(t *testing.T) {
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

// testServer is a DNS server on 127.0.0.1 (UDP and TCP on one port) answering
// from a fixed table, counting the queries it gets per "TYPE name" and network.
type testServer struct {
	addr string
	mu   sync.Mutex
	n    map[string]int
}

func (ts *testServer) count(key string) int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.n[key]
}

func (ts *testServer) reset() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.n = map[string]int{}
}

func mustRR(t *testing.T, s string) dns.RR {
	t.Helper()
	rr, err := dns.NewRR(s)
	if err != nil {
		t.Fatal(err)
	}
	return rr
}

// startTestServer serves handler, or the standard test table if it is nil.
func startTestServer(t *testing.T, handler dns.HandlerFunc) *testServer {
	t.Helper()
	ts := &testServer{n: map[string]int{}}
	soa := func(minttl int) dns.RR {
		return mustRR(t, "test. 3600 IN SOA ns.test. admin.test. 1 7200 900 1209600 "+strconv.Itoa(minttl))
	}
	answers := map[string][]dns.RR{
		"TXT a.test.":                 {mustRR(t, `a.test. 300 IN TXT "v=spf1 " "-all"`)},
		"A a.test.":                   {mustRR(t, "a.test. 300 IN A 192.0.2.1")},
		"AAAA a.test.":                {mustRR(t, "a.test. 50 IN AAAA 2001:db8::1")},
		"MX a.test.":                  {mustRR(t, "a.test. 100 IN MX 20 mx2.test."), mustRR(t, "a.test. 200 IN MX 10 mx1.test.")},
		"TXT www.test.":               {mustRR(t, "www.test. 30 IN CNAME alias.test."), mustRR(t, "alias.test. 600 IN CNAME a.test."), mustRR(t, `a.test. 300 IN TXT "v=spf1 " "-all"`)},
		"TXT long.test.":              {mustRR(t, `long.test. 86400 IN TXT "long"`)},
		"TXT big.test.":               {mustRR(t, `big.test. 300 IN TXT "big"`)},
		"PTR 1.2.0.192.in-addr.arpa.": {mustRR(t, "1.2.0.192.in-addr.arpa. 300 IN PTR mail.test.")},
	}
	if handler == nil {
		handler = func(w dns.ResponseWriter, req *dns.Msg) {
			q := req.Question[0]
			key := dns.TypeToString[q.Qtype] + " " + strings.ToLower(q.Name)
			m := new(dns.Msg)
			m.SetReply(req)
			m.RecursionAvailable = true
			switch name := strings.ToLower(q.Name); {
			case name == "fail.test.":
				m.Rcode = dns.RcodeServerFailure
			case name == "nx.test.":
				m.Rcode = dns.RcodeNameError
				m.Ns = []dns.RR{soa(120)}
			case name == "nxnosoa.test.":
				m.Rcode = dns.RcodeNameError
			case name == "big.test." && w.RemoteAddr().Network() == "udp":
				m.Truncated = true
			case answers[key] != nil:
				m.Answer = answers[key]
			case strings.HasSuffix(name, ".test.") || name == "test." || strings.HasSuffix(name, ".arpa."):
				m.Ns = []dns.RR{soa(30)} // NODATA
			default:
				m.Rcode = dns.RcodeNameError
				m.Ns = []dns.RR{soa(120)}
			}
			ts.mu.Lock()
			ts.n[key]++
			ts.n[w.RemoteAddr().Network()+" "+key]++
			ts.mu.Unlock()
			w.WriteMsg(m)
		}
	}
	var pc net.PacketConn
	var ln net.Listener
	for range 20 { // find a port free for both UDP and TCP
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if ln, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
		pc = nil
	}
	if pc == nil {
		t.Fatal("no free port for UDP and TCP")
	}
	ts.addr = pc.LocalAddr().String()
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: handler}, {Listener: ln, Handler: handler}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go srv.ActivateAndServe()
		<-started
		t.Cleanup(func() { srv.Shutdown() })
	}
	return ts
}

func newTestSystem(ts *testServer, timeout time.Duration) (*System, *time.Time) {
	s := NewSystemServers(timeout, ts.addr)
	now := time.Unix(1e9, 0)
	s.now = func() time.Time { return now }
	return s, &now
}

func TestSystemAnswers(t *testing.T) {
	ts := startTestServer(t, nil)
	s, _ := newTestSystem(ts, time.Second)
	ctx := context.Background()

	if txt, err := s.LookupTXT(ctx, "a.test"); err != nil || !slices.Equal(txt, []string{"v=spf1 -all"}) {
		t.Errorf("LookupTXT(a.test) = %q, %v", txt, err)
	}
	if txt, err := s.LookupTXT(ctx, "WWW.test."); err != nil || !slices.Equal(txt, []string{"v=spf1 -all"}) {
		t.Errorf("LookupTXT(www.test) via CNAME chain = %q, %v", txt, err)
	}
	mxs, err := s.LookupMX(ctx, "a.test")
	if err != nil || len(mxs) != 2 || *mxs[0] != (net.MX{Host: "mx1.test.", Pref: 10}) || *mxs[1] != (net.MX{Host: "mx2.test.", Pref: 20}) {
		t.Errorf("LookupMX(a.test) = %v, %v", mxs, err)
	}
	ips, err := s.LookupIPAddr(ctx, "a.test")
	if err != nil || len(ips) != 2 || !ips[0].IP.Equal(net.ParseIP("192.0.2.1")) || !ips[1].IP.Equal(net.ParseIP("2001:db8::1")) {
		t.Errorf("LookupIPAddr(a.test) = %v, %v", ips, err)
	}
	if ips, err := s.LookupIPAddr(ctx, "192.0.2.7"); err != nil || len(ips) != 1 {
		t.Errorf("LookupIPAddr(literal) = %v, %v", ips, err)
	}
	if names, err := s.LookupAddr(ctx, "192.0.2.1"); err != nil || !slices.Equal(names, []string{"mail.test."}) {
		t.Errorf("LookupAddr(192.0.2.1) = %q, %v", names, err)
	}
	if _, err := s.LookupAddr(ctx, "not-an-ip"); err == nil {
		t.Error("LookupAddr(not-an-ip) succeeded")
	}

	// NXDOMAIN vs NODATA vs SERVFAIL.
	_, err = s.LookupTXT(ctx, "nx.test")
	if !IsNotFound(err) || !IsNXDomain(err) || IsNoData(err) || IsTemporary(err) {
		t.Errorf("nx.test: %v, want NXDOMAIN", err)
	}
	_, err = s.LookupTXT(ctx, "nodata.test")
	if !IsNotFound(err) || !IsNoData(err) || IsNXDomain(err) {
		t.Errorf("nodata.test: %v, want NODATA", err)
	}
	_, err = s.LookupMX(ctx, "fail.test")
	if IsNotFound(err) || !IsTemporary(err) || !errors.Is(err, ErrServFail) {
		t.Errorf("fail.test: %v, want SERVFAIL", err)
	}
	if _, err := s.LookupIPAddr(ctx, "nodata.test"); !IsNoData(err) {
		t.Errorf("LookupIPAddr(nodata.test): %v, want NODATA", err)
	}

	// Truncated over UDP: retried over TCP.
	if txt, err := s.LookupTXT(ctx, "big.test"); err != nil || !slices.Equal(txt, []string{"big"}) {
		t.Errorf("LookupTXT(big.test) = %q, %v", txt, err)
	}
	if u, c := ts.count("udp TXT big.test."), ts.count("tcp TXT big.test."); u != 1 || c != 1 {
		t.Errorf("big.test: %d UDP and %d TCP queries, want 1 and 1", u, c)
	}
	if c := ts.count("tcp TXT a.test."); c != 0 {
		t.Errorf("a.test went over TCP %d times", c)
	}
}

func TestSystemTTLCache(t *testing.T) {
	ts := startTestServer(t, nil)
	s, now := newTestSystem(ts, time.Second)
	ctx := context.Background()

	// query looks name up at the current time and checks how many queries of
	// the type reached the server.
	query := func(qtype, name string, want int) {
		t.Helper()
		ts.reset()
		switch qtype {
		case "TXT":
			s.LookupTXT(ctx, name)
		case "MX":
			s.LookupMX(ctx, name)
		case "IP":
			s.LookupIPAddr(ctx, name)
		}
		key := qtype + " " + strings.ToLower(dns.Fqdn(name))
		got := ts.count(key)
		if qtype == "IP" {
			got = ts.count("A "+dns.Fqdn(name)) + ts.count("AAAA "+dns.Fqdn(name))
		}
		if got != want {
			t.Errorf("%s %s at +%v: %d queries reached the server, want %d", qtype, name, now.Sub(time.Unix(1e9, 0)), got, want)
		}
	}
	step := func(d time.Duration) { *now = now.Add(d) }

	query("TXT", "a.test", 1)    // TTL 300
	query("TXT", "A.Test.", 0)   // cached, case-insensitive
	query("TXT", "www.test", 1)  // chain TTLs 30, 600, 300: 30
	query("MX", "a.test", 1)     // TTLs 100, 200: 100
	query("IP", "a.test", 2)     // A 300, AAAA 50, cached apart
	query("TXT", "long.test", 1) // TTL 86400, capped at 1 hour
	query("TXT", "nx.test", 1)   // NXDOMAIN, SOA minimum 120
	query("TXT", "nxnosoa.test", 1)
	query("TXT", "nodata.test", 1) // NODATA, SOA minimum 30
	query("TXT", "fail.test", 1)
	query("TXT", "fail.test", 1) // SERVFAIL never cached

	step(29 * time.Second)
	query("TXT", "www.test", 0)
	query("TXT", "nodata.test", 0)
	step(time.Second) // +30s
	query("TXT", "www.test", 1)
	query("TXT", "nodata.test", 1)
	if _, err := s.LookupTXT(ctx, "nodata.test"); !IsNoData(err) {
		t.Errorf("cached NODATA lost its kind: %v", err)
	}
	step(20 * time.Second)          // +50s
	query("IP", "a.test", 1)        // AAAA expired, A still cached
	step(10 * time.Second)          // +60s
	query("TXT", "nxnosoa.test", 1) // default negative TTL without SOA
	query("TXT", "nx.test", 0)
	if _, err := s.LookupTXT(ctx, "nx.test"); !IsNXDomain(err) {
		t.Errorf("cached NXDOMAIN lost its kind: %v", err)
	}
	step(40 * time.Second) // +100s
	query("MX", "a.test", 1)
	step(20 * time.Second) // +120s
	query("TXT", "nx.test", 1)
	query("TXT", "a.test", 0)
	step(180 * time.Second) // +300s
	query("TXT", "a.test", 1)
	step(time.Hour - 300*time.Second - time.Second) // +1h-1s
	query("TXT", "long.test", 0)
	step(time.Second)
	query("TXT", "long.test", 1)

	// Caps: NegativeTTL bounds the SOA minimum; zero disables caching.
	s.NegativeTTL = 10 * time.Second
	query("TXT", "nx.test", 1)
	step(10 * time.Second)
	query("TXT", "nx.test", 1)
	s.CacheTTL = 0
	step(time.Hour)
	query("TXT", "a.test", 1)
	query("TXT", "a.test", 1)

	// Bounded size: the least recently used entry goes first.
	s.CacheTTL = time.Hour
	s.max = 2
	query("TXT", "a.test", 1)
	query("TXT", "long.test", 1)
	query("TXT", "www.test", 1)
	query("TXT", "long.test", 0)
	query("TXT", "a.test", 1)
}

func TestSystemServers(t *testing.T) {
	ctx := context.Background()
	good := startTestServer(t, nil)
	bad := startTestServer(t, func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeServerFailure)
		w.WriteMsg(m)
	})
	// A UDP socket that never answers.
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()

	// Each server in turn: SERVFAIL and timeouts move on to the next.
	s := NewSystemServers(50*time.Millisecond, bad.addr, silent.LocalAddr().String(), good.addr)
	if txt, err := s.LookupTXT(ctx, "a.test"); err != nil || len(txt) != 1 {
		t.Errorf("LookupTXT via third server = %q, %v", txt, err)
	}

	// All silent: a timeout, not cached.
	s = NewSystemServers(50*time.Millisecond, silent.LocalAddr().String())
	start := time.Now()
	_, err = s.LookupTXT(ctx, "a.test")
	var de *net.DNSError
	if !errors.As(err, &de) || !de.IsTimeout || !IsTemporary(err) || IsNotFound(err) {
		t.Errorf("silent server: %v, want timeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("timeout took %v", d)
	}
	if len(s.items) != 0 {
		t.Errorf("timeout cached: %d entries", len(s.items))
	}

	// Caller's context: cancellation ends the query.
	s = NewSystemServers(5*time.Second, silent.LocalAddr().String())
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	start = time.Now()
	if _, err := s.LookupTXT(cctx, "a.test"); !errors.Is(err, context.DeadlineExceeded) || !IsTemporary(err) {
		t.Errorf("caller deadline: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("caller deadline honored after %v", d)
	}
	cctx, cancel = context.WithCancel(ctx)
	cancel()
	good.reset()
	s = NewSystemServers(time.Second, good.addr)
	if _, err := s.LookupTXT(cctx, "a.test"); !errors.Is(err, context.Canceled) || good.count("TXT a.test.") != 0 {
		t.Errorf("canceled context: %v after %d queries", err, good.count("TXT a.test."))
	}

	// Default port.
	if s := NewSystemServers(time.Second, "192.0.2.1", "2001:db8::1", "[2001:db8::2]:5353"); !slices.Equal(s.servers, []string{"192.0.2.1:53", "[2001:db8::1]:53", "[2001:db8::2]:5353"}) {
		t.Errorf("servers = %q", s.servers)
	}
}
