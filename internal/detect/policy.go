package detect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"
)

// PatternType says what an allow or block pattern is matched against.
type PatternType string

const (
	PatternEmail  PatternType = "EMAIL"  // the From address (and envelope sender), case-insensitive
	PatternDomain PatternType = "DOMAIN" // the From domain or any subdomain of it (and the envelope domain)
	PatternIP     PatternType = "IP"     // the connecting client IP: an address or CIDR, or a regex on its text
)

// Executive is a person whose name attackers borrow (display-name impersonation).
// An entry of the impersonation registry has the same shape.
type Executive struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// AllowPolicy is an allow entry (Cloudflare "allow policies").
type AllowPolicy struct {
	Pattern     string      `json:"pattern"`
	PatternType PatternType `json:"pattern_type"`
	IsRegex     bool        `json:"is_regex"`
	// IsAcceptableSender exempts matching senders from SPAM, SPOOF and BULK; phishing
	// detection still applies.
	IsAcceptableSender bool `json:"is_acceptable_sender"`
	// IsTrustedSender bypasses all detection for matching senders: NONE.
	IsTrustedSender bool `json:"is_trusted_sender"`
	// IsExemptRecipient bypasses all detection for mail to matching recipients.
	IsExemptRecipient bool `json:"is_exempt_recipient"`
	// VerifySender applies the entry only when the sender is authenticated (DMARC
	// pass, or SPF or DKIM passing for the From domain), so a forged From cannot use it.
	VerifySender bool `json:"verify_sender"`
}

// BlockSender is a block entry: matching senders are MALICIOUS.
type BlockSender struct {
	Pattern     string      `json:"pattern"`
	PatternType PatternType `json:"pattern_type"`
	IsRegex     bool        `json:"is_regex"`
}

// TrustedDomain is a domain the organisation deals with (Cloudflare "trusted domains").
type TrustedDomain struct {
	Pattern string `json:"pattern"`
	IsRegex bool   `json:"is_regex"`
	// IsRecent exempts the domain from newly-registered-domain detection. Detection
	// has no domain-age signal yet, so it changes nothing today.
	IsRecent bool `json:"is_recent"`
	// IsSimilarity exempts the domain from lookalike_domain: it resembles a
	// protected domain on purpose (a partner, a sister brand).
	IsSimilarity bool `json:"is_similarity"`
}

// Policy is an account's detection policy: who it protects and whom it trusts.
// The zero value is a valid, empty policy.
type Policy struct {
	// AccountID selects the account's content model in the Bayes scorer.
	AccountID int64 `json:"account_id,omitempty"`
	// ProtectedDomains are the organisation's own domains: lookalikes of them are
	// phishing, and mail claiming them must authenticate.
	ProtectedDomains []string `json:"protected_domains"`
	// Executives are people whose names from outside addresses are impersonation.
	Executives []Executive `json:"executives"`
	// ImpersonationRegistry are further names/addresses to protect the same way
	// (Cloudflare "impersonation registry"); their domains are also protected
	// against lookalikes.
	ImpersonationRegistry []Executive     `json:"impersonation_registry,omitempty"`
	AllowPolicies         []AllowPolicy   `json:"allow_policies,omitempty"`
	BlockSenders          []BlockSender   `json:"block_senders,omitempty"`
	TrustedDomains        []TrustedDomain `json:"trusted_domains,omitempty"`
	// SenderHistory looks up what the organisation's mail store knows of a
	// sender address: its earlier messages and how they were judged. Nil when no
	// history is kept (an offline scan): every sender's history is then unknown,
	// which counts as weaker evidence than a first-time sender.
	SenderHistory func(ctx context.Context, addr string) (SenderHistory, error) `json:"-"`
}

// SenderHistory is a sender address's earlier mail to the organisation.
type SenderHistory struct {
	Messages int       // earlier messages From the address (the most recent, up to a cap)
	Clean    int       // of them, judged or reclassified NONE or BULK
	First    time.Time // when the earliest of them arrived
}

// history returns the sender history of addr; ok is false when none is kept or
// the lookup failed (the sender is then of unknown history).
func (p *Policy) history(ctx context.Context, addr string) (h SenderHistory, ok bool) {
	if p == nil || p.SenderHistory == nil || addr == "" {
		return h, false
	}
	h, err := p.SenderHistory(ctx, strings.ToLower(addr))
	return h, err == nil
}

// ErrOrgFile is returned (wrapped) for an unreadable or invalid organisation file.
var ErrOrgFile = errors.New("detect: bad organisation file")

