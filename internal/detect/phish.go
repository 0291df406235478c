package detect

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/mailwarden/mailwarden/internal/auth"
	"github.com/mailwarden/mailwarden/internal/message"
)

// freemail are consumer mailbox providers: a Reply-To there from a company
// domain diverts replies out of any organisation's control.
var freemail = map[string]bool{
	"gmail.com": true, "googlemail.com": true, "outlook.com": true, "hotmail.com": true, "live.com": true,
	"msn.com": true, "yahoo.com": true, "ymail.com": true, "aol.com": true, "icloud.com": true, "me.com": true,
	"mail.com": true, "gmx.com": true, "gmx.net": true, "gmx.de": true, "web.de": true, "proton.me": true,
	"protonmail.com": true, "zoho.com": true, "yandex.com": true, "yandex.ru": true, "mail.ru": true,
	"qq.com": true, "163.com": true, "126.com": true, "tutanota.com": true, "hotmail.co.uk": true,
	"yahoo.co.uk": true, "outlook.fr": true, "hotmail.fr": true, "libero.it": true, "rediffmail.com": true,
}

func isFreemail(domain string) bool { return freemail[registrable(domain)] }

// privacyRelays are forwarding and alias services that rewrite From to an alias
// of their own and show the original sender's address in the display name
// ("sender@example.com [via Relay]" <x@mozmail.com>). For mail through them a
// shown address is the service's documented format, not a disguise.
var privacyRelays = map[string]bool{
	"mozmail.com": true, "duck.com": true, "simplelogin.co": true, "simplelogin.com": true, "slmail.me": true,
	"anonaddy.me": true, "anonaddy.com": true, "addy.io": true, "privaterelay.appleid.com": true,
	"sneakemail.com": true, "spamgourmet.com": true, "33mail.com": true,
}

func isPrivacyRelay(domain string) bool {
	return privacyRelays[registrable(domain)] || privacyRelays[strings.ToLower(domain)]
}

// phishTriggers checks the sender identity: lookalike domains, display-name
// impersonation and diverted replies.
func phishTriggers(m *message.Message, a auth.Result, p *Policy) []Trigger {
	var out []Trigger
	prot := p.protectedDomains()
	check := func(field, portion, host string, score float64) bool {
		if host == "" || p.trustedSimilar(host) || p.isProtected(host) {
			return false
		}
		for _, d := range prot {
			if how, ok := lookalikeOf(host, d); ok {
				out = append(out, Trigger{Name: TrigLookalikeDomain, Score: score, Category: CatPhish, Field: field, Portion: portion,
					Detail: fmt.Sprintf("%s domain %s imitates %s: %s", field, host, d, how)})
				return true
			}
		}
		return false
	}
	if len(prot) > 0 {
		if !check("From", m.From.Addr, m.From.Domain(), scoreLookalikeFrom) {
			fired := false
			for _, r := range m.ReplyTo {
				if !fired {
					fired = check("Reply-To", r.Addr, r.Domain(), scoreLookalikeFrom)
				}
			}
			if !fired && a.EnvelopeFromDomain != "" {
				check("Return-Path", a.EnvelopeFromDomain, strings.ToLower(a.EnvelopeFromDomain), scoreLookalikeLink)
			}
		}
		for i, l := range m.Links {
			if i >= maxLinks {
				break
			}
			if check("link", l.Href, linkHost(l), scoreLookalikeLink) {
				break
			}
		}
	}
	out = append(out, displayNameTriggers(m, p)...)
	if !hasTrigger(out, TrigDisplayNameImperson) {
		out = append(out, brandImpersonation(m, p)...)
	}
	if !brandNotice(m, authenticated(m, a)) {
		out = append(out, replyToTriggers(m, a, p)...)
	}
	out = append(out, freeHostingSender(m)...)
	return out
}

