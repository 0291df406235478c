// Package spf implements Sender Policy Framework (SPF, RFC 7208): parsing SPF
// records (section 12 ABNF, ParseRecord) and evaluating check_host() (section
// 4) for the MAIL FROM and HELO identities, with the processing limits of
// section 4.6.4 and macro expansion of section 7.
//
// DNS goes through a dnsx.Resolver, so the same code runs against the system
// resolver and against zone files; the RFC 7208 test suite runs against the
// latter (see TestRFC7208Suite and package spftest).
package spf

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/mailwarden/mailwarden/internal/dnsx"
)

// Status is the result of an SPF check, named as in RFC 8601 2.7.2 (and RFC
// 7208 2.6) for Authentication-Results.
type Status string

// Statuses.
const (
	// StatusNone: no SPF record, or no checkable domain (RFC 7208 2.6.1).
	StatusNone Status = "none"
	// StatusNeutral: the domain makes no assertion about the client (2.6.2).
	StatusNeutral Status = "neutral"
	// StatusPass: the client is authorized to use the domain (2.6.3).
	StatusPass Status = "pass"
	// StatusFail: the client is explicitly not authorized (2.6.4).
	StatusFail Status = "fail"
	// StatusSoftfail: probably not authorized; a weak fail (2.6.5).
	StatusSoftfail Status = "softfail"
	// StatusTemperror: a transient (usually DNS) error; retry later (2.6.6).
	StatusTemperror Status = "temperror"
	// StatusPermerror: the published records cannot be interpreted (2.6.7).
	StatusPermerror Status = "permerror"
)

// Statuses lists every Status.
var Statuses = []Status{StatusNone, StatusNeutral, StatusPass, StatusFail, StatusSoftfail, StatusTemperror, StatusPermerror}

// Result is the outcome of Check or CheckHelo.
type Result struct {
	Result Status
	// Domain is the domain whose policy was checked: that of MAIL FROM (or of
	// HELO for a null sender or CheckHelo). Empty if there was none.
	Domain string
	// Detail says why, for logs and Authentication-Results comments: the
	// directive that matched or the error, e.g. "matched ip4:192.0.2.0/24" or
	// "dns lookup limit exceeded". Never shown to the SMTP peer as is.
	Detail string
	// Explanation is the domain's own explanation of a fail (exp=, RFC 7208
	// 6.2), macro-expanded; empty if none.
	Explanation string
}

// Processing limits of RFC 7208 4.6.4.
const (
	maxDNSTerms   = 10 // terms causing DNS queries, across include and redirect
	maxVoid       = 2  // lookups giving NXDOMAIN or no answers
	maxMXNames    = 10 // MX records for one mx mechanism
	maxPTRNames   = 10 // PTR names considered by ptr and %{p}
	maxDomainSize = 253
)

// Errors carried in Result.Detail for permerror and temperror.
var (
	errLookupLimit = errors.New("spf: dns lookup limit exceeded")
	errVoidLimit   = errors.New("spf: void lookup limit exceeded")
	errMultiple    = errors.New("spf: multiple spf records")
	errNoRecord    = errors.New("spf: no spf record")
	errTooManyMX   = errors.New("spf: more than 10 mx records")
)

// Check evaluates the SPF policy for a message from ip that gave helo in
// HELO/EHLO and mailFrom (without angle brackets) in MAIL FROM. A null sender
// ("" or "<>") is checked as postmaster@helo (RFC 7208 2.4).
func Check(ctx context.Context, r dnsx.Resolver, ip net.IP, helo, mailFrom string) Result {
	mailFrom = strings.TrimSuffix(strings.TrimPrefix(mailFrom, "<"), ">")
	if mailFrom == "" {
		return CheckHelo(ctx, r, ip, helo)
	}
	local, domain := "postmaster", mailFrom
	if i := strings.LastIndexByte(mailFrom, '@'); i >= 0 {
		domain = mailFrom[i+1:]
		if i > 0 {
			local = mailFrom[:i] // 4.3: an empty local-part becomes "postmaster"
		}
	}
	return check(ctx, r, ip, helo, local, domain)
}

// CheckHelo evaluates the SPF policy of the HELO/EHLO identity (RFC 7208 2.3),
// as postmaster@helo.
func CheckHelo(ctx context.Context, r dnsx.Resolver, ip net.IP, helo string) Result {
	return check(ctx, r, ip, helo, "postmaster", helo)
}

