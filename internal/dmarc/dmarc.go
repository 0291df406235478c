// Package dmarc implements Domain-based Message Authentication, Reporting, and
// Conformance (DMARC, RFC 9989, which obsoletes RFC 7489 and RFC 9091): policy record
// parsing (section 4.7, 4.8), the DNS Tree Walk (section 4.10) for policy discovery
// (4.10.1) and Organizational Domain determination (4.10.2), identifier alignment
// (4.4) and the pass/fail verdict with the policy that applies (5.3).
//
// No Public Suffix List is used: RFC 9989 replaced it with the tree walk. Reporting
// (rua, ruf; RFC 9990, RFC 9991) is out of scope; the URIs are only parsed.
package dmarc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"golang.org/x/net/idna"

	"github.com/mailwarden/mailwarden/internal/dnsx"
)

// Status is the DMARC result, named as in RFC 8601 section 2.7.7.
type Status string

// Results.
const (
	StatusPass      Status = "pass"      // an authenticated identifier is aligned with the Author Domain
	StatusFail      Status = "fail"      // a policy record applies and nothing aligned
	StatusNone      Status = "none"      // no DMARC Policy Record applies: DMARC is not applied
	StatusTemperror Status = "temperror" // a DNS lookup failed temporarily; retry later
	StatusPermerror Status = "permerror" // the Author Domain is not a usable domain name
)

// Evaluation errors, found wrapped in Result.Detail's cause and in OrgDomain errors.
var (
	ErrDNS             = errors.New("dmarc: dns lookup failed")
	ErrMultipleRecords = errors.New("dmarc: multiple dmarc records")
	ErrBadDomain       = errors.New("dmarc: invalid domain name")
)

// maxLabels is the DNS Tree Walk's shortcut (RFC 9989 section 4.10 step 4): after the
// first query, names are shortened to at most seven labels, so no walk makes more
// than eight queries.
const maxLabels = 8

// Input is what DMARC evaluation needs about one message.
type Input struct {
	// FromDomain is the RFC5322.From domain (the Author Domain, section 3.2.2).
	FromDomain string
	// SPFResult is the SPF result (RFC 8601 name) for the MAIL FROM identity; only
	// "pass" produces an SPF-Authenticated Identifier (section 4.4.2).
	SPFResult string
	// SPFDomain is the domain SPF checked: the MAIL FROM domain, or the HELO domain
	// for the null sender (RFC 7208 section 2.4).
	SPFDomain string
	// DKIMDomains are the d= domains of the DKIM signatures that passed (section 4.4.1).
	DKIMDomains []string
}

// Result is the outcome of DMARC for one message.
type Result struct {
	Status Status
	// Domain is the Author Domain, lowercased, in A-label form.
	Domain string
	// OrgDomain is the Organizational Domain of Domain (section 4.10.2).
	OrgDomain string
	// PolicyDomain is where the applicable record was found (section 3.2.5).
	PolicyDomain string
	// Record is the text of the applicable DMARC Policy Record.
	Record string
	// Policy is the published policy applying to Domain: p when PolicyDomain is
	// Domain, otherwise sp for an existing and np for a non-existent subdomain, each
	// defaulting as section 4.7 says. "" when no record applies.
	Policy Policy
	// Applied is the policy to apply when Status is fail: Policy, lowered one level
	// (reject to quarantine, quarantine to none) when the record has t=y.
	Applied Policy
	// Testing is set when the record has t=y (section 4.7, Appendix A.6).
	Testing bool
	// NonExistent is set when Domain was found not to exist (section 3.2.13) and np
	// was therefore the tag consulted.
	NonExistent bool

	SPFAligned  bool
	DKIMAligned bool
	// SPFAlignedDomain and DKIMAlignedDomain are the authenticated identifiers that
	// aligned, "" when none did.
	SPFAlignedDomain  string
	DKIMAlignedDomain string
	ASPF              Alignment
	ADKIM             Alignment
	// Detail explains the result for an analyst.
	Detail string
}

