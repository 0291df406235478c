package dnsx

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// maxCNAMEChain bounds CNAME chasing; a longer chain or a loop is a SERVFAIL,
// as a recursive resolver would report it.
const maxCNAMEChain = 16

// Zone is an in-memory authoritative view of DNS built from RFC 1035 master
// files or from records. It implements Resolver and answers as a server would:
// NXDOMAIN for names that do not exist, NODATA for names that exist (including
// empty non-terminals) without the requested type, CNAME chasing, wildcard
// synthesis (RFC 4592) and TXT strings concatenated (RFC 7208 3.3). Names
// marked with the servfail/timeout directive fail instead (see the package doc).
//
// A Zone is safe for concurrent lookups once built; Add and AddFailure must not
// run concurrently with lookups.
type Zone struct {
	records map[string][]dns.RR  // owner (lower case, fully qualified) → records
	nodes   map[string]bool      // owners and all their ancestors
	fail    map[string]zoneFault // owner → failing query types
}

type zoneFault struct {
	timeout bool
	types   map[uint16]bool // nil: every type
}

// NewZone returns an empty zone; fill it with Add and AddFailure.
func NewZone() *Zone {
	return &Zone{records: map[string][]dns.RR{}, nodes: map[string]bool{".": true}, fail: map[string]zoneFault{}}
}

// Add adds resource records. Owner names are made fully qualified.
func (z *Zone) Add(rrs ...dns.RR) {
	for _, rr := range rrs {
		name := canon(rr.Header().Name)
		rr.Header().Name = name
		z.records[name] = append(z.records[name], rr)
		for n := name; ; {
			z.nodes[n] = true
			i, end := dns.NextLabel(n, 0)
			if end {
				break
			}
			n = n[i:]
		}
	}
}

// AddFailure makes queries for name fail: with SERVFAIL, or as a timeout if
// timeout is set. With no types every query at name fails, otherwise only
// queries for those types.
func (z *Zone) AddFailure(name string, timeout bool, types ...uint16) {
	f := zoneFault{timeout: timeout}
	if len(types) > 0 {
		f.types = map[uint16]bool{}
		for _, t := range types {
			f.types[t] = true
		}
	}
	z.fail[canon(name)] = f
}

// LoadZone reads an RFC 1035 master file. The origin is the root unless the file
// sets $ORIGIN. $INCLUDE is not allowed.
func LoadZone(path string) (*Zone, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dnsx: load zone: %w", err)
	}
	defer f.Close()
	return parseZone(f, ".", path)
}

// ParseZone reads an RFC 1035 master file from r; relative names are relative to
// origin ("" means the root).
func ParseZone(r io.Reader, origin string) (*Zone, error) {
	return parseZone(r, origin, "zone")
}

const directivePrefix = "mailwarden:"

func parseZone(r io.Reader, origin, file string) (*Zone, error) {
	if origin == "" {
		origin = "."
	}
	origin = dns.Fqdn(origin)
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("dnsx: read zone: %w", err)
	}
	z := NewZone()
	zp := dns.NewZoneParser(bytes.NewReader(data), origin, file)
	zp.SetDefaultTTL(3600)
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		z.Add(rr)
	}
	if err := zp.Err(); err != nil {
		return nil, fmt.Errorf("dnsx: parse zone: %w", err)
	}
	// Directives live in whole-line comments so the file stays a valid master
	// file for any other tool. They are read in a second pass, tracking $ORIGIN:
	// the zone parser does not report comments that stand alone on a line.
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if f := strings.Fields(text); len(f) >= 2 && strings.EqualFold(f[0], "$ORIGIN") {
			origin = relative(f[1], origin)
			continue
		}
		if !strings.HasPrefix(text, ";") {
			continue
		}
		text = strings.TrimSpace(strings.TrimLeft(text, ";"))
		if !strings.HasPrefix(text, directivePrefix) {
			continue
		}
		fields := strings.Fields(text[len(directivePrefix):])
		if len(fields) < 2 || (fields[0] != "servfail" && fields[0] != "timeout") {
			return nil, fmt.Errorf("dnsx: %s:%d: want %q NAME [TYPE...]", file, line, "; "+directivePrefix+"servfail|timeout")
		}
		name := relative(fields[1], origin)
		var types []uint16
		for _, t := range fields[2:] {
			tv, ok := dns.StringToType[strings.ToUpper(t)]
			if !ok {
				return nil, fmt.Errorf("dnsx: %s:%d: unknown type %q", file, line, t)
			}
			types = append(types, tv)
		}
		z.AddFailure(name, fields[0] == "timeout", types...)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("dnsx: read zone: %w", err)
	}
	return z, nil
}

// relative resolves a master-file name against origin (RFC 1035 5.1).
func relative(name, origin string) string {
	switch {
	case name == "@":
		return origin
	case dns.IsFqdn(name):
		return name
	case origin == ".":
		return name + "."
	}
	return name + "." + origin
}

