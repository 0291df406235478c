package detect

import (
	"fmt"
	"strings"

	"github.com/mailwarden/mailwarden/internal/message"
)

// brand is a widely impersonated company: the names it goes by in a display
// name and the domains its mail comes from.
type brand struct {
	// names are the brand as words ("wells fargo"); keys are their normName
	// forms between spaces (" wells fargo "), to find whole words.
	names, keys []string
	// domains are its registrable domains ("paypal.com"), or a bare name label
	// ("amazon") for a brand that mails from its own name under .com and
	// country suffixes (amazon.de, amazon.co.uk; see brandSuffix). Its consumer mailbox domains (outlook.com,
	// gmail.com) are its sites but not its senders (see sends); the hosts its
	// customers publish on (onmicrosoft.com, sharepoint.com, amazonaws.com) are
	// neither.
	domains []string
	// word: the name is also an everyday word or surname (apple, chase, target),
	// so it only counts when the rest of the display name is service words
	// ("Apple Support", "Chase Online"), never inside a longer name ("Lockergnome
	// Apple Core", "Visa for Bad Credit").
	word bool
}

// brands are the companies phishing imitates most, from public brand-phishing
// reports (technology, payments, banks, parcel carriers, retail, crypto), with
// their mail domains. Organisations add their own partners and suppliers to the
// impersonation registry; this list covers the names every organisation's users
// are sent fakes of.
var brands = []brand{
	{names: []string{"microsoft", "microsoft 365", "office 365", "office365", "onedrive", "sharepoint", "microsoft outlook", "microsoft teams"},
		domains: []string{"microsoft", "microsoftonline.com", "sharepointonline.com", "azure.com", "office.com", "office365.com", "outlook.com", "live.com", "hotmail.com", "skype.com", "xbox.com", "microsoftstore.com"}},
	{names: []string{"outlook"}, domains: []string{"microsoft", "office.com", "office365.com", "outlook.com", "live.com", "hotmail.com"}, word: true},
	{names: []string{"paypal"}, domains: []string{"paypal", "paypal-communication.com", "xoom.com"}},
	{names: []string{"apple", "apple id", "icloud", "itunes", "app store"}, domains: []string{"apple", "itunes.com", "icloud.com", "me.com", "mac.com"}, word: true},
	{names: []string{"amazon", "amazon prime", "prime video", "amazon web services"}, domains: []string{"amazon", "aws.com", "primevideo.com", "audible"}},
	{names: []string{"aws"}, domains: []string{"amazon", "aws.com"}, word: true},
	{names: []string{"netflix"}, domains: []string{"netflix"}},
	{names: []string{"google", "gmail", "google workspace", "youtube"}, domains: []string{"google", "youtube.com", "gmail.com", "googlemail.com"}},
	{names: []string{"facebook", "instagram", "whatsapp"}, domains: []string{"facebook", "facebookmail.com", "meta.com", "instagram.com", "whatsapp.com", "fb.com"}},
	{names: []string{"meta", "messenger"}, domains: []string{"facebook", "facebookmail.com", "meta.com", "fb.com"}, word: true},
	{names: []string{"linkedin"}, domains: []string{"linkedin"}},
	{names: []string{"docusign"}, domains: []string{"docusign.com", "docusign.net"}},
	{names: []string{"dropbox"}, domains: []string{"dropbox.com", "dropboxmail.com"}},
	{names: []string{"adobe", "adobe sign", "adobe acrobat"}, domains: []string{"adobe", "adobesign.com", "echosign.com"}},
	{names: []string{"dhl", "dhl express"}, domains: []string{"dhl", "dpdhl.com", "deutschepost.de", "mydhli.com"}},
	{names: []string{"fedex"}, domains: []string{"fedex.com"}},
	{names: []string{"ups"}, domains: []string{"ups.com", "theupsstore.com"}, word: true},
	{names: []string{"usps", "us postal service", "united states postal service"}, domains: []string{"usps.com", "usps.gov"}},
	{names: []string{"royal mail"}, domains: []string{"royalmail.com", "royalmail.co.uk"}},
	{names: []string{"correos"}, domains: []string{"correos.es"}},
	{names: []string{"correios"}, domains: []string{"correios.com.br"}},
	{names: []string{"ebay"}, domains: []string{"ebay"}},
	{names: []string{"walmart"}, domains: []string{"walmart.com"}},
	{names: []string{"costco"}, domains: []string{"costco.com", "costco.ca", "costco.co.uk"}},
	{names: []string{"wells fargo"}, domains: []string{"wellsfargo.com", "wellsfargoadvisors.com"}},
	{names: []string{"bank of america"}, domains: []string{"bankofamerica.com", "bofa.com", "ml.com"}},
	{names: []string{"chase"}, domains: []string{"chase.com", "jpmorgan.com", "jpmchase.com"}, word: true},
	{names: []string{"citibank"}, domains: []string{"citi.com", "citibank.com"}},
	{names: []string{"american express", "amex"}, domains: []string{"americanexpress.com", "aexp.com"}},
	{names: []string{"mastercard"}, domains: []string{"mastercard.com"}},
	{names: []string{"visa"}, domains: []string{"visa.com"}, word: true},
	{names: []string{"hsbc"}, domains: []string{"hsbc"}},
	{names: []string{"barclays"}, domains: []string{"barclays.com", "barclays.co.uk", "barclaycard.co.uk"}},
	{names: []string{"santander"}, domains: []string{"santander"}},
	{names: []string{"bradesco"}, domains: []string{"bradesco.com.br"}},
	{names: []string{"itau"}, domains: []string{"itau.com.br"}},
	{names: []string{"nubank"}, domains: []string{"nubank.com.br"}},
	{names: []string{"banco do brasil"}, domains: []string{"bb.com.br", "bancodobrasil.com.br"}},
	{names: []string{"caixa"}, domains: []string{"caixa.gov.br"}, word: true},
	{names: []string{"mercado livre", "mercado libre", "mercado pago"}, domains: []string{"mercadolivre.com.br", "mercadolibre.com", "mercadopago.com", "mercadopago.com.br"}},
	{names: []string{"sparkasse"}, domains: []string{"sparkasse.de"}},
	{names: []string{"volksbank"}, domains: []string{"volksbank.de", "vr.de"}},
	{names: []string{"postbank"}, domains: []string{"postbank.de"}},
	{names: []string{"commerzbank"}, domains: []string{"commerzbank.de", "commerzbank.com"}},
	{names: []string{"deutsche bank"}, domains: []string{"db.com", "deutsche-bank.de"}},
	{names: []string{"coinbase"}, domains: []string{"coinbase.com"}},
	{names: []string{"binance"}, domains: []string{"binance.com"}},
	{names: []string{"metamask"}, domains: []string{"metamask.io"}},
	{names: []string{"ledger"}, domains: []string{"ledger.com"}, word: true},
	{names: []string{"trezor"}, domains: []string{"trezor.io"}},
	{names: []string{"norton", "norton lifelock"}, domains: []string{"norton.com", "nortonlifelock.com", "gen.com"}, word: true},
	{names: []string{"mcafee"}, domains: []string{"mcafee.com"}},
	{names: []string{"geek squad"}, domains: []string{"geeksquad.com", "bestbuy.com"}},
	{names: []string{"spotify"}, domains: []string{"spotify.com"}},
	{names: []string{"steam"}, domains: []string{"steampowered.com", "steamcommunity.com"}, word: true},
	{names: []string{"roblox"}, domains: []string{"roblox.com"}},
	{names: []string{"zoom"}, domains: []string{"zoom.us", "zoom.com"}, word: true},
	{names: []string{"webex"}, domains: []string{"webex.com", "cisco.com"}},
	{names: []string{"booking com"}, domains: []string{"booking.com"}},
	{names: []string{"airbnb"}, domains: []string{"airbnb"}},
	{names: []string{"verizon"}, domains: []string{"verizon.com", "verizonwireless.com"}},
	{names: []string{"xfinity", "comcast"}, domains: []string{"xfinity.com", "comcast.com"}},
	{names: []string{"vodafone"}, domains: []string{"vodafone"}},
	{names: []string{"telekom", "deutsche telekom"}, domains: []string{"telekom.de", "telekom.com"}},
	{names: []string{"irs", "internal revenue service"}, domains: []string{"irs.gov"}, word: true},
	{names: []string{"hmrc"}, domains: []string{"hmrc.gov.uk", "gov.uk"}},
	// Payments and platforms whose notices are copied for credential and invoice fraud.
	{names: []string{"stripe"}, domains: []string{"stripe.com"}, word: true},
	{names: []string{"shopify"}, domains: []string{"shopify.com", "shopifyemail.com"}},
	{names: []string{"intuit", "quickbooks", "turbotax"}, domains: []string{"intuit.com", "quickbooks.com", "turbotax.com"}},
	{names: []string{"wetransfer"}, domains: []string{"wetransfer.com"}},
	{names: []string{"venmo"}, domains: []string{"venmo.com"}},
	{names: []string{"zelle"}, domains: []string{"zellepay.com"}},
	{names: []string{"revolut"}, domains: []string{"revolut.com"}},
	{names: []string{"wise"}, domains: []string{"wise.com", "transferwise.com"}, word: true},
	// European banks, posts and tax offices in public phishing reports.
	{names: []string{"ing", "ing bank", "ing diba"}, domains: []string{"ing", "ing-diba.de"}, word: true},
	{names: []string{"abn amro"}, domains: []string{"abnamro.nl", "abnamro.com"}},
	{names: []string{"rabobank"}, domains: []string{"rabobank.nl", "rabobank.com"}},
	{names: []string{"bbva"}, domains: []string{"bbva"}},
	{names: []string{"caixabank"}, domains: []string{"caixabank.es", "caixabank.com"}},
	{names: []string{"intesa sanpaolo"}, domains: []string{"intesasanpaolo.com", "intesasanpaolo.it"}},
	{names: []string{"poste italiane"}, domains: []string{"poste.it", "posteitaliane.it"}},
	{names: []string{"bnp paribas"}, domains: []string{"bnpparibas.com", "bnpparibas.fr", "bnpparibas"}},
	{names: []string{"credit agricole"}, domains: []string{"credit-agricole.fr", "credit-agricole.com"}},
	{names: []string{"societe generale"}, domains: []string{"societegenerale.fr", "societegenerale.com"}},
	{names: []string{"la poste", "colissimo", "chronopost"}, domains: []string{"laposte.fr", "laposte.net", "colissimo.fr", "chronopost.fr"}},
	{names: []string{"postnl"}, domains: []string{"postnl.nl", "postnl.com"}},
	{names: []string{"inpost"}, domains: []string{"inpost"}},
	{names: []string{"ctt", "ctt correios"}, domains: []string{"ctt.pt"}, word: true},
	{names: []string{"ameli", "assurance maladie"}, domains: []string{"ameli.fr", "assurance-maladie.fr"}},
	{names: []string{"impots gouv", "dgfip", "finances publiques"}, domains: []string{"impots.gouv.fr", "finances.gouv.fr"}},
	{names: []string{"agencia tributaria"}, domains: []string{"agenciatributaria.es", "agenciatributaria.gob.es"}},
	{names: []string{"elster"}, domains: []string{"elster.de"}},
}