// LoadOrgFile reads an organisation file, JSON of the form
//
//	{"protected_domains": ["example.com"], "executives": [{"name": "Jane Doe", "email": "jane@example.com"}]}
//
// Further Policy fields (allow_policies, block_senders, trusted_domains,
// impersonation_registry) are accepted in their JSON names.
func LoadOrgFile(path string) (*Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOrgFile, err)
	}
	var p Policy
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrOrgFile, path, err)
	}
	for i, d := range p.ProtectedDomains {
		p.ProtectedDomains[i] = strings.ToLower(strings.TrimSpace(strings.TrimSuffix(d, ".")))
	}
	return &p, nil
}

// protectedDomains returns the protected domains plus the registry's and the
// executives' e-mail domains, lowercased and unique.
func (p *Policy) protectedDomains() []string {
	if p == nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	add := func(d string) {
		d = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), "."))
		if d == "" || seen[d] {
			return
		}
		seen[d] = true
		out = append(out, d)
	}
	for _, d := range p.ProtectedDomains {
		add(d)
	}
	for _, e := range p.ImpersonationRegistry {
		add(domainOf(e.Email))
	}
	for _, e := range p.Executives {
		add(domainOf(e.Email))
	}
	return out
}

// isProtected reports whether domain is a protected domain or a subdomain of one.
func (p *Policy) isProtected(domain string) bool {
	for _, d := range p.protectedDomains() {
		if domain == d || strings.HasSuffix(domain, "."+d) {
			return true
		}
	}
	return false
}

// regexCache keeps compiled policy regexes; patterns come from account settings
// and repeat on every message.
var regexCache sync.Map // string -> *regexp.Regexp (nil for invalid)

func compiled(pattern string) *regexp.Regexp {
	if v, ok := regexCache.Load(pattern); ok {
		re, _ := v.(*regexp.Regexp)
		return re
	}
	re, err := regexp.Compile("(?i)" + pattern)
	if err != nil {
		re = nil
	}
	regexCache.Store(pattern, re)
	return re
}

// sender is what allow/block patterns match.
type sender struct {
	addr     string // From address, lowercased
	domain   string // From domain
	envAddr  string // envelope domain (auth.Result.EnvelopeFromDomain)
	clientIP net.IP
}

// matchPattern matches one policy pattern against a value; for DOMAIN subdomains
// match too, for IP a CIDR or address.
func matchPattern(pattern string, typ PatternType, isRegex bool, s sender) bool {
	pattern = strings.TrimSpace(pattern)
	if pattern == "" {
		return false
	}
	var values []string
	switch strings.ToUpper(string(typ)) {
	case string(PatternEmail):
		values = []string{s.addr}
	case string(PatternDomain):
		values = []string{s.domain, s.envAddr}
	case string(PatternIP):
		if s.clientIP == nil {
			return false
		}
		if isRegex {
			re := compiled(pattern)
			return re != nil && re.MatchString(s.clientIP.String())
		}
		if _, n, err := net.ParseCIDR(pattern); err == nil {
			return n.Contains(s.clientIP)
		}
		ip := net.ParseIP(pattern)
		return ip != nil && ip.Equal(s.clientIP)
	default:
		return false
	}
	for _, v := range values {
		if v == "" {
			continue
		}
		if isRegex {
			if re := compiled(pattern); re != nil && re.MatchString(v) {
				return true
			}
			continue
		}
		p := strings.ToLower(pattern)
		if typ == PatternDomain {
			p = strings.TrimPrefix(strings.TrimSuffix(p, "."), "*.")
			if v == p || strings.HasSuffix(v, "."+p) {
				return true
			}
		} else if v == p {
			return true
		}
	}
	return false
}

// matchRecipient matches an EMAIL or DOMAIN pattern against a recipient address.
func matchRecipient(pattern string, typ PatternType, isRegex bool, addr string) bool {
	return matchPattern(pattern, typ, isRegex, sender{addr: addr, domain: domainOf(addr)})
}

// trustedSimilar reports whether domain is a trusted domain exempt from lookalike detection.
func (p *Policy) trustedSimilar(domain string) bool {
	if p == nil {
		return false
	}
	for _, t := range p.TrustedDomains {
		if !t.IsSimilarity {
			continue
		}
		if matchPattern(t.Pattern, PatternDomain, t.IsRegex, sender{domain: domain}) {
			return true
		}
	}
	return false
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.ToLower(addr[i+1:])
	}
	return ""
}