func check(ctx context.Context, r dnsx.Resolver, ip net.IP, helo, local, domain string) Result {
	domain = strings.TrimSuffix(domain, ".")
	res := Result{Domain: domain}
	if r == nil {
		res.Result, res.Detail = StatusTemperror, "spf: no resolver"
		return res
	}
	if ip4 := ip.To4(); ip4 != nil {
		ip = ip4
	} else if len(ip) != net.IPv6len {
		res.Result, res.Detail = StatusNone, "spf: invalid client ip"
		return res
	}
	// 4.3: a malformed or single-label domain gives none without any lookup.
	if !validDomain(domain) {
		res.Result, res.Detail = StatusNone, "spf: not a valid fully qualified domain"
		return res
	}
	c := &checker{ctx: ctx, r: r, ip: ip, env: macroEnv{
		sender:       local + "@" + domain,
		local:        local,
		senderDomain: domain,
		ip:           ip,
		helo:         helo,
		now:          func() int64 { return time.Now().Unix() },
	}}
	c.env.validated = c.validatedName
	ev := c.checkHost(domain)
	res.Result, res.Detail = ev.status, ev.detail
	if ev.status == StatusFail && ev.record != nil && ev.record.Explanation != "" {
		res.Explanation = c.explain(ev.record.Explanation, ev.domain)
	}
	return res
}

// validDomain checks a domain for check_host() (RFC 7208 4.3): at least two
// labels, none empty, none longer than 63 octets.
func validDomain(d string) bool {
	if d == "" || len(d) > maxDomainSize {
		return false
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return false
		}
	}
	return true
}

type checker struct {
	ctx   context.Context
	r     dnsx.Resolver
	ip    net.IP // 4 bytes for IPv4, 16 for IPv6
	env   macroEnv
	terms int // DNS-querying terms evaluated
	voids int

	pDone  bool
	pNames []string // validated PTR names of ip, for %{p}
}

// evaluation is the outcome of check_host() for one domain.
type evaluation struct {
	status Status
	detail string
	record *Record // the record that decided, for exp=
	domain string  // its domain
}

func perm(err error) evaluation { return evaluation{status: StatusPermerror, detail: err.Error()} }
func temp(err error) evaluation { return evaluation{status: StatusTemperror, detail: err.Error()} }

// lookupRecord finds the one SPF record of domain (RFC 7208 4.4, 4.5).
func (c *checker) lookupRecord(domain string) (*Record, evaluation, bool) {
	txts, err := c.r.LookupTXT(c.ctx, domain)
	if err != nil {
		if dnsx.IsNotFound(err) {
			return nil, evaluation{status: StatusNone, detail: errNoRecord.Error()}, false
		}
		return nil, temp(fmt.Errorf("spf: looking up txt of %s: %w", domain, err)), false
	}
	var spf []string
	for _, t := range txts {
		if IsSPF(t) {
			spf = append(spf, t)
		}
	}
	switch len(spf) {
	case 0:
		return nil, evaluation{status: StatusNone, detail: errNoRecord.Error()}, false
	case 1:
	default:
		return nil, perm(errMultiple), false
	}
	rec, err := ParseRecord(spf[0])
	if err != nil {
		return nil, perm(err), false
	}
	return rec, evaluation{}, true
}

// checkHost is check_host() of RFC 7208 4 for the current ip and sender.
func (c *checker) checkHost(domain string) evaluation {
	rec, ev, ok := c.lookupRecord(domain)
	if !ok {
		return ev
	}
	saved := c.env.domain
	c.env.domain = domain
	defer func() { c.env.domain = saved }()

	for _, d := range rec.Directives {
		match, ev, ok := c.evalDirective(d)
		if !ok {
			return ev
		}
		if match {
			return evaluation{status: d.Qualifier.status(), detail: "matched " + d.String(), record: rec, domain: domain}
		}
	}
	if rec.Redirect != "" {
		// 6.1: redirect applies only when no mechanism matched, wherever it is.
		if err := c.countTerm(); err != nil {
			return perm(err)
		}
		target, err := c.expandDomain(rec.Redirect)
		if err != nil {
			return perm(err)
		}
		if !validDomain(target) {
			return perm(fmt.Errorf("spf: redirect to invalid domain %q", target))
		}
		ev := c.checkHost(target)
		if ev.status == StatusNone {
			return perm(fmt.Errorf("spf: redirect to %s: %s", target, ev.detail))
		}
		return ev
	}
	return evaluation{status: StatusNeutral, detail: "no directive matched", record: rec, domain: domain}
}