// canon returns the canonical key for a name: fully qualified, lower case, in
// the presentation form miekg/dns produces (escapes normalized, e.g. "\\032"
// becomes "\\ "). ok is false if the name cannot be a DNS name (empty label,
// label over 63 octets, over 255 octets), which a resolver reports as not found.
func canonOK(name string) (string, bool) {
	var buf [256]byte
	off, err := dns.PackDomainName(dns.Fqdn(name), buf[:], 0, nil, false)
	if err != nil {
		return strings.ToLower(dns.Fqdn(name)), false
	}
	s, _, err := dns.UnpackDomainName(buf[:off], 0)
	if err != nil {
		return strings.ToLower(dns.Fqdn(name)), false
	}
	return strings.ToLower(s), true
}

func canon(name string) string {
	s, _ := canonOK(name)
	return s
}

// unescapeTXT turns a character-string in miekg/dns presentation form (\DDD and
// \X escapes) into its octets.
func unescapeTXT(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		if i+2 < len(s) && isDigit(s[i]) && isDigit(s[i+1]) && isDigit(s[i+2]) {
			n := int(s[i]-'0')*100 + int(s[i+1]-'0')*10 + int(s[i+2]-'0')
			if n <= 255 {
				b.WriteByte(byte(n))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// EscapeTXT turns octets into a character-string in the presentation form
// miekg/dns uses for TXT and SPF records in memory and in master files.
func EscapeTXT(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c > 0x7e:
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// EscapeName turns a name given as raw text (labels separated by dots, any
// octets in the labels) into presentation form, escaping what a master file
// cannot hold literally.
func EscapeName(raw string) string {
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == '"' || c == '\\' || c == '(' || c == ')' || c == ';' || c == '@' || c == '$':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c <= 0x20 || c > 0x7e:
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Query answers a query for name and qtype the way a recursive resolver would
// hand it to a stub: CNAMEs are followed (the chain is not returned) unless
// qtype is CNAME, and wildcard answers carry the query name as owner. The error
// is a *net.DNSError wrapping ErrNXDomain, ErrNoData, ErrServFail or ErrTimeout.
func (z *Zone) Query(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	orig := name
	if err := ctx.Err(); err != nil {
		return nil, ctxError(orig, err)
	}
	name, ok := canonOK(name)
	if !ok {
		return nil, nxdomain(orig)
	}
	for range maxCNAMEChain {
		if f, ok := z.fail[name]; ok && (f.types == nil || f.types[qtype]) {
			if f.timeout {
				return nil, timeout(orig)
			}
			return nil, servfail(orig)
		}
		rrs, ok := z.records[name]
		if !ok && !z.nodes[name] {
			rrs = z.wildcard(name)
			if rrs == nil {
				return nil, nxdomain(orig)
			}
		}
		if qtype != dns.TypeCNAME {
			if i := slices.IndexFunc(rrs, func(rr dns.RR) bool { return rr.Header().Rrtype == dns.TypeCNAME }); i >= 0 {
				name = canon(rrs[i].(*dns.CNAME).Target)
				continue
			}
		}
		var out []dns.RR
		for _, rr := range rrs {
			if rr.Header().Rrtype == qtype {
				out = append(out, rr)
			}
		}
		if len(out) == 0 {
			return nil, nodata(orig)
		}
		return out, nil
	}
	return nil, servfail(orig)
}

// wildcard synthesizes records for a name that does not exist from the wildcard
// at its closest encloser, if there is one (RFC 4592 3.3.1).
func (z *Zone) wildcard(name string) []dns.RR {
	ce := name
	for !z.nodes[ce] {
		i, end := dns.NextLabel(ce, 0)
		if end {
			return nil
		}
		ce = ce[i:]
	}
	src := "*." + ce
	if ce == "." {
		src = "*."
	}
	wrrs := z.records[src]
	if wrrs == nil {
		return nil
	}
	out := make([]dns.RR, len(wrrs))
	for i, rr := range wrrs {
		out[i] = dns.Copy(rr)
		out[i].Header().Name = name
	}
	return out
}

// LookupTXT returns the TXT records at name, the strings of each record joined
// without separator (RFC 7208 3.3).
func (z *Zone) LookupTXT(ctx context.Context, name string) ([]string, error) {
	return lookupTXT(ctx, z.Query, name)
}

// LookupMX returns the MX records at name ordered by preference, hosts fully
// qualified as net.Resolver returns them.
func (z *Zone) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	return lookupMX(ctx, z.Query, name)
}

// LookupIPAddr returns the A and AAAA addresses of host. Like net.Resolver, it
// succeeds if either query gives addresses; otherwise a failure of either query
// wins over not found.
func (z *Zone) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	return lookupIPAddr(ctx, z.Query, host)
}

// LookupAddr returns the PTR names of the IP address addr, fully qualified.
func (z *Zone) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	return lookupAddr(ctx, z.Query, addr)
}

var _ Resolver = (*Zone)(nil)

// NewTXT returns a TXT record at name holding text, given as raw octets: it is
// escaped to miekg/dns presentation form and split into character-strings of at
// most 255 octets (RFC 1035 3.3.14). The strings of one text argument join back
// into it; several text arguments give several strings.
func NewTXT(name string, ttl uint32, text ...string) *dns.TXT {
	rr := &dns.TXT{Hdr: dns.RR_Header{Name: dns.Fqdn(name), Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: ttl}}
	for _, s := range text {
		for len(s) > 255 {
			rr.Txt = append(rr.Txt, EscapeTXT(s[:255]))
			s = s[255:]
		}
		rr.Txt = append(rr.Txt, EscapeTXT(s))
	}
	return rr
}