// freeHostingSender: the From address is on a tenant's subdomain of a free web
// or app hosting platform (x.firebaseapp.com, x.herokuapp.com, x.ddns.net), a
// name anyone can create in a minute. Apps do send their own notices from such
// names (Firebase's default sender), so the trigger is soft: it needs the
// content model or another indicator to make a verdict.
func freeHostingSender(m *message.Message) []Trigger {
	host := m.From.Domain()
	s := hasHostSuffix(host, freeHosting)
	if s == "" || host == s || noSenderTenants[s] {
		return nil
	}
	return []Trigger{{Name: TrigFreeHostingSender, Score: scoreFreeHostingSender, Category: CatPhish, Field: "From", Portion: m.From.Addr,
		Detail: "sender domain " + host + " is a subdomain of free hosting platform " + s}}
}

// noSenderTenants are free-hosting suffixes whose subdomains are the service's
// own mail hosts (form services mail from eu.jotform.com), not tenants.
var noSenderTenants = map[string]bool{"jotform.com": true, "formstack.com": true}

// normName folds a display name for comparison: skeleton, letters and spaces
// only, " via list" suffixes dropped.
func normName(s string) string {
	s = strings.ToLower(s)
	if i := strings.Index(s, " via "); i > 0 {
		s = s[:i]
	}
	var b strings.Builder
	space := false
	for _, r := range skeleton(s) {
		switch {
		case unicode.IsLetter(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		default:
			space = true
		}
	}
	return b.String()
}

// nameMatches reports whether display (normalised) is the person name (normalised),
// also as "last first" or with the name inside a longer display name.
func nameMatches(display, name string) bool {
	if display == "" || name == "" || !strings.Contains(name, " ") {
		return display != "" && display == name
	}
	if display == name || strings.Contains(" "+display+" ", " "+name+" ") {
		return true
	}
	f := strings.Fields(name)
	rev := f[len(f)-1] + " " + strings.Join(f[:len(f)-1], " ")
	return display == rev || strings.Contains(" "+display+" ", " "+rev+" ")
}

var addrInName = regexp.MustCompile(`(?i)[a-z0-9._%+-]+@([a-z0-9-]+(?:\.[a-z0-9-]+)+)|\b((?:[a-z0-9-]+\.)+(?:com|net|org|gov|edu|io|co|us|uk|de|fr|info|biz))\b`)

// displayNameTriggers: a registered executive's name, or a protected domain,
// shown in the display name of mail from outside the organisation.
func displayNameTriggers(m *message.Message, p *Policy) []Trigger {
	name := m.From.Name
	if name == "" {
		return nil
	}
	fromDom := m.From.Domain()
	from := strings.ToLower(m.From.Addr)
	if !p.isProtected(fromDom) {
		disp := normName(name)
		for _, e := range slices2(p.Executives, p.ImpersonationRegistry) {
			if e.Name == "" || strings.EqualFold(e.Email, from) || repliesTo(m, e.Email) {
				continue // their own address; or a service relaying their name, replies going to them
			}
			if nameMatches(disp, normName(e.Name)) {
				detail := fmt.Sprintf("display name %q is %s, but the address %s is outside the organisation", name, e.Name, m.From.Addr)
				score := scoreDisplayNameExec
				if isFreemail(fromDom) {
					detail += " (free-mail)"
					score++
				}
				return []Trigger{{Name: TrigDisplayNameImperson, Score: score, Category: CatPhish, Field: "From", Portion: name, Detail: detail}}
			}
		}
	}
	if fromDom == "" {
		return nil
	}
	// The organisation's own domain anywhere in the name of outside mail is impersonation.
	for _, mm := range addrInName.FindAllStringSubmatch(name, 4) {
		shown := strings.ToLower(mm[1] + mm[2])
		if registrable(shown) != registrable(fromDom) && p.isProtected(shown) {
			return []Trigger{{Name: TrigDisplayNameImperson, Score: scoreDisplayNameExec, Category: CatPhish, Field: "From", Portion: name,
				Detail: fmt.Sprintf("display name %q shows the organisation's domain %s, but the address is %s", name, shown, m.From.Addr)}}
		}
	}
	if shown := shownAddress(name); shown != "" && !isPrivacyRelay(fromDom) {
		shown = strings.ToLower(shown)
		if registrable(shown) != registrable(fromDom) {
			return []Trigger{{Name: TrigDisplayNameAddress, Score: scoreDisplayNameAddr, Category: CatPhish, Field: "From", Portion: name,
				Detail: fmt.Sprintf("display name %q shows %s, but the address is %s", name, shown, m.From.Addr)}}
		}
	}
	return nil
}

// shownAddress returns the domain of an e-mail address shown in a display name,
// or the domain the display name consists of; "" otherwise. A bare domain inside
// a longer name is a brand ("CNET News.com Daily Dispatch", "Booking.com Team"),
// not an address shown to the reader.
func shownAddress(name string) string {
	all := addrInName.FindAllStringSubmatch(name, 4)
	for _, mm := range all {
		if mm[1] != "" {
			return mm[1]
		}
	}
	if len(all) == 1 && strings.EqualFold(strings.Trim(strings.TrimSpace(name), `"'<>()[] `), all[0][2]) {
		return all[0][2]
	}
	return ""
}

func slices2(a, b []Executive) []Executive {
	out := make([]Executive, 0, len(a)+len(b))
	return append(append(out, a...), b...)
}

// replyToTriggers: replies diverted to another organisation; mailing lists that
// set Reply-To to the list are not diversion, nor is a Reply-To in the
// organisation's own domains (a service relaying a colleague's message: the
// reply stays inside; a look-alike of them is lookalike_domain's).
func replyToTriggers(m *message.Message, a auth.Result, p *Policy) []Trigger {
	fromDom := m.From.Domain()
	if fromDom == "" {
		return nil
	}
	for _, r := range m.ReplyTo {
		rd := r.Domain()
		if rd == "" || registrable(rd) == registrable(fromDom) {
			continue
		}
		if isListAddress(m, r.Addr) || isUnsubscribeMailbox(r) || p.isProtected(rd) {
			continue
		}
		if isFreemail(rd) && !isFreemail(fromDom) {
			return []Trigger{{Name: TrigReplyToDivert, Score: scoreReplyToFreemail, Category: CatPhish, Field: "Reply-To", Portion: r.Addr,
				Detail: fmt.Sprintf("replies go to free-mail address %s, not to the sender's domain %s", r.Addr, fromDom)}}
		}
		return []Trigger{{Name: TrigReplyToDivert, Score: scoreReplyTo, Category: CatPhish, Field: "Reply-To", Portion: r.Addr,
			Detail: fmt.Sprintf("replies go to %s, another organisation than the sender's domain %s", rd, fromDom)}}
	}
	_ = a
	return nil
}

// isUnsubscribeMailbox reports whether a Reply-To is a list-management robot
// ("Netscape Unsubscribe" <dms-unsubscribe@…>, optout@…): replies to it remove
// the reader from a mailing, they reach no person who could take a conversation
// elsewhere, so it diverts nothing.
func isUnsubscribeMailbox(r message.Address) bool {
	local, _, _ := strings.Cut(strings.ToLower(r.Addr), "@")
	for _, w := range strings.FieldsFunc(local+" "+strings.ToLower(r.Name), func(c rune) bool {
		return !unicode.IsLetter(c)
	}) {
		switch w {
		case "unsubscribe", "unsub", "optout", "remove", "leave":
			return true
		}
	}
	return strings.Contains(local, "opt-out")
}

// isListAddress reports whether addr is the mailing list's own address (List-Post,
// or a List-Id of the same domain).
func isListAddress(m *message.Message, addr string) bool {
	addr = strings.ToLower(addr)
	if post := strings.ToLower(header(m, "List-Post")); post != "" && strings.Contains(post, addr) {
		return true
	}
	if id := strings.ToLower(header(m, "List-Id")); id != "" {
		d := domainOf(addr)
		if d != "" && strings.Contains(id, registrable(d)) {
			return true
		}
	}
	return false
}

// repliesTo reports whether every Reply-To of m is addr (and there is one).
func repliesTo(m *message.Message, addr string) bool {
	if addr == "" || len(m.ReplyTo) == 0 {
		return false
	}
	for _, r := range m.ReplyTo {
		if !strings.EqualFold(r.Addr, addr) {
			return false
		}
	}
	return true
}
