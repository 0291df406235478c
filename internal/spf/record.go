package spf

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Errors returned by ParseRecord. Each is wrapped with the offending term.
var (
	// ErrNotSPF: the text does not start with "v=spf1" followed by a space or
	// the end (RFC 7208 4.5); such TXT records are not SPF records.
	ErrNotSPF = errors.New("spf: not an spf record")
	// ErrSyntax: the record violates the ABNF of RFC 7208 section 12.
	ErrSyntax = errors.New("spf: syntax error")
)

// Qualifier is the result a matching directive yields (RFC 7208 4.6.2).
type Qualifier byte

// Qualifiers.
const (
	QualifierPass     Qualifier = '+'
	QualifierFail     Qualifier = '-'
	QualifierSoftfail Qualifier = '~'
	QualifierNeutral  Qualifier = '?'
)

func (q Qualifier) status() Status {
	switch q {
	case QualifierFail:
		return StatusFail
	case QualifierSoftfail:
		return StatusSoftfail
	case QualifierNeutral:
		return StatusNeutral
	}
	return StatusPass
}

// Directive is a qualified mechanism (RFC 7208 4.6.1, 5).
type Directive struct {
	Qualifier Qualifier
	// Mechanism is lower case: all, include, a, mx, ptr, ip4, ip6 or exists.
	Mechanism string
	// DomainSpec is the unexpanded domain-spec (RFC 7208 7.1), "" if absent.
	DomainSpec string
	// Network for ip4 and ip6.
	Network *net.IPNet
	// IP4CIDR and IP6CIDR are the prefix lengths of a and mx; -1 if absent.
	IP4CIDR, IP6CIDR int
}

// String formats the directive as in a record, omitting the default "+".
func (d Directive) String() string {
	var b strings.Builder
	if d.Qualifier != QualifierPass {
		b.WriteByte(byte(d.Qualifier))
	}
	b.WriteString(d.Mechanism)
	switch {
	case d.Network != nil:
		b.WriteString(":" + d.Network.String())
	case d.DomainSpec != "":
		b.WriteString(":" + d.DomainSpec)
	}
	if d.IP4CIDR >= 0 {
		fmt.Fprintf(&b, "/%d", d.IP4CIDR)
	}
	if d.IP6CIDR >= 0 {
		fmt.Fprintf(&b, "//%d", d.IP6CIDR)
	}
	return b.String()
}

// Modifier is a name=value term other than redirect and exp (RFC 7208 6).
type Modifier struct {
	Name  string // as written
	Value string // unexpanded macro-string
}

// Record is a parsed SPF record (RFC 7208 4.5, 12).
type Record struct {
	Directives []Directive
	// Redirect and Explanation are the unexpanded domain-specs of the redirect=
	// and exp= modifiers (RFC 7208 6.1, 6.2), "" if absent.
	Redirect, Explanation string
	// Other holds unknown modifiers, which are checked for syntax and ignored
	// (RFC 7208 6).
	Other []Modifier
}

// IsSPF reports whether a TXT record's text claims to be an SPF version 1
// record: "v=spf1" (in any case) followed by a space or the end (RFC 7208 4.5).
func IsSPF(txt string) bool {
	return len(txt) >= 6 && strings.EqualFold(txt[:6], "v=spf1") && (len(txt) == 6 || txt[6] == ' ')
}

// ParseRecord parses an SPF record, checking all of it against the ABNF of RFC
// 7208 section 12, including the macro syntax of domain-specs (section 7.1), so
// that a record with an error anywhere is rejected before any evaluation
// (section 4.6).
func ParseRecord(txt string) (*Record, error) {
	if !IsSPF(txt) {
		return nil, ErrNotSPF
	}
	r := &Record{}
	for _, term := range strings.Split(txt[6:], " ") {
		if term == "" {
			continue // 1*SP between terms, *SP at the end
		}
		if err := r.addTerm(term); err != nil {
			return nil, fmt.Errorf("%w: %q: %s", ErrSyntax, term, err)
		}
	}
	return r, nil
}

func (r *Record) addTerm(term string) error {
	for i := 0; i < len(term); i++ {
		if term[i] < 0x21 || term[i] > 0x7e {
			return fmt.Errorf("character %q not allowed", term[i]) // RFC 7208 3.1, 4.6.1
		}
	}
	// modifier = name "=" ...; name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )
	if i := strings.IndexByte(term, '='); i > 0 && isName(term[:i]) {
		name, value := term[:i], term[i+1:]
		switch strings.ToLower(name) {
		case "redirect", "exp":
			if err := checkDomainSpec(value); err != nil {
				return err
			}
			p := &r.Redirect
			if strings.EqualFold(name, "exp") {
				p = &r.Explanation
			}
			if *p != "" {
				return errors.New("modifier appears more than once") // RFC 7208 6
			}
			*p = value
		default:
			if _, err := parseMacroString(value, false); err != nil {
				return err
			}
			r.Other = append(r.Other, Modifier{name, value})
		}
		return nil
	}

	d := Directive{Qualifier: QualifierPass, IP4CIDR: -1, IP6CIDR: -1}
	switch term[0] {
	case '+', '-', '~', '?':
		d.Qualifier = Qualifier(term[0])
		term = term[1:]
	}
	n := strings.IndexAny(term, ":/")
	if n < 0 {
		n = len(term)
	}
	d.Mechanism, term = strings.ToLower(term[:n]), term[n:]
	var err error
	switch d.Mechanism {
	case "all":
		if term != "" {
			err = errors.New("all takes no arguments")
		}
	case "include", "exists":
		if !strings.HasPrefix(term, ":") {
			err = errors.New("domain-spec required")
		} else {
			d.DomainSpec = term[1:]
			err = checkDomainSpec(d.DomainSpec)
		}
	case "ptr":
		if term != "" {
			if !strings.HasPrefix(term, ":") {
				err = errors.New("bad argument")
			} else {
				d.DomainSpec = term[1:]
				err = checkDomainSpec(d.DomainSpec)
			}
		}
	case "a", "mx":
		var rest string
		rest, d.IP4CIDR, d.IP6CIDR, err = splitDualCIDR(term)
		if err == nil && rest != "" {
			if !strings.HasPrefix(rest, ":") {
				err = errors.New("bad argument")
			} else {
				d.DomainSpec = rest[1:]
				err = checkDomainSpec(d.DomainSpec)
			}
		}
	case "ip4", "ip6":
		d.Network, err = parseNetwork(d.Mechanism, term)
	default:
		err = errors.New("unknown mechanism")
	}
	if err != nil {
		return err
	}
	r.Directives = append(r.Directives, d)
	return nil
}

