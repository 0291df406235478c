package dmarc

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Policy is a Domain Owner Assessment Policy (RFC 9989 section 4.7, tags p, sp, np).
type Policy string

// Policies.
const (
	PolicyNone       Policy = "none"       // no expression of preference
	PolicyQuarantine Policy = "quarantine" // failing mail is suspicious
	PolicyReject     Policy = "reject"     // failing mail is not a valid use of the domain
)

// Alignment is an identifier alignment mode (RFC 9989 section 4.7, tags adkim and aspf).
type Alignment string

// Alignment modes.
const (
	AlignRelaxed Alignment = "r" // same Organizational Domain (section 3.2.10.1)
	AlignStrict  Alignment = "s" // identical domains (section 3.2.10.2)
)

// PSD is the value of the psd tag (RFC 9989 section 4.7).
type PSD string

// PSD values.
const (
	PSDYes     PSD = "y" // the domain is a Public Suffix Domain
	PSDNo      PSD = "n" // the domain is an Organizational Domain for itself and below
	PSDUnknown PSD = "u" // default: decided by the DNS Tree Walk (section 4.10)
)

// Record parsing errors. A TXT record for which Parse returns one of these is not a
// DMARC Policy Record and is discarded (RFC 9989 section 4.10 step 2).
var (
	ErrNotDMARC   = errors.New("dmarc: not a dmarc record (first tag is not v)")
	ErrBadVersion = errors.New("dmarc: version is not exactly DMARC1")
)

// Record is a parsed DMARC Policy Record (RFC 9989 section 4.7, ABNF in 4.8).
//
// Unknown tags, including the removed pct, rf and ri (Appendix C.5.2), are ignored
// as section 4.7 requires ("Unknown tags MUST be ignored"). Syntax errors in the
// values of adkim, aspf, psd and t fall back to the defaults (section 4.8). Invalid
// p, sp or np values are kept apart in Invalid because section 4.10.1 gives them a
// meaning of their own.
type Record struct {
	Policy            Policy    // p; "" when absent or invalid
	SubdomainPolicy   Policy    // sp; "" when absent or invalid
	NonexistentPolicy Policy    // np; "" when absent or invalid
	ADKIM             Alignment // adkim, default r
	ASPF              Alignment // aspf, default r
	PSD               PSD       // psd, default u
	Testing           bool      // t=y
	RUA               []string  // rua: syntactically valid URIs only, nil if none
	RUF               []string  // ruf: syntactically valid URIs only, nil if none
	FO                string    // fo, as written (lowercased); "" when absent
	// Invalid names the policy tags (p, sp, np) present with a value that is not
	// none, quarantine or reject, in record order.
	Invalid []string
}

// PolicyUsable reports whether the record has a valid p and no invalid sp or np.
// When it does not, RFC 9989 section 4.10.1 says to act as if p=none was published
// when the record has at least one valid rua URI, and not to apply DMARC otherwise.
func (r *Record) PolicyUsable() bool {
	return r.Policy != "" && len(r.Invalid) == 0
}

