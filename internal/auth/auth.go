// Package auth runs the sender authentication checks of one message: SPF (RFC 7208)
// for the MAIL FROM and HELO identities, every DKIM signature (RFC 6376, RFC 8463,
// RFC 8301) and DMARC (RFC 9989), and exposes the identity comparisons detection
// needs (envelope From vs header From, Reply-To vs From). It writes the RFC 8601
// Authentication-Results header for delivered mail.
package auth

import (
	"context"
	"net"
	"strings"

	"github.com/mailwarden/mailwarden/internal/dkim"
	"github.com/mailwarden/mailwarden/internal/dmarc"
	"github.com/mailwarden/mailwarden/internal/dnsx"
	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/internal/spf"
)

// Input is what authentication needs to know about one message.
type Input struct {
	ClientIP net.IP // connecting client; nil when unknown (offline scan without --client-ip)
	Helo     string // HELO/EHLO name
	MailFrom string // envelope sender (RFC 5321 MAIL FROM), "" for the null sender
	// Raw is the message as received; line endings may be LF only (normalised before DKIM).
	Raw []byte
	// HeaderFrom is the RFC 5322.From address (addr-spec), "" when missing or unparseable.
	HeaderFrom string
	// ReplyTo is the first Reply-To address, "" when none.
	ReplyTo string
}

// Result values as RFC 8601 names them.
const (
	ResultPass      = "pass"
	ResultFail      = "fail"
	ResultSoftfail  = "softfail"
	ResultNeutral   = "neutral"
	ResultNone      = "none"
	ResultTemperror = "temperror"
	ResultPermerror = "permerror"
	ResultPolicy    = "policy"
)

// SPFResult is the outcome of SPF for one identity.
type SPFResult struct {
	Result string `json:"result"`           // RFC 8601 name
	Domain string `json:"domain,omitempty"` // the domain checked (MAIL FROM domain or HELO)
	Detail string `json:"detail,omitempty"` // why, for an analyst (the mechanism matched, the error)
}

// DKIMResult is the outcome of one DKIM-Signature header.
type DKIMResult struct {
	Result    string `json:"result"` // RFC 8601 name
	Domain    string `json:"domain,omitempty"`
	Selector  string `json:"selector,omitempty"`
	Algorithm string `json:"algorithm,omitempty"`
	Identity  string `json:"identity,omitempty"` // i=
	Detail    string `json:"detail,omitempty"`
}

// DMARCResult is the outcome of DMARC (RFC 9989) for the RFC 5322.From domain.
type DMARCResult struct {
	Result       string `json:"result"`                  // pass, fail, none, temperror, permerror
	Domain       string `json:"domain,omitempty"`        // RFC 5322.From domain
	OrgDomain    string `json:"org_domain,omitempty"`    // organizational domain found by the tree walk
	PolicyDomain string `json:"policy_domain,omitempty"` // where the record was found
	Policy       string `json:"policy,omitempty"`        // published policy that applies to Domain: none, quarantine, reject
	Applied      string `json:"applied,omitempty"`       // policy to apply after t=y testing: none, quarantine, reject
	Testing      bool   `json:"testing,omitempty"`       // t=y
	SPFAligned   bool   `json:"spf_aligned"`
	DKIMAligned  bool   `json:"dkim_aligned"`
	ASPF         string `json:"aspf,omitempty"` // r or s
	ADKIM        string `json:"adkim,omitempty"`
	Detail       string `json:"detail,omitempty"`
}

// Result is everything authentication found about one message.
type Result struct {
	SPF     SPFResult    `json:"spf"`
	SPFHelo SPFResult    `json:"spf_helo"`
	DKIM    []DKIMResult `json:"dkim"`
	DMARC   DMARCResult  `json:"dmarc"`

	HeaderFromDomain   string `json:"header_from_domain,omitempty"`
	EnvelopeFromDomain string `json:"envelope_from_domain,omitempty"`
	ReplyToDomain      string `json:"reply_to_domain,omitempty"`
	// EnvelopeMismatch: envelope From and header From have different organizational domains.
	EnvelopeMismatch bool `json:"envelope_mismatch"`
	// ReplyToMismatch: Reply-To is in another organizational domain than From.
	ReplyToMismatch bool `json:"reply_to_mismatch"`
}

// DKIMSummary is the single DKIM result for a summary: pass if any signature passed,
// otherwise the first signature's result, none without signatures.
func (r Result) DKIMSummary() string {
	if len(r.DKIM) == 0 {
		return ResultNone
	}
	for _, d := range r.DKIM {
		if d.Result == ResultPass {
			return ResultPass
		}
	}
	return r.DKIM[0].Result
}

// Checker runs authentication against one resolver.
type Checker struct {
	Resolver dnsx.Resolver
	// AuthServID is our authserv-id in Authentication-Results (RFC 8601 section 2.5).
	AuthServID string
}

