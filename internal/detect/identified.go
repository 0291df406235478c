package detect

import (
	"net/url"
	"slices"
	"strings"

	"github.com/mailwarden/mailwarden/internal/auth"
	"github.com/mailwarden/mailwarden/internal/message"
)

// identifiedMailer reports whether a message comes from a sender that stands
// behind it, and that sender's organisation: the envelope sender and every
// Reply-To are in the From organisation, the mail offers a way out on that
// organisation (a visible unsubscribe link in the body, or List-Unsubscribe),
// and no authentication check failed. Such commercial mail is graymail, BULK
// rather than SPAM (DESIGN.md: "legitimate-looking marketing"); a spammer hides
// behind forged or throwaway identities and gives no working way out. Phishing
// and spoofing are judged as before: this only chooses between SPAM and BULK.
func identifiedMailer(m *message.Message, a auth.Result) (string, bool) {
	org := registrable(m.From.Domain())
	if org == "" || a.EnvelopeFromDomain == "" || a.EnvelopeMismatch || a.ReplyToMismatch {
		return "", false
	}
	if a.SPF.Result == auth.ResultFail || a.SPF.Result == auth.ResultSoftfail || a.DMARC.Result == auth.ResultFail {
		return "", false
	}
	for _, r := range m.ReplyTo {
		if registrable(r.Domain()) != org {
			return "", false
		}
	}
	for _, l := range m.Links {
		if isUnsubLink(l) && !l.Hidden && !l.Image && registrable(l.Host) == org {
			return org, true
		}
	}
	for _, part := range strings.Split(header(m, "List-Unsubscribe"), ",") {
		u, err := url.Parse(strings.Trim(strings.TrimSpace(part), "<>"))
		if err != nil {
			continue
		}
		host := u.Hostname()
		if strings.EqualFold(u.Scheme, "mailto") {
			addr, _, _ := strings.Cut(u.Opaque, "?")
			host = message.Address{Addr: addr}.Domain()
		}
		if host != "" && registrable(strings.ToLower(host)) == org {
			return org, true
		}
	}
	return "", false
}

// coherentSender reports whether the From display name names the From
// organisation ("Log Cabin Kits" <info@logcabinkits.com>, "Marriott Bonvoy"
// <x@email.marriott.com>) and every link and Reply-To stays on that
// organisation: the mail says who it is from, and leads nowhere else. Phishing
// names someone else than its sending domain, or leads somewhere else than the
// one it names. When the From is authenticated the links are not asked about:
// the organisation vouches for its mail, and where its newsletter's
// advertisements or its mail provider's click tracker lead is its choice (a
// forged From is what the link check guards against). Returns the organisation.
func coherentSender(m *message.Message, p *Policy, authed bool) (string, bool) {
	org := registrable(m.From.Domain())
	label, _ := splitRegistrable(org)
	label = strings.ReplaceAll(label, "-", "")
	if len(label) < 3 || (len(m.Links) == 0 && !authed) || !namesLabel(m.From.Name, label) {
		return "", false
	}
	owns := func(host string) bool { return registrable(host) == org }
	if !repliesConfined(m, p, owns) || (!authed && !linksConfined(m, p, owns)) {
		return "", false
	}
	return org, true
}

// namesLabel reports whether some run of consecutive words of name, joined,
// is label, or is label without a mail affix ("Log Cabin Kits" names
// logcabinkits, "Autodesk" autodeskcommunications; "Billing Dept" does not name ing).
func namesLabel(name, label string) bool {
	words := strings.FieldsFunc(strings.ToLower(name), func(r rune) bool {
		return !('a' <= r && r <= 'z' || '0' <= r && r <= '9')
	})
	for i := range words {
		s := ""
		for j := i; j < len(words) && len(s) < len(label); j++ {
			s += words[j]
			if s == label {
				return true
			}
			if rest, ok := strings.CutPrefix(label, s); ok && mailAffix[rest] {
				return true
			}
		}
	}
	return false
}

// mailAffix are the words organisations add to their name for a mail or group
// domain (autodeskcommunications.com, swb-gruppe.de): "Autodesk" names the first.
// Not lure words (security, login, verify, support): those are look-alikes.
var mailAffix = map[string]bool{"mail": true, "email": true, "news": true, "newsletter": true, "communications": true, "comms": true, "group": true, "gruppe": true, "groep": true, "online": true}

// toRecipient reports a mailto link to one of the message's recipients: a
// notice showing whom it is for ("sent to ja***@example.com"), not a place the
// mail leads to. Masked addresses count when their visible ends match.
func toRecipient(m *message.Message, l message.Link) bool {
	addr, ok := strings.CutPrefix(strings.ToLower(strings.TrimSpace(l.Href)), "mailto:")
	if !ok {
		return false
	}
	addr, _, _ = strings.Cut(addr, "?")
	local, dom, ok := strings.Cut(addr, "@")
	if !ok {
		return false
	}
	for _, r := range slices.Concat(m.To, m.Cc) {
		rl, rd, _ := strings.Cut(strings.ToLower(r.Addr), "@")
		if rd != dom {
			continue
		}
		if rl == local {
			return true
		}
		if head, tail, masked := strings.Cut(local, "*"); masked && head != "" &&
			strings.HasPrefix(rl, head) && strings.HasSuffix(rl, strings.TrimLeft(tail, "*")) {
			return true
		}
	}
	return false
}

// recipientSide reports a link that leads to the recipient's own side, not to
// the sender's or anyone else's: a mailto to a recipient (toRecipient), a page
// in the organisation's protected domains, or its own Microsoft 365 tenant
// (acme-corp.com's acmecorp.sharepoint.com and acmecorp-my.sharepoint.com: a
// tenant name is unique, an attacker cannot take the organisation's).
func recipientSide(m *message.Message, p *Policy, l message.Link, host string) bool {
	if toRecipient(m, l) {
		return true
	}
	if host == "" {
		return false
	}
	if p.isProtected(host) {
		return true
	}
	tenant, ok := strings.CutSuffix(host, ".sharepoint.com")
	if !ok || strings.Contains(tenant, ".") {
		return false
	}
	tenant = strings.TrimSuffix(tenant, "-my")
	for _, d := range p.protectedDomains() {
		label, _ := splitRegistrable(registrable(d))
		if label != "" && strings.ReplaceAll(label, "-", "") == tenant {
			return true
		}
	}
	return false
}