func isName(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlpha(c) && !isDigit(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// cidrLength parses the digits of a cidr-length: "0" or a number without
// leading zero of at most 3 digits, no more than max.
func cidrLength(s string, max int) (int, bool) {
	if s == "" || len(s) > 3 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
	}
	n, _ := strconv.Atoi(s)
	return n, n <= max
}

// splitDualCIDR splits [ ":" domain-spec ] [ dual-cidr-length ] (RFC 7208 5.3,
// 5.4). A cidr suffix is taken from the end: "/" followed by digits only.
func splitDualCIDR(s string) (rest string, v4, v6 int, err error) {
	v4, v6 = -1, -1
	if i := strings.LastIndex(s, "//"); i >= 0 && allDigits(s[i+2:]) {
		n, ok := cidrLength(s[i+2:], 128)
		if !ok {
			return "", 0, 0, errors.New("bad ip6-cidr-length")
		}
		v6, s = n, s[:i]
	}
	if i := strings.LastIndexByte(s, '/'); i >= 0 && allDigits(s[i+1:]) {
		n, ok := cidrLength(s[i+1:], 32)
		if !ok {
			return "", 0, 0, errors.New("bad ip4-cidr-length")
		}
		v4, s = n, s[:i]
	}
	if strings.HasSuffix(s, "/") {
		return "", 0, 0, errors.New("bad cidr-length")
	}
	return s, v4, v6, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// parseNetwork parses ":" ip4-network [ ip4-cidr-length ] or its ip6 form
// (RFC 7208 5.6).
func parseNetwork(mech, s string) (*net.IPNet, error) {
	if !strings.HasPrefix(s, ":") {
		return nil, errors.New("network required")
	}
	s = s[1:]
	bits, max := 32, 32
	if mech == "ip6" {
		bits, max = 128, 128
	}
	if i := strings.IndexByte(s, '/'); i >= 0 {
		n, ok := cidrLength(s[i+1:], max)
		if !ok {
			return nil, errors.New("bad cidr-length")
		}
		bits, s = n, s[:i]
	}
	var ip net.IP
	if mech == "ip4" {
		ip = parseIP4Network(s)
	} else if strings.Contains(s, ":") {
		ip = net.ParseIP(s)
	}
	if ip == nil {
		return nil, fmt.Errorf("bad %s-network", mech)
	}
	if mech == "ip4" {
		ip = ip.To4()
	}
	return &net.IPNet{IP: ip.Mask(net.CIDRMask(bits, max)), Mask: net.CIDRMask(bits, max)}, nil
}

// parseIP4Network parses qnum "." qnum "." qnum "." qnum: decimal 0-255 without
// leading zeros.
func parseIP4Network(s string) net.IP {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return nil
	}
	var b [4]byte
	for i, p := range parts {
		n, ok := cidrLength(p, 255)
		if !ok {
			return nil
		}
		b[i] = byte(n)
	}
	return net.IPv4(b[0], b[1], b[2], b[3]).To4()
}

// checkDomainSpec checks domain-spec = macro-string domain-end, with
// domain-end = ( "." toplabel [ "." ] ) / macro-expand (RFC 7208 7.1, 12).
func checkDomainSpec(s string) error {
	toks, err := parseMacroString(s, false)
	if err != nil {
		return err
	}
	if len(toks) == 0 {
		return errors.New("empty domain-spec")
	}
	last := toks[len(toks)-1]
	if last.letter != 0 || last.escape {
		return nil // ends in a macro-expand
	}
	lit := last.lit
	lit = strings.TrimSuffix(lit, ".")
	i := strings.LastIndexByte(lit, '.')
	if i < 0 {
		return errors.New("domain-spec must end in . toplabel")
	}
	if !isTopLabel(lit[i+1:]) {
		return fmt.Errorf("bad toplabel %q", lit[i+1:])
	}
	return nil
}

// isTopLabel: toplabel = ( *alphanum ALPHA *alphanum ) /
// ( 1*alphanum "-" *( alphanum / "-" ) alphanum ).
func isTopLabel(s string) bool {
	if s == "" {
		return false
	}
	alpha, dash := false, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isAlpha(c):
			alpha = true
		case isDigit(c):
		case c == '-':
			dash = true
		default:
			return false
		}
	}
	if dash {
		return s[0] != '-' && s[len(s)-1] != '-'
	}
	return alpha
}
