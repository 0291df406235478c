package message

import (
	"net"
	"strings"
)

// Envelope reconstructs the SMTP envelope from the message's own headers, for
// offline scans: MailFrom from Return-Path (RFC 5321 section 4.4), "" for the
// null path <>; Helo and ClientIP from the "from" clause of the topmost Received
// field (RFC 5321 section 4.4, in the layouts of Postfix, Sendmail, Exim, qmail,
// Exchange and Gmail) whose client address is public. Received fields from
// loopback or private addresses (local delivery, fetchmail, internal relays) are
// passed over; when no field has a public address the topmost one with an
// address is used.
func (m *Message) Envelope() Envelope {
	var e Envelope
	if rp := m.Header("Return-Path"); rp != "" {
		addr := stripAngle(rp)
		if i := strings.IndexAny(addr, " \t,"); i >= 0 {
			addr = addr[:i]
		}
		e.MailFrom = lowerDomain(addr)
	}
	var first *Envelope
	for _, h := range m.Headers {
		if !strings.EqualFold(h.Name, "Received") {
			continue
		}
		helo, ip := parseReceived(h.Value)
		if ip == nil {
			continue
		}
		if !ip.IsLoopback() && !ip.IsPrivate() && !ip.IsUnspecified() && !ip.IsLinkLocalUnicast() {
			e.Helo, e.ClientIP = helo, ip
			return e
		}
		if first == nil {
			first = &Envelope{Helo: helo, ClientIP: ip}
		}
	}
	if first != nil {
		e.Helo, e.ClientIP = first.Helo, first.ClientIP
	}
	return e
}

// parseReceived reads the "from" clause of a Received field value:
//
//	Postfix/Sendmail: from HELO (RDNS [IP]) by ...
//	Exim:             from RDNS ([IP]:PORT helo=HELO) by ...  |  from [IP] (helo=HELO) by ...
//	qmail:            from RDNS (HELO HELO) (IP) by ...
//	Exchange:         from HELO (IP) by ...
//	Gmail:            from HELO (RDNS. [IP]) by ...
func parseReceived(v string) (helo string, ip net.IP) {
	v = strings.TrimSpace(v)
	if len(v) < 5 || !strings.EqualFold(v[:5], "from ") {
		return "", nil
	}
	clause := v[5:]
	lc := strings.ToLower(clause)
	if i := strings.Index(lc, " by "); i >= 0 {
		clause, lc = clause[:i], lc[:i]
	} else if i := strings.Index(lc, ")by "); i >= 0 {
		clause, lc = clause[:i+1], lc[:i+1]
	} else if i := strings.IndexByte(lc, ';'); i >= 0 {
		clause, lc = clause[:i], lc[:i]
	}
	clause = strings.TrimSpace(clause)
	lc = strings.ToLower(clause)
	tok := clause
	if i := strings.IndexAny(tok, " \t("); i >= 0 {
		tok = tok[:i]
	}
	helo = strings.ToLower(tok)
	for _, marker := range []string{"helo=", "(helo ", "(ehlo "} {
		if i := strings.Index(lc, marker); i >= 0 {
			rest := strings.TrimSpace(clause[i+len(marker):])
			if j := strings.IndexAny(rest, " \t)"); j >= 0 {
				rest = rest[:j]
			}
			if rest != "" {
				helo = strings.ToLower(rest)
			}
			break
		}
	}
	// An address literal in brackets comes first.
	for s := clause; ; {
		i := strings.IndexByte(s, '[')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], ']')
		if j < 0 {
			break
		}
		if ip = parseIPToken(s[i+1 : i+j]); ip != nil {
			return helo, ip
		}
		s = s[i+j:]
	}
	// Otherwise a bare address among the words (Exchange, qmail).
	for _, w := range strings.FieldsFunc(clause, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '(' || r == ')' || r == '[' || r == ']' || r == ',' || r == '='
	}) {
		if ip = parseIPToken(w); ip != nil {
			return helo, ip
		}
	}
	return helo, nil
}

// parseIPToken parses "1.2.3.4", "IPv6:2001:db8::1", "1.2.3.4:25" and trailing dots.
func parseIPToken(s string) net.IP {
	s = strings.TrimSpace(strings.TrimSuffix(s, "."))
	if len(s) >= 5 && strings.EqualFold(s[:5], "ipv6:") {
		s = s[5:]
	}
	if ip := net.ParseIP(s); ip != nil {
		return ip
	}
	if i := strings.LastIndexByte(s, ':'); i > 0 && strings.Count(s, ":") == 1 {
		return net.ParseIP(s[:i])
	}
	return nil
}