// serviceWords may stand next to a brand in a display name without making it
// another name: "Apple Support", "Chase Online Banking", "Zoom Notifications".
// Articles are not among them: "The Outlook" is a newspaper.
var serviceWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`support service services customer customers care team security safety account accounts
		billing payment payments notification notifications notice alert alerts online banking bank id
		no reply noreply do not donotreply info information help helpdesk desk center centre official inc ltd llc
		update updates verification verify store mail email messaging delivery express card cards secure member members
		services admin administrator department dept`) {
		serviceWords[skeleton(w)] = true
	}
	for i := range brands {
		for _, n := range brands[i].names {
			brands[i].keys = append(brands[i].keys, " "+normName(n)+" ")
		}
	}
}

// brandImpersonation: the From display name is a well-known brand, and the
// address is not at any of the brand's domains. It is an identity trigger like
// an executive's name: the content model's opinion never discounts it.
func brandImpersonation(m *message.Message, p *Policy) []Trigger {
	name := m.From.Name
	fromDom := m.From.Domain()
	if name == "" || fromDom == "" || p.isProtected(fromDom) || p.trustedSimilar(fromDom) || isListAddress(m, m.From.Addr) {
		return nil
	}
	disp := joinSpelledOut(normName(name))
	if disp == "" {
		return nil
	}
	padded := " " + disp + " "
	for i := range brands {
		b := &brands[i]
		shown := b.shownIn(padded)
		if shown == "" || b.sends(fromDom) {
			continue
		}
		score, detail := scoreBrandImperson, fmt.Sprintf("display name %q is the brand %s, but the address %s is at none of its domains", name, shown, m.From.Addr)
		if isFreemail(fromDom) {
			score++
			detail += " (free-mail)"
		}
		return []Trigger{{Name: TrigBrandImpersonation, Score: score, Category: CatPhish, Field: "From", Portion: name, Detail: detail}}
	}
	return nil
}