// Parse parses the text of one TXT record (its character-strings already
// concatenated, RFC 9989 section 4.5). It fails only when the record does not start
// with exactly "v=DMARC1"; every other syntax problem is tolerated as section 4.8
// requires.
func Parse(txt string) (*Record, error) {
	parts := strings.Split(txt, ";")
	name, value, ok := splitTag(parts[0])
	if !ok || name != "v" {
		return nil, ErrNotDMARC
	}
	if value != "DMARC1" { // case sensitive, section 4.7
		return nil, fmt.Errorf("%w: %q", ErrBadVersion, value)
	}
	r := &Record{ADKIM: AlignRelaxed, ASPF: AlignRelaxed, PSD: PSDUnknown}
	seen := map[string]bool{"v": true}
	for _, part := range parts[1:] {
		name, value, ok := splitTag(part)
		if !ok || value == "" || seen[name] {
			// Malformed tag, empty value or a repeated tag: a syntax error,
			// ignored (section 4.8). The first occurrence of a tag wins.
			continue
		}
		seen[name] = true
		lv := strings.ToLower(value) // ABNF literals are case-insensitive (RFC 5234 2.3)
		switch name {
		case "p", "sp", "np":
			p, ok := parsePolicy(lv)
			if !ok {
				r.Invalid = append(r.Invalid, name)
				continue
			}
			switch name {
			case "p":
				r.Policy = p
			case "sp":
				r.SubdomainPolicy = p
			default:
				r.NonexistentPolicy = p
			}
		case "adkim", "aspf":
			if lv != "r" && lv != "s" {
				continue
			}
			if name == "adkim" {
				r.ADKIM = Alignment(lv)
			} else {
				r.ASPF = Alignment(lv)
			}
		case "psd":
			if lv == "y" || lv == "n" || lv == "u" {
				r.PSD = PSD(lv)
			}
		case "t":
			if lv == "y" || lv == "n" {
				r.Testing = lv == "y"
			}
		case "rua":
			r.RUA = parseURIs(value)
		case "ruf":
			r.RUF = parseURIs(value)
		case "fo":
			r.FO = lv
		}
	}
	return r, nil
}

// splitTag splits "name = value" (section 4.8: equals = *WSP "=" *WSP) into a
// lowercased name and a trimmed value.
func splitTag(s string) (name, value string, ok bool) {
	name, value, ok = strings.Cut(s, "=")
	if !ok {
		return "", "", false
	}
	name = strings.ToLower(strings.Trim(name, " \t\r\n"))
	if name == "" {
		return "", "", false
	}
	for _, c := range name {
		if c < 'a' || c > 'z' {
			return "", "", false
		}
	}
	return name, strings.Trim(value, " \t\r\n"), true
}

func parsePolicy(s string) (Policy, bool) {
	switch p := Policy(s); p {
	case PolicyNone, PolicyQuarantine, PolicyReject:
		return p, true
	}
	return "", false
}

// parseURIs keeps the syntactically valid URIs of a dmarc-urilist (section 4.8): an
// absolute URI, optionally with the obsolete "!size" suffix, which is dropped.
func parseURIs(s string) []string {
	var l []string
	for _, u := range strings.Split(s, ",") {
		u = strings.Trim(u, " \t")
		if i := strings.LastIndexByte(u, '!'); i >= 0 && reportSize(u[i+1:]) {
			u = u[:i] // obs-dmarc-report-size
		}
		if strings.ContainsAny(u, "! \t") {
			continue // "!" must be encoded inside a dmarc-uri
		}
		pu, err := url.Parse(u)
		if err != nil || pu.Scheme == "" || (pu.Opaque == "" && pu.Host == "" && pu.Path == "") {
			continue
		}
		l = append(l, u)
	}
	return l
}

// reportSize matches obs-dmarc-report-size after the "!": 1*DIGIT [ "k" / "m" / "g" / "t" ].
func reportSize(s string) bool {
	s = strings.TrimRight(strings.ToLower(s), "kmgt")
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// String formats the record in a canonical form that Parse reads back to an equal
// Record. Defaults are left out; invalid policy tags are written as "tag=invalid".
func (r *Record) String() string {
	var b strings.Builder
	b.WriteString("v=DMARC1")
	add := func(name, value string) {
		if value != "" {
			b.WriteString("; " + name + "=" + value)
		}
	}
	add("p", string(r.Policy))
	add("sp", string(r.SubdomainPolicy))
	add("np", string(r.NonexistentPolicy))
	for _, name := range r.Invalid {
		add(name, "invalid")
	}
	if r.ADKIM == AlignStrict {
		add("adkim", "s")
	}
	if r.ASPF == AlignStrict {
		add("aspf", "s")
	}
	if r.PSD != PSDUnknown && r.PSD != "" {
		add("psd", string(r.PSD))
	}
	if r.Testing {
		add("t", "y")
	}
	add("rua", strings.Join(r.RUA, ","))
	add("ruf", strings.Join(r.RUF, ","))
	add("fo", r.FO)
	return b.String()
}
