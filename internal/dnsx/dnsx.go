// Package dnsx is the one DNS boundary of mailwarden: a Resolver interface used by
// everything that looks up DNS (SPF RFC 7208, DKIM RFC 6376, DMARC RFC 9989), a
// system resolver with timeouts and a small TTL-respecting cache, and a zone-file
// resolver answering from RFC 1035 master files for tests and offline evaluation.
//
// Errors follow the net package's conventions so callers can tell the cases apart:
// a name that does not exist is a *net.DNSError with IsNotFound set (NXDOMAIN, or
// NOERROR with no data of that type); a failure to answer is a *net.DNSError with
// IsTemporary or IsTimeout set (SERVFAIL, timeout). Each error also wraps one of
// ErrNXDomain, ErrNoData, ErrServFail or ErrTimeout where the resolver knows which
// (the zone resolver and the system resolver always do; only the net.Resolver
// fallback, used without /etc/resolv.conf, cannot tell NXDOMAIN from NODATA), so
// IsNoData and errors.Is distinguish them.
//
// # Zone files
//
// LoadZone and ParseZone read RFC 1035 master files (section 5) with
// github.com/miekg/dns; any record type it knows may appear ($INCLUDE is
// refused). To express failures, which a master file cannot, a whole-line
// comment carries a directive:
//
//	; mailwarden:servfail NAME [TYPE ...]
//	; mailwarden:timeout  NAME [TYPE ...]
//
// Queries at exactly NAME (relative names are relative to the origin, "@" is the
// origin) then fail with SERVFAIL or a timeout: for every type if no TYPE is
// listed, else only for the listed types (e.g. "TXT AAAA"), other types being
// answered from the records as usual. Because directives are comments, the file
// stays loadable by any other DNS tool.
package dnsx

import (
	"context"
	"errors"
	"net"
)

// Resolver is the method set of *net.Resolver that mailwarden uses. It matches
// blitiri.com.ar/go/spf's DNSResolver so one value serves every check.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// Sentinel causes carried in the UnwrapErr field of the *net.DNSError values
// returned by this package's resolvers, so errors.Is tells the cases apart while
// callers that only know the net package still see IsNotFound/IsTemporary.
var (
	// ErrNXDomain: the name does not exist at all (RCODE 3, RFC 1035 4.1.1).
	ErrNXDomain = errors.New("dnsx: nxdomain")
	// ErrNoData: the name exists (possibly as an empty non-terminal) but has no
	// record of the requested type (NOERROR with an empty answer, RFC 2308 2.2).
	ErrNoData = errors.New("dnsx: no data")
	// ErrServFail: the server failed to answer (RCODE 2).
	ErrServFail = errors.New("dnsx: servfail")
	// ErrTimeout: no answer in time.
	ErrTimeout = errors.New("dnsx: timeout")
)

// IsNotFound reports whether err means "no such record": NXDOMAIN or NODATA.
func IsNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// IsNoData reports whether err is a NODATA answer: the name exists but has no
// record of the requested type. It is false for NXDOMAIN and when the resolver
// cannot tell the two apart (the net.Resolver fallback reports both as not found).
func IsNoData(err error) bool { return errors.Is(err, ErrNoData) }

// IsNXDomain reports whether err is known to be an NXDOMAIN answer.
func IsNXDomain(err error) bool { return errors.Is(err, ErrNXDomain) }

// IsTemporary reports whether err is a failure to get an answer (SERVFAIL,
// timeout, cancellation) rather than an answer saying there is nothing.
func IsTemporary(err error) bool {
	if err == nil || IsNotFound(err) {
		return false
	}
	return true
}

func nxdomain(name string) error {
	return &net.DNSError{Err: "no such host", Name: name, IsNotFound: true, UnwrapErr: ErrNXDomain}
}

func nodata(name string) error {
	return &net.DNSError{Err: "no data of requested type", Name: name, IsNotFound: true, UnwrapErr: ErrNoData}
}

func servfail(name string) error {
	return &net.DNSError{Err: "server misbehaving", Name: name, IsTemporary: true, UnwrapErr: ErrServFail}
}

func timeout(name string) error {
	return &net.DNSError{Err: "i/o timeout", Name: name, IsTimeout: true, IsTemporary: true, UnwrapErr: ErrTimeout}
}

func ctxError(name string, err error) error {
	return &net.DNSError{Err: err.Error(), Name: name, IsTimeout: errors.Is(err, context.DeadlineExceeded), IsTemporary: true, UnwrapErr: err}
}
