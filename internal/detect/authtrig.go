package detect

import (
	"fmt"
	"strings"

	"github.com/mailwarden/mailwarden/internal/auth"
	"github.com/mailwarden/mailwarden/internal/message"
)

// authTriggers turns authentication results into spoof triggers.
func authTriggers(m *message.Message, a auth.Result, p *Policy, authed bool) []Trigger {
	var out []Trigger
	switch a.SPF.Result {
	case auth.ResultFail:
		out = append(out, Trigger{Name: TrigSPFFail, Score: scoreSPFFail, Category: CatSpoof, Field: "Return-Path", Portion: a.SPF.Domain,
			Detail: "SPF fail for " + a.SPF.Domain + detailSuffix(a.SPF.Detail)})
	case auth.ResultSoftfail:
		out = append(out, Trigger{Name: TrigSPFFail, Score: scoreSPFSoftfail, Category: CatSpoof, Field: "Return-Path", Portion: a.SPF.Domain,
			Detail: "SPF softfail for " + a.SPF.Domain + detailSuffix(a.SPF.Detail)})
	}
	if len(a.DKIM) > 0 {
		if s := a.DKIMSummary(); s == auth.ResultFail || s == auth.ResultPermerror {
			k := a.DKIM[0]
			out = append(out, Trigger{Name: TrigDKIMFail, Score: scoreDKIMFail, Category: CatSpoof, Field: "DKIM-Signature", Portion: k.Domain,
				Detail: fmt.Sprintf("DKIM %s for d=%s s=%s%s", s, k.Domain, k.Selector, detailSuffix(k.Detail))})
		}
	}
	if a.DMARC.Result == auth.ResultFail {
		policy := strings.ToLower(a.DMARC.Policy)
		applied := strings.ToLower(a.DMARC.Applied)
		if applied == "" {
			applied = policy
		}
		name, score := TrigDMARCFailNone, scoreDMARCFailNone
		switch policy {
		case "reject":
			name = TrigDMARCFailReject
		case "quarantine":
			name = TrigDMARCFailQuarantine
		}
		switch applied {
		case "reject":
			score = scoreDMARCFailReject
		case "quarantine":
			score = scoreDMARCFailQuarantine
		}
		detail := fmt.Sprintf("From domain %s fails DMARC; published policy p=%s", a.DMARC.Domain, orNone(policy))
		if a.DMARC.Testing {
			detail += " in testing (t=y), applied " + orNone(applied)
		}
		detail += fmt.Sprintf(" (SPF aligned: %s, DKIM aligned: %s)", yesNo(a.DMARC.SPFAligned), yesNo(a.DMARC.DKIMAligned))
		if list := listRelay(m, a); list != "" && score > scoreDMARCFailNone {
			score = scoreDMARCFailNone
			detail += "; relayed by mailing list " + list + " which authenticated, not counted as impersonation"
		}
		out = append(out, Trigger{Name: name, Score: score, Category: CatSpoof, Field: "From", Portion: a.DMARC.Domain, Detail: detail})
	}
	if a.EnvelopeMismatch {
		out = append(out, Trigger{Name: TrigHeaderEnvelopeMismatch, Score: scoreEnvelopeMismatch, Category: CatSpoof, Field: "Return-Path", Portion: a.EnvelopeFromDomain,
			Detail: "envelope sender domain " + a.EnvelopeFromDomain + " is not in the organisation of header From " + a.HeaderFromDomain})
	}
	from := m.From.Domain()
	if from != "" && !authed && isOwnDomain(p, from) && a.DMARC.Result != auth.ResultTemperror && a.SPF.Result != auth.ResultTemperror {
		out = append(out, Trigger{Name: TrigProtectedDomainUnauthent, Score: scoreProtectedUnauth, Category: CatSpoof, Field: "From", Portion: m.From.Addr,
			Detail: "From claims the organisation's domain " + from + " but neither DMARC, SPF nor DKIM authenticates it"})
	}
	return out
}

// isOwnDomain reports whether domain is one of p.ProtectedDomains or under one.
func isOwnDomain(p *Policy, domain string) bool {
	for _, d := range p.ProtectedDomains {
		d = strings.ToLower(strings.TrimSuffix(d, "."))
		if d != "" && (domain == d || strings.HasSuffix(domain, "."+d)) {
			return true
		}
	}
	return false
}

// listRelay returns the mailing list that relayed m when the list's own domain
// authenticated the message (a passing DKIM signature or SPF pass for the list's
// organisation), "" otherwise. Lists that do not rewrite From break the author's
// DMARC; that is not impersonation.
func listRelay(m *message.Message, a auth.Result) string {
	id := header(m, "List-Id")
	if id == "" {
		return ""
	}
	if i := strings.LastIndexByte(id, '<'); i >= 0 {
		id = strings.TrimSuffix(strings.TrimSpace(id[i+1:]), ">")
	}
	id = strings.ToLower(strings.TrimSpace(id))
	org := ""
	// List-Id is "name.domain"; its registrable domain is the list host's organisation.
	if parts := strings.Split(id, "."); len(parts) >= 2 {
		org = registrable(id)
	}
	if org == "" {
		return ""
	}
	for _, k := range a.DKIM {
		if k.Result == auth.ResultPass && registrable(k.Domain) == org {
			return id
		}
	}
	if a.SPF.Result == auth.ResultPass && registrable(a.SPF.Domain) == org {
		return id
	}
	return ""
}

func detailSuffix(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