// Check authenticates one message. It never fails: DNS problems become temperror
// and broken records permerror, as the RFCs say.
func (c *Checker) Check(ctx context.Context, in Input) Result {
	res := Result{
		HeaderFromDomain:   domainOf(in.HeaderFrom),
		EnvelopeFromDomain: domainOf(strings.TrimSuffix(strings.TrimPrefix(in.MailFrom, "<"), ">")),
		ReplyToDomain:      domainOf(in.ReplyTo),
	}

	// SPF (RFC 7208) for MAIL FROM (section 2.4) and HELO (section 2.3).
	var mailFromSPF spf.Result
	if in.ClientIP == nil {
		res.SPF = SPFResult{Result: ResultNone, Domain: spfDomain(in), Detail: "client ip unknown, spf not checked"}
		res.SPFHelo = SPFResult{Result: ResultNone, Domain: strings.ToLower(in.Helo), Detail: "client ip unknown, spf not checked"}
	} else {
		mailFromSPF = spf.Check(ctx, c.Resolver, in.ClientIP, in.Helo, in.MailFrom)
		res.SPF = SPFResult{Result: string(mailFromSPF.Result), Domain: strings.ToLower(mailFromSPF.Domain), Detail: mailFromSPF.Detail}
		if in.Helo != "" {
			h := spf.CheckHelo(ctx, c.Resolver, in.ClientIP, in.Helo)
			res.SPFHelo = SPFResult{Result: string(h.Result), Domain: strings.ToLower(h.Domain), Detail: h.Detail}
		} else {
			res.SPFHelo = SPFResult{Result: ResultNone, Detail: "no helo name"}
		}
	}

	// DKIM (RFC 6376, RFC 8463, RFC 8301): every signature.
	var passDomains []string
	for _, d := range dkim.Verify(ctx, c.Resolver, in.Raw) {
		res.DKIM = append(res.DKIM, DKIMResult{
			Result: string(d.Status), Domain: d.Domain, Selector: d.Selector,
			Algorithm: d.Algorithm, Identity: d.Identity, Detail: d.Detail,
		})
		if d.Status == dkim.StatusPass {
			passDomains = append(passDomains, d.Domain)
		}
	}

	// DMARC (RFC 9989) for the RFC5322.From domain.
	dm := dmarc.Evaluate(ctx, c.Resolver, dmarc.Input{
		FromDomain:  res.HeaderFromDomain,
		SPFResult:   res.SPF.Result,
		SPFDomain:   res.SPF.Domain,
		DKIMDomains: passDomains,
	})
	res.DMARC = DMARCResult{
		Result: string(dm.Status), Domain: dm.Domain, OrgDomain: dm.OrgDomain, PolicyDomain: dm.PolicyDomain,
		Policy: string(dm.Policy), Applied: string(dm.Applied), Testing: dm.Testing,
		SPFAligned: dm.SPFAligned, DKIMAligned: dm.DKIMAligned,
		ASPF: string(dm.ASPF), ADKIM: string(dm.ADKIM), Detail: dm.Detail,
	}

	// Identity comparisons by Organizational Domain (RFC 9989 section 4.10.2).
	orgs := map[string]string{}
	res.EnvelopeMismatch = res.EnvelopeFromDomain != "" && res.HeaderFromDomain != "" &&
		!c.sameOrg(ctx, orgs, res.EnvelopeFromDomain, res.HeaderFromDomain)
	res.ReplyToMismatch = res.ReplyToDomain != "" && res.HeaderFromDomain != "" &&
		!c.sameOrg(ctx, orgs, res.ReplyToDomain, res.HeaderFromDomain)
	return res
}

// spfDomain is the domain SPF would check for MAIL FROM: its domain, or HELO for
// the null sender (RFC 7208 section 2.4).
func spfDomain(in Input) string {
	if d := domainOf(strings.TrimSuffix(strings.TrimPrefix(in.MailFrom, "<"), ">")); d != "" {
		return d
	}
	return strings.ToLower(in.Helo)
}

// sameOrg reports whether two domains belong to one organization: their
// Organizational Domains (DMARC tree walk) are equal, or one domain is at or below
// the other's Organizational Domain. The second rule keeps domains without any
// DMARC record (whose Organizational Domain is the domain itself) from looking
// foreign to their parent: bounces.example.com and example.com are the same
// organization. When the walk found no DMARC record for either domain (each is its
// own Organizational Domain), the public suffix list decides: ntls.example.com and
// ntls1.example.com are one organization whether or not example.com publishes
// DMARC. This is for identity comparisons only; DMARC alignment itself uses the
// tree walk alone. When the walk fails (DNS error) the domains themselves stand in.
func (c *Checker) sameOrg(ctx context.Context, cache map[string]string, a, b string) bool {
	org := func(d string) string {
		if o, ok := cache[d]; ok {
			return o
		}
		o, err := dmarc.OrgDomain(ctx, c.Resolver, d)
		if err != nil {
			o = d
		}
		cache[d] = o
		return o
	}
	oa, ob := org(a), org(b)
	if oa == ob || under(a, ob) || under(b, oa) {
		return true
	}
	return oa == a && ob == b && message.Registrable(a) == message.Registrable(b)
}

// under reports whether d is domain or a subdomain of it.
func under(d, domain string) bool {
	return d == domain || strings.HasSuffix(d, "."+domain)
}

// domainOf returns the lowercased domain of an address, without a trailing dot.
func domainOf(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(addr[i+1:])), ".")
}
