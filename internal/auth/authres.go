package auth

import (
	"bytes"
	"strings"

	"github.com/emersion/go-msgauth/authres"
)

// ValidationStatus is one authentication verdict in the Cloudflare Email Security
// API's validation object.
type ValidationStatus string

// Validation statuses.
const (
	ValidationPass    ValidationStatus = "pass"
	ValidationNeutral ValidationStatus = "neutral"
	ValidationFail    ValidationStatus = "fail"
	ValidationError   ValidationStatus = "error"
	ValidationNone    ValidationStatus = "none"
)

// Validation is the Cloudflare-shaped summary of SPF (MAIL FROM), DKIM and DMARC.
type Validation struct {
	SPF   ValidationStatus `json:"spf"`
	DKIM  ValidationStatus `json:"dkim"`
	DMARC ValidationStatus `json:"dmarc"`
}

// Validation maps the results to Cloudflare's enum: softfail and policy become
// fail, temperror and permerror error. DKIM is DKIMSummary.
func (r Result) Validation() Validation {
	return Validation{
		SPF:   validationOf(r.SPF.Result),
		DKIM:  validationOf(r.DKIMSummary()),
		DMARC: validationOf(r.DMARC.Result),
	}
}

func validationOf(result string) ValidationStatus {
	switch result {
	case ResultPass:
		return ValidationPass
	case ResultNeutral:
		return ValidationNeutral
	case ResultFail, ResultSoftfail, ResultPolicy:
		return ValidationFail
	case ResultTemperror, ResultPermerror:
		return ValidationError
	}
	return ValidationNone
}

// Header returns the value of an Authentication-Results header field (RFC 8601)
// for r under c.AuthServID: spf for MAIL FROM and for HELO, one dkim per
// signature, and dmarc.
func (c *Checker) Header(r Result) string {
	var results []authres.Result
	mailFrom := r.EnvelopeFromDomain
	if mailFrom == "" {
		mailFrom = r.SPF.Domain // null sender: postmaster@HELO (RFC 7208 2.4)
	}
	results = append(results, &authres.SPFResult{
		Value: authres.ResultValue(r.SPF.Result), Reason: reason(r.SPF.Detail), From: mailFrom,
	})
	if r.SPFHelo.Domain != "" {
		results = append(results, &authres.SPFResult{
			Value: authres.ResultValue(r.SPFHelo.Result), Reason: reason(r.SPFHelo.Detail), Helo: r.SPFHelo.Domain,
		})
	}
	if len(r.DKIM) == 0 {
		results = append(results, &authres.DKIMResult{Value: authres.ResultNone})
	}
	for _, d := range r.DKIM {
		// header.s and header.a are registered ptypes (RFC 8601 section 2.7.1).
		results = append(results, &authres.GenericResult{
			Method: "dkim",
			Value:  authres.ResultValue(d.Result),
			Params: map[string]string{
				"reason": reason(d.Detail), "header.d": d.Domain, "header.i": d.Identity,
				"header.s": d.Selector, "header.a": d.Algorithm,
			},
		})
	}
	results = append(results, &authres.DMARCResult{
		Value: authres.ResultValue(r.DMARC.Result), Reason: reason(dmarcReason(r.DMARC)), From: r.HeaderFromDomain,
	})
	return authres.Format(c.AuthServID, results)
}

// reason makes text safe for a reason= value: one line, no ";" (which naive
// parsers, go-msgauth's among them, take for a result separator even when quoted).
func reason(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == ';':
			return ','
		case r < ' ' || r == 0x7f:
			return ' '
		}
		return r
	}, s)
}

func dmarcReason(d DMARCResult) string {
	if d.Policy == "" {
		return d.Detail
	}
	s := "p=" + d.Policy
	if d.Applied != d.Policy {
		s += " applied=" + d.Applied
	}
	return s + "; " + d.Detail
}

// StripOwnAuthResults removes the Authentication-Results header fields whose
// authserv-id is authServID, compared case-insensitively (RFC 8601 section 5: a
// receiver must remove or rename such fields arriving from outside, lest they be
// taken for its own). Every other byte of the message is kept as it was.
func StripOwnAuthResults(raw []byte, authServID string) []byte {
	var out []byte
	rest := raw
	dropping := false
	changed := false
	for len(rest) > 0 {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line = rest[:i+1]
		}
		rest = rest[len(line):]
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			// End of the header section: the rest is copied as is.
			out = append(out, line...)
			out = append(out, rest...)
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if !dropping {
				out = append(out, line...)
			}
			continue
		}
		dropping = false
		name, value, ok := bytes.Cut(line, []byte(":"))
		if ok && strings.EqualFold(string(bytes.TrimRight(name, " \t")), "Authentication-Results") {
			// The authserv-id may be folded onto the next line.
			full := string(value)
			for r := rest; len(r) > 0 && (r[0] == ' ' || r[0] == '\t'); {
				l := r
				if i := bytes.IndexByte(r, '\n'); i >= 0 {
					l = r[:i+1]
				}
				full += string(l)
				r = r[len(l):]
			}
			if id := authServIDOf(full); id != "" && strings.EqualFold(id, authServID) {
				dropping, changed = true, true
				continue
			}
		}
		out = append(out, line...)
	}
	if !changed {
		return raw
	}
	return out
}

// IsOwnAuthResults reports whether an Authentication-Results field value (what
// follows the colon) names authServID as its authserv-id: a field
// StripOwnAuthResults would remove.
func IsOwnAuthResults(value, authServID string) bool {
	id := authServIDOf(value)
	return id != "" && strings.EqualFold(id, authServID)
}

// authServIDOf returns the authserv-id at the start of an Authentication-Results
// value (RFC 8601 section 2.2: [CFWS] authserv-id, a value: token or
// quoted-string).
func authServIDOf(v string) string {
	v = skipCFWS(v)
	if strings.HasPrefix(v, `"`) {
		var b strings.Builder
		for i := 1; i < len(v); i++ {
			switch v[i] {
			case '\\':
				if i+1 < len(v) {
					i++
					b.WriteByte(v[i])
				}
			case '"':
				return b.String()
			default:
				b.WriteByte(v[i])
			}
		}
		return ""
	}
	end := strings.IndexAny(v, " \t\r\n;()")
	if end < 0 {
		end = len(v)
	}
	return v[:end]
}

// skipCFWS skips whitespace, line folds and (nested) comments.
func skipCFWS(v string) string {
	depth := 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case c == '\\' && depth > 0:
			i++
		case depth > 0, c == ' ', c == '\t', c == '\r', c == '\n':
		default:
			return v[i:]
		}
	}
	return ""
}