// shownIn returns the brand name a display name shows, "" if none; padded is
// the display name normalised by normName, between spaces.
func (b *brand) shownIn(padded string) string {
	for i, key := range b.keys {
		if !strings.Contains(padded, key) {
			continue
		}
		if !b.word {
			return b.names[i]
		}
		rest := strings.Fields(strings.Replace(padded, key, " ", 1))
		only := true
		for _, w := range rest {
			if !serviceWords[w] {
				only = false
				break
			}
		}
		if only {
			return b.names[i]
		}
	}
	return ""
}

// sends reports whether mail From domain is the brand's own: a domain of the
// brand that is not a consumer mailbox anyone can sign up for.
func (b *brand) sends(domain string) bool {
	return b.owns(domain) && !isFreemail(domain)
}

// owns reports whether domain is one of the brand's domains.
func (b *brand) owns(domain string) bool {
	reg := registrable(domain)
	label, suffix := splitRegistrable(reg)
	for _, d := range b.domains {
		if d == reg || (!strings.Contains(d, ".") && d == label && brandSuffix(suffix)) {
			return true
		}
	}
	return false
}

// joinSpelledOut joins runs of single letters, the way "P a y P a l" or
// "N.e.t.f.l.i.x" spells a brand past a word match: "p a y p a l" -> "paypal".
func joinSpelledOut(s string) string {
	f := strings.Fields(s)
	var out []string
	run := ""
	flush := func() {
		if len(run) > 0 {
			out = append(out, run)
			run = ""
		}
	}
	for _, w := range f {
		if len([]rune(w)) == 1 {
			run += w
			continue
		}
		flush()
		out = append(out, w)
	}
	flush()
	return strings.Join(out, " ")
}