// Evaluate applies DMARC (RFC 9989 section 5.3) to one message. It never fails:
// temporary DNS errors give temperror, an unusable Author Domain permerror.
func Evaluate(ctx context.Context, r dnsx.Resolver, in Input) Result {
	w := newWalker(r)
	res := Result{Status: StatusNone}

	// Section 5.3.1: extract the Author Domain, as an A-label.
	if strings.TrimSpace(in.FromDomain) == "" {
		res.Detail = "no RFC5322.From domain"
		return res
	}
	author, err := normalize(in.FromDomain)
	if err != nil {
		res.Status = StatusPermerror
		res.Domain = strings.ToLower(in.FromDomain)
		res.Detail = err.Error()
		return res
	}
	res.Domain = author

	// Section 4.10.1: policy discovery, starting at the Author Domain.
	own, err := w.lookup(ctx, author)
	if err != nil {
		return temperror(res, err)
	}
	if own.count > 1 {
		// A multi-record set at the Author Domain ends discovery: falling back to the
		// Organizational Domain would apply its (possibly weaker) policy to a domain
		// whose owner published something else.
		res.Detail = fmt.Sprintf("%v at _dmarc.%s: DMARC not applied", ErrMultipleRecords, author)
		return res
	}
	walk, err := w.walk(ctx, author)
	if err != nil {
		return temperror(res, err)
	}
	res.OrgDomain = walk.org

	var rec *Record
	var recText string
	switch {
	case own.record != nil:
		res.PolicyDomain, rec, recText = author, own.record, own.text
	case walk.orgRecord != nil:
		res.PolicyDomain, rec, recText = walk.org, walk.orgRecord, walk.orgText
	case walk.psdRecord != nil:
		res.PolicyDomain, rec, recText = walk.psd, walk.psdRecord, walk.psdText
	default:
		res.Detail = "no DMARC policy record for " + author + " or its organizational domain"
		return res
	}
	res.Record = recText
	if !rec.PolicyUsable() {
		if len(rec.RUA) == 0 {
			res.Detail = fmt.Sprintf("record at _dmarc.%s has no valid p (or an invalid sp/np) and no valid rua: DMARC not applied", res.PolicyDomain)
			return res
		}
		// Act as if "p=none" was published (section 4.10.1).
		rec = &Record{Policy: PolicyNone, ADKIM: rec.ADKIM, ASPF: rec.ASPF, PSD: rec.PSD, Testing: rec.Testing, RUA: rec.RUA, RUF: rec.RUF}
	}
	res.ADKIM, res.ASPF, res.Testing = rec.ADKIM, rec.ASPF, rec.Testing

	var notes []string
	if res.PolicyDomain == author {
		res.Policy = rec.Policy
	} else {
		exists, err := w.exists(ctx, author)
		if err != nil {
			notes = append(notes, "existence of "+author+" unknown ("+err.Error()+"), treated as existing")
		}
		res.Policy = rec.Policy
		if rec.SubdomainPolicy != "" {
			res.Policy = rec.SubdomainPolicy
		}
		if !exists {
			res.NonExistent = true
			if rec.NonexistentPolicy != "" {
				res.Policy = rec.NonexistentPolicy
			}
		}
	}
	res.Applied = res.Policy
	if rec.Testing {
		res.Applied = lower(res.Policy)
	}

	// Section 4.4 and 4.10.2: identifier alignment.
	var dnsErr error
	aligned := func(id string, mode Alignment) bool {
		d, err := normalize(id)
		if err != nil {
			return false
		}
		if d == author {
			return true
		}
		if mode == AlignStrict {
			return false
		}
		org, err := w.orgDomain(ctx, d)
		if err != nil {
			dnsErr = err
			return false
		}
		return org == res.OrgDomain
	}
	if strings.EqualFold(in.SPFResult, "pass") && in.SPFDomain != "" && aligned(in.SPFDomain, rec.ASPF) {
		res.SPFAligned, res.SPFAlignedDomain = true, strings.ToLower(in.SPFDomain)
	}
	for _, d := range in.DKIMDomains {
		if aligned(d, rec.ADKIM) {
			res.DKIMAligned, res.DKIMAlignedDomain = true, strings.ToLower(d)
			break
		}
	}

	switch {
	case res.SPFAligned || res.DKIMAligned:
		res.Status = StatusPass
	case dnsErr != nil:
		// Section 5.3.6: a required query did not complete, neither pass nor fail.
		res.Status = StatusTemperror
		notes = append(notes, dnsErr.Error())
	default:
		res.Status = StatusFail
	}
	res.Detail = detail(res, notes)
	return res
}