func (c *checker) countTerm() error {
	c.terms++
	if c.terms > maxDNSTerms {
		return errLookupLimit
	}
	return nil
}

// void records a lookup that found nothing (RFC 7208 4.6.4).
func (c *checker) void() error {
	c.voids++
	if c.voids > maxVoid {
		return errVoidLimit
	}
	return nil
}

// expandDomain expands a domain-spec into a name to query, shortened from the
// left to at most 253 octets (RFC 7208 7.3).
func (c *checker) expandDomain(spec string) (string, error) {
	toks, err := parseMacroString(spec, false)
	if err != nil {
		return "", fmt.Errorf("%w: %s", ErrSyntax, err)
	}
	name := strings.TrimSuffix(c.env.expand(toks), ".")
	for len(name) > maxDomainSize {
		i := strings.IndexByte(name, '.')
		if i < 0 {
			return "", fmt.Errorf("spf: expanded domain too long")
		}
		name = name[i+1:]
	}
	return name, nil
}

// target returns the domain a mechanism applies to: its expanded domain-spec,
// or the current domain.
func (c *checker) target(d Directive) (string, error) {
	if d.DomainSpec == "" {
		return c.env.domain, nil
	}
	return c.expandDomain(d.DomainSpec)
}

// evalDirective evaluates one mechanism (RFC 7208 5). ok is false if evaluation
// must stop with ev.
func (c *checker) evalDirective(d Directive) (match bool, ev evaluation, ok bool) {
	fail := func(e evaluation) (bool, evaluation, bool) { return false, e, false }
	switch d.Mechanism {
	case "all":
		return true, ev, true
	case "ip4", "ip6":
		return d.Network.Contains(c.ip) && (len(c.ip) == net.IPv4len) == (d.Mechanism == "ip4"), ev, true
	}

	// The remaining mechanisms query DNS and count against the limit.
	if err := c.countTerm(); err != nil {
		return fail(perm(err))
	}
	name, err := c.target(d)
	if err != nil {
		return fail(perm(err))
	}
	switch d.Mechanism {
	case "include":
		// 5.2: pass matches; fail, softfail and neutral do not; none is a
		// permerror; errors propagate.
		if !validDomain(name) {
			return fail(perm(fmt.Errorf("spf: include of invalid domain %q", name)))
		}
		sub := c.checkHost(name)
		switch sub.status {
		case StatusPass:
			return true, ev, true
		case StatusFail, StatusSoftfail, StatusNeutral:
			return false, ev, true
		case StatusNone:
			return fail(perm(fmt.Errorf("spf: include of %s: %s", name, sub.detail)))
		}
		return fail(sub)

	case "a":
		m, err := c.matchHost(name, d, true)
		if err != nil {
			return fail(errEval(err))
		}
		return m, ev, true

	case "mx":
		mxs, err := c.r.LookupMX(c.ctx, name)
		if err != nil {
			if !dnsx.IsNotFound(err) {
				return fail(temp(fmt.Errorf("spf: looking up mx of %s: %w", name, err)))
			}
			if err := c.void(); err != nil {
				return fail(perm(err))
			}
			return false, ev, true
		}
		if len(mxs) > maxMXNames {
			return fail(perm(errTooManyMX))
		}
		for _, mx := range mxs {
			host := strings.TrimSuffix(mx.Host, ".")
			if host == "" {
				continue // null MX (RFC 7505)
			}
			m, err := c.matchHost(host, d, false)
			if err != nil {
				return fail(errEval(err))
			}
			if m {
				return true, ev, true
			}
		}
		return false, ev, true

	case "ptr":
		names, err := c.validatedNames()
		if err != nil {
			return fail(perm(err))
		}
		for _, n := range names {
			if domainWithin(n, name) {
				return true, ev, true
			}
		}
		return false, ev, true

	case "exists":
		// 5.7: an A query, whatever the client's address family.
		ips, err := c.r.LookupIPAddr(c.ctx, name)
		if err != nil && !dnsx.IsNotFound(err) {
			return fail(temp(fmt.Errorf("spf: looking up %s: %w", name, err)))
		}
		for _, ip := range ips {
			if ip.IP.To4() != nil {
				return true, ev, true
			}
		}
		if err := c.void(); err != nil {
			return fail(perm(err))
		}
		return false, ev, true
	}
	return fail(perm(fmt.Errorf("spf: unknown mechanism %q", d.Mechanism)))
}