// freeCountryTLDs are country suffixes whose names were given away free; a
// brand's name there may be anyone's.
var freeCountryTLDs = map[string]bool{"tk": true, "ml": true, "ga": true, "cf": true, "gq": true}

// brandSuffix reports whether a brand's bare name under suffix is taken to be
// the brand's own: .com and country suffixes (de, co.uk, com.br), where brands
// hold their names. Under the hundreds of cheap generic suffixes (.top, .shop,
// .xyz) anyone can register apple.top.
func brandSuffix(suffix string) bool {
	if suffix == "com" {
		return true
	}
	parts := strings.Split(suffix, ".")
	cc := parts[len(parts)-1]
	if len(cc) != 2 || freeCountryTLDs[cc] {
		return false
	}
	return len(parts) == 1 || (len(parts) == 2 && (parts[0] == "co" || parts[0] == "com"))
}

// brandOf returns the registry brand whose own mail domain domain is, nil if
// none.
func brandOf(domain string) *brand {
	if domain == "" {
		return nil
	}
	for i := range brands {
		if brands[i].sends(domain) {
			return &brands[i]
		}
	}
	return nil
}

// userContentHosts are hosts inside brands' domains that serve what their users
// publish: shared documents, forms, file shares, pages and payment links.
// A link there leads to whoever published it, not to the brand.
var userContentHosts = []string{
	"docs.google.com", "drive.google.com", "sites.google.com", "forms.google.com", "script.google.com",
	"onedrive.live.com", "storage.live.com", "1drv.ms", "forms.office.com", "sway.office.com", "paypal.me",
	"spark.adobe.com", "express.adobe.com", "indd.adobe.com", "acrobat.adobe.com",
}