func detail(res Result, notes []string) string {
	var s string
	switch res.Status {
	case StatusPass:
		var via []string
		if res.SPFAligned {
			via = append(via, "spf "+res.SPFAlignedDomain+" aspf="+string(res.ASPF))
		}
		if res.DKIMAligned {
			via = append(via, "dkim "+res.DKIMAlignedDomain+" adkim="+string(res.ADKIM))
		}
		s = "aligned: " + strings.Join(via, ", ")
	case StatusFail:
		s = "no aligned authenticated identifier"
	default:
		s = "alignment not determined"
	}
	s += fmt.Sprintf("; policy %s from _dmarc.%s", res.Policy, res.PolicyDomain)
	if res.Testing {
		s += fmt.Sprintf(" (t=y: apply %s)", res.Applied)
	}
	if res.NonExistent {
		s += "; author domain does not exist"
	}
	for _, n := range notes {
		s += "; " + n
	}
	return s
}

func temperror(res Result, err error) Result {
	res.Status = StatusTemperror
	res.Detail = err.Error()
	return res
}

// lower lowers a policy one level for t=y (RFC 9989 section 4.7, tag t).
func lower(p Policy) Policy {
	switch p {
	case PolicyReject:
		return PolicyQuarantine
	case PolicyQuarantine:
		return PolicyNone
	}
	return p
}

// OrgDomain determines the Organizational Domain of domain with the DNS Tree Walk
// (RFC 9989 section 4.10.2). The error wraps ErrDNS when a lookup failed temporarily
// and ErrBadDomain when domain is not a domain name.
func OrgDomain(ctx context.Context, r dnsx.Resolver, domain string) (string, error) {
	d, err := normalize(domain)
	if err != nil {
		return "", err
	}
	return newWalker(r).orgDomain(ctx, d)
}

// normalize lowercases a domain, drops a trailing dot and converts U-labels to
// A-labels (RFC 9989 section 5.3.1).
func normalize(domain string) (string, error) {
	d := strings.TrimSuffix(strings.TrimSpace(domain), ".")
	if d == "" {
		return "", fmt.Errorf("%w: empty", ErrBadDomain)
	}
	a, err := idna.Lookup.ToASCII(d)
	if err != nil {
		// Underscores and other characters that IDNA lookup rejects occur in real
		// DNS names; accept them as long as the labels are sane.
		a = strings.ToLower(d)
	}
	a = strings.ToLower(a)
	if len(a) > 253 {
		return "", fmt.Errorf("%w: %q too long", ErrBadDomain, domain)
	}
	for _, l := range strings.Split(a, ".") {
		if l == "" || len(l) > 63 || strings.ContainsAny(l, " \t\r\n@;,\"\\()<>[]:") {
			return "", fmt.Errorf("%w: %q", ErrBadDomain, domain)
		}
	}
	return a, nil
}

// lookupResult is the DMARC record set at one name.
type lookupResult struct {
	record *Record // the single valid record, nil when none or several
	text   string
	count  int // number of valid DMARC records
}

// walker performs the lookups of one evaluation, asking the DNS at most once per
// name.
type walker struct {
	r     dnsx.Resolver
	cache map[string]lookupResult
	walks map[string]walkResult
}

func newWalker(r dnsx.Resolver) *walker {
	return &walker{r: r, cache: map[string]lookupResult{}, walks: map[string]walkResult{}}
}

// lookup queries _dmarc.domain and keeps the DMARC records (section 4.10 steps 1-2).
func (w *walker) lookup(ctx context.Context, domain string) (lookupResult, error) {
	if lr, ok := w.cache[domain]; ok {
		return lr, nil
	}
	txts, err := w.r.LookupTXT(ctx, "_dmarc."+domain)
	if err != nil && !isNotFound(err) {
		return lookupResult{}, fmt.Errorf("%w: _dmarc.%s: %w", ErrDNS, domain, err)
	}
	var lr lookupResult
	for _, txt := range txts {
		rec, err := Parse(txt)
		if err != nil {
			continue // not a DMARC record
		}
		lr.count++
		lr.record, lr.text = rec, txt
	}
	if lr.count != 1 {
		lr.record, lr.text = nil, ""
	}
	w.cache[domain] = lr
	return lr, nil
}