// evalError is an error that ends evaluation with a status.
type evalError struct {
	status Status
	err    error
}

func (e *evalError) Error() string { return e.err.Error() }

func errEval(err error) evaluation {
	var ee *evalError
	if errors.As(err, &ee) {
		return evaluation{status: ee.status, detail: ee.err.Error()}
	}
	return perm(err)
}

// matchHost reports whether the client ip is in the networks given by the
// addresses of host of its family and the cidr lengths of d (RFC 7208 5.3,
// 5.4). countVoid says whether an empty answer counts as a void lookup.
func (c *checker) matchHost(host string, d Directive, countVoid bool) (bool, error) {
	ips, err := c.r.LookupIPAddr(c.ctx, host)
	if err != nil && !dnsx.IsNotFound(err) {
		return false, &evalError{StatusTemperror, fmt.Errorf("spf: looking up %s: %w", host, err)}
	}
	bits, size := d.IP4CIDR, 32
	if len(c.ip) == net.IPv6len {
		bits, size = d.IP6CIDR, 128
	}
	if bits < 0 {
		bits = size
	}
	mask := net.CIDRMask(bits, size)
	found := false
	for _, a := range ips {
		ip := a.IP
		if ip4 := ip.To4(); ip4 != nil {
			ip = ip4
		}
		if len(ip) != len(c.ip) {
			continue
		}
		found = true
		if ip.Mask(mask).Equal(c.ip.Mask(mask)) {
			return true, nil
		}
	}
	if !found && countVoid {
		if err := c.void(); err != nil {
			return false, &evalError{StatusPermerror, err}
		}
	}
	return false, nil
}

// domainWithin reports whether name is domain or a subdomain of it.
func domainWithin(name, domain string) bool {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	return name == domain || strings.HasSuffix(name, "."+domain)
}

// validatedNames returns the names of the client ip whose addresses include it
// (RFC 7208 5.5): at most 10 PTR names are tried, lookup errors skip a name,
// and a failed PTR lookup gives no names. The PTR lookup may count as void.
func (c *checker) validatedNames() ([]string, error) {
	if c.pDone {
		return c.pNames, nil
	}
	c.pDone = true
	names, err := c.r.LookupAddr(c.ctx, c.ip.String())
	if err != nil {
		if dnsx.IsNotFound(err) {
			return nil, c.void()
		}
		return nil, nil
	}
	if len(names) > maxPTRNames {
		names = names[:maxPTRNames]
	}
	for _, n := range names {
		ips, err := c.r.LookupIPAddr(c.ctx, n)
		if err != nil {
			continue
		}
		for _, a := range ips {
			if a.IP.Equal(c.ip) {
				c.pNames = append(c.pNames, strings.TrimSuffix(n, "."))
				break
			}
		}
	}
	return c.pNames, nil
}

// validatedName is the value of %{p} (RFC 7208 7.3): a validated name of the
// client that is domain or within it if there is one, else any validated name,
// else "unknown".
func (c *checker) validatedName(domain string) string {
	names, _ := c.validatedNames()
	for _, n := range names {
		if domainWithin(n, domain) {
			return n
		}
	}
	if len(names) > 0 {
		return names[0]
	}
	return "unknown"
}

// explain computes the explanation of a fail from the exp= domain-spec of the
// record of domain (RFC 7208 6.2). Any problem means no explanation.
func (c *checker) explain(spec, domain string) string {
	saved := c.env.domain
	c.env.domain = domain
	defer func() { c.env.domain = saved }()
	name, err := c.expandDomain(spec)
	if err != nil || !validDomain(name) {
		return ""
	}
	txts, err := c.r.LookupTXT(c.ctx, name)
	if err != nil || len(txts) != 1 {
		return ""
	}
	toks, err := parseMacroString(txts[0], true)
	if err != nil {
		return ""
	}
	s := c.env.expand(toks)
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return ""
		}
	}
	return s
}