// brandConsistent reports whether m is confined to one registry brand: From at
// the brand's own domain, at least one link, and every link, every URL a link
// carries in its query (redirects) and every Reply-To on that brand's domains
// outside the hosts where its users publish. Such a message leads nowhere the
// brand does not control: when its From is forged, authentication catches the
// forgery (the brands publish DMARC p=reject); what remains for the content
// model to see is the wording every genuine account notice shares.
func brandConsistent(m *message.Message, p *Policy) *brand {
	b := brandOf(m.From.Domain())
	if b == nil || len(m.Links) == 0 || !confined(m, p, b.owns) {
		return nil
	}
	return b
}

// confined reports whether every Reply-To and every link of m stays with one
// sender (owns) or on the recipient's own side (recipientSide, a Reply-To in
// the protected domains): no link to a page its users publish or to free
// hosting, no redirect to anywhere else.
func confined(m *message.Message, p *Policy, owns func(host string) bool) bool {
	return repliesConfined(m, p, owns) && linksConfined(m, p, owns)
}

func repliesConfined(m *message.Message, p *Policy, owns func(host string) bool) bool {
	for _, r := range m.ReplyTo {
		if !owns(r.Domain()) && !p.isProtected(r.Domain()) {
			return false
		}
	}
	return true
}

func linksConfined(m *message.Message, p *Policy, owns func(host string) bool) bool {
	for i, l := range m.Links {
		if i >= maxLinks {
			return false
		}
		host := linkHost(l)
		if recipientSide(m, p, l, host) {
			continue
		}
		if host == "" || !owns(host) || hasHostSuffix(host, userContentHosts) != "" || hasHostSuffix(host, freeHosting) != "" {
			return false
		}
		for _, inner := range embeddedHosts(l.Href) {
			if !owns(inner) {
				return false
			}
		}
	}
	return true
}

// embeddedHosts returns the hosts of URLs carried inside href after its own
// (plain or percent-encoded: the targets of redirectors).
func embeddedHosts(href string) []string {
	h := strings.ToLower(href)
	if i := strings.Index(h, "://"); i >= 0 {
		h = h[i+3:]
	}
	h = strings.NewReplacer("%3a", ":", "%2f", "/").Replace(h)
	var out []string
	for {
		i := strings.Index(h, "://")
		if i < 0 {
			return out
		}
		h = h[i+3:]
		end := strings.IndexAny(h, "/?#&:%\\")
		host := h
		if end >= 0 {
			host = h[:end]
		}
		out = append(out, host)
	}
}

// brandVouched discounts the content model's phishing call (bayes_phish) on
// mail of a known brand: its From authenticated for the brand's domain, or the
// whole message confined to the brand's domains (brandConsistent). Account
// notices, receipts and sign-in alerts read like the phishing that imitates
// them; what tells them apart is who sent them and where they lead.
func brandVouched(m *message.Message, p *Policy, authed bool) []Trigger {
	dom := m.From.Domain()
	if b := brandOf(dom); b != nil && authed {
		return []Trigger{{Name: TrigBrandConsistent, Score: -scoreBayesPhish, Category: CatPhish, Field: "From", Portion: m.From.Addr,
			Detail: fmt.Sprintf("From %s is authenticated for %s's domain %s: the content model's phishing call is discounted", m.From.Addr, b.names[0], registrable(dom))}}
	}
	if b := brandConsistent(m, p); b != nil {
		return []Trigger{{Name: TrigBrandConsistent, Score: -scoreBayesPhish, Category: CatPhish, Field: "body",
			Detail: fmt.Sprintf("From %s and all %d links stay on %s's own domains, so the mail leads nowhere else (a forged From is for authentication to catch): the content model's phishing call is discounted", m.From.Addr, len(m.Links), b.names[0])}}
	}
	return nil
}

// brandNotice reports whether m is authenticated mail from a registry brand's
// own domain. Such platforms send on behalf of their users ("Alex (via
// Dropbox)") with Reply-To set to the user, often at a consumer mailbox: that is
// their format, not a diversion.
func brandNotice(m *message.Message, authed bool) bool {
	return authed && brandOf(m.From.Domain()) != nil
}