// walkResult is what one DNS Tree Walk found.
type walkResult struct {
	org       string
	orgRecord *Record // record at org, nil if none
	orgText   string
	psd       string // domain with the psd=y record that ended the walk, if any
	psdRecord *Record
	psdText   string
}

// walk performs the DNS Tree Walk from start (section 4.10) and selects the
// Organizational Domain (section 4.10.2).
func (w *walker) walk(ctx context.Context, start string) (walkResult, error) {
	if wr, ok := w.walks[start]; ok {
		return wr, nil
	}
	labels := strings.Split(start, ".")
	type found struct {
		domain string
		lr     lookupResult
	}
	var records []found
	target := labels
	for len(target) > 0 {
		domain := strings.Join(target, ".")
		lr, err := w.lookup(ctx, domain)
		if err != nil {
			return walkResult{}, err
		}
		if lr.record != nil {
			records = append(records, found{domain, lr})
			if lr.record.PSD == PSDYes || lr.record.PSD == PSDNo {
				break // steps 2 and 6
			}
		}
		// Steps 4 and 7: drop one label, but from a long name jump to seven labels.
		if len(target) == len(labels) && len(target) >= maxLabels {
			target = target[len(target)-(maxLabels-1):]
		} else {
			target = target[1:]
		}
	}

	var wr walkResult
	for _, f := range records { // longest to shortest
		if f.lr.record.PSD == PSDNo {
			wr.org = f.domain
			break
		}
		if f.lr.record.PSD == PSDYes && f.domain != start {
			n := strings.Count(f.domain, ".") + 2
			wr.org = strings.Join(labels[len(labels)-n:], ".")
			wr.psd, wr.psdRecord, wr.psdText = f.domain, f.lr.record, f.lr.text
			break
		}
	}
	if wr.org == "" {
		if len(records) > 0 {
			wr.org = records[len(records)-1].domain // fewest labels
		} else {
			wr.org = start
		}
	}
	for _, f := range records {
		if f.domain == wr.org {
			wr.orgRecord, wr.orgText = f.lr.record, f.lr.text
		}
	}
	w.walks[start] = wr
	return wr, nil
}

func (w *walker) orgDomain(ctx context.Context, domain string) (string, error) {
	wr, err := w.walk(ctx, domain)
	return wr.org, err
}

// exists tells whether a domain exists for np (RFC 9989 section 3.2.13, Appendix
// A.4): a domain exists when any resource record is at or below its name, and does
// not when a query for it answers NXDOMAIN (RFC 8020). A resolver that reports
// NXDOMAIN and NODATA apart (dnsx.IsNXDomain, dnsx.IsNoData) decides with one
// query. Through one that cannot (the system resolver), the name is asked for the
// types mail uses (A/AAAA, MX, TXT) and counts as non-existent when none has data.
func (w *walker) exists(ctx context.Context, domain string) (bool, error) {
	var tempErr error
	// decided reports whether one answer settles existence, and how.
	decided := func(n int, err error) (exists, ok bool) {
		switch {
		case err == nil:
			return n > 0, n > 0
		case dnsx.IsNoData(err):
			return true, true
		case dnsx.IsNXDomain(err):
			return false, true
		case !isNotFound(err):
			tempErr = err
		}
		return false, false
	}
	ips, err := w.r.LookupIPAddr(ctx, domain)
	if e, ok := decided(len(ips), err); ok {
		return e, nil
	}
	mxs, err := w.r.LookupMX(ctx, domain)
	if e, ok := decided(len(mxs), err); ok {
		return e, nil
	}
	txts, err := w.r.LookupTXT(ctx, domain)
	if e, ok := decided(len(txts), err); ok {
		return e, nil
	}
	if tempErr != nil {
		return true, fmt.Errorf("%w: %s: %w", ErrDNS, domain, tempErr)
	}
	return false, nil
}

func isNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}
