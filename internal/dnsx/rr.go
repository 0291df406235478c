package dnsx

import (
	"context"
	"net"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// queryFunc answers one question with the resource records of the answer
// (CNAMEs followed) or a dnsx error; Zone.Query and System.query are two.
type queryFunc func(ctx context.Context, name string, qtype uint16) ([]dns.RR, error)

// lookupTXT returns the TXT records at name, each one's strings concatenated
// (RFC 7208 section 3.3).
func lookupTXT(ctx context.Context, q queryFunc, name string) ([]string, error) {
	rrs, err := q(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(rrs))
	for i, rr := range rrs {
		var b strings.Builder
		for _, t := range rr.(*dns.TXT).Txt {
			b.WriteString(unescapeTXT(t))
		}
		out[i] = b.String()
	}
	return out, nil
}

// lookupMX returns the MX records at name ordered by preference, hosts fully qualified.
func lookupMX(ctx context.Context, q queryFunc, name string) ([]*net.MX, error) {
	rrs, err := q(ctx, name, dns.TypeMX)
	if err != nil {
		return nil, err
	}
	out := make([]*net.MX, len(rrs))
	for i, rr := range rrs {
		mx := rr.(*dns.MX)
		out[i] = &net.MX{Host: dns.Fqdn(mx.Mx), Pref: mx.Preference}
	}
	slices.SortStableFunc(out, func(a, b *net.MX) int { return int(a.Pref) - int(b.Pref) })
	return out, nil
}

// lookupIPAddr returns the A and AAAA addresses of host. Like net.Resolver, it
// succeeds if either query gives addresses; otherwise a failure of either query
// wins over not found.
func lookupIPAddr(ctx context.Context, q queryFunc, host string) ([]net.IPAddr, error) {
	if ip := net.ParseIP(host); ip != nil {
		return []net.IPAddr{{IP: ip}}, nil
	}
	var out []net.IPAddr
	var errs [2]error
	for i, t := range []uint16{dns.TypeA, dns.TypeAAAA} {
		rrs, err := q(ctx, host, t)
		errs[i] = err
		for _, rr := range rrs {
			switch rr := rr.(type) {
			case *dns.A:
				out = append(out, net.IPAddr{IP: rr.A})
			case *dns.AAAA:
				out = append(out, net.IPAddr{IP: rr.AAAA})
			}
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	for _, err := range errs {
		if IsTemporary(err) {
			return nil, err
		}
	}
	return nil, errs[0]
}

// lookupAddr returns the PTR names of addr's reverse name, fully qualified.
func lookupAddr(ctx context.Context, q queryFunc, addr string) ([]string, error) {
	rev, err := dns.ReverseAddr(addr)
	if err != nil {
		return nil, &net.DNSError{Err: "unrecognized address", Name: addr}
	}
	rrs, err := q(ctx, rev, dns.TypePTR)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(rrs))
	for i, rr := range rrs {
		out[i] = dns.Fqdn(rr.(*dns.PTR).Ptr)
	}
	return out, nil
}
