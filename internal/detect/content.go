package detect

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/mailwarden/mailwarden/internal/message"
)

// maxContent bounds the text the content heuristics read.
const maxContent = 64 << 10

// Phrase groups. Each is a generic pattern of its kind of mail, not taken from any
// corpus message: business-e-mail-compromise requests, credential-phishing
// pretexts, and classic unsolicited-commercial wording.
var (
	paymentRe = pre([]string{"card", "transfer", "bank", "payment", "invoice", "outstanding", "wire", "scratch", "bitcoin"}, `\b(?:gift ?cards?|(?:itunes|apple|google play|steam|amazon|ebay|vanilla) (?:gift )?cards?|wire transfer|bank transfer|(?:change|update|new)[a-z ]{0,20}(?:bank|banking|account|payment) (?:details|information|info)|(?:payment|invoice)s? (?:is |are )?(?:due|overdue|pending|outstanding)|outstanding (?:invoices?|payments?|balance)|(?:changed|updated|new) (?:our |its |the )?(?:receiving |remittance )?(?:bank|bank account|banking details|account details)|(?:send|make|process|initiate|complete) (?:a |the |an )?(?:urgent )?(?:payment|wire|transfer)|scratch (?:off )?the (?:back|cards?)|bitcoin (?:wallet|address))\b`)
	// bankChangeRe: a request to send payments to new bank details, the core of
	// invoice and payroll diversion fraud whether or not it sounds urgent.
	bankChangeRe = pre([]string{"new bank", "new account", "new remittance", "change of", "bankverbindung", "datos bancarios", "coordonn", "bankrekening", "coordinate bancarie"},
		`\b(?:(?:moved|switched|transferred|changed)\b[a-z ]{0,30}\bto (?:a |our |the )?new (?:bank|bank account)|(?:payments?|remittances?|transfers?) [a-z ]{0,25}(?:go|be sent|be made|be remitted|be paid|be directed|be wired) to (?:the |our |this )?new (?:bank|account)|new (?:bank|banking|remittance) (?:details|information|instructions)|change of (?:bank|banking|remittance|payment) (?:details|information|instructions|account)|neue bankverbindung|bankverbindung (?:hat sich |wurde )?ge(?:ä|ae)ndert|nuevos datos bancarios|nouvelles coordonn(?:é|e)es bancaires|nieuwe bankrekening|nuove coordinate bancarie)\b`)
	urgencyRe = pre([]string{"urgent", "asap", "immediately", "right away", "as soon", "are you", "quick", "confidential", "discreet", "between us", "of the", "of day", "of business", "within"}, `\b(?:urgent(?:ly)?|asap|immediately|right away|as soon as possible|are you (?:available|at your desk|around)|quick (?:favou?r|task|request)|confidential|discreet|keep this between us|before (?:the )?(?:end|close) of (?:the )?(?:day|business)|within (?:24|48) hours)\b`)

	credentialGroups = []struct {
		name string
		re   phrase
	}{
		{"account suspension", pre([]string{"suspended", "locked", "limited", "disabled", "restricted", "deactivated", "blocked", "on hold", "terminated", "closed"}, `\b(?:account|mailbox|access|card) (?:has been |will be |is |was )?(?:temporarily )?(?:suspended|locked|limited|disabled|restricted|deactivated|blocked|on hold|terminated|closed)\b`)},
		{"verification request", pre([]string{"verify", "confirm", "validate", "update", "reactivate", "restore", "unlock"}, `\b(?:verify|confirm|validate|update|reactivate|restore|unlock) (?:your|the) (?:account|identity|information|details|password|e-?mail|mailbox|billing|login|credentials)\b`)},
		{"unusual activity", pre([]string{"unusual", "suspicious", "unauthori", "irregular", "unrecognized"}, `\b(?:unusual|suspicious|unauthori[sz]ed|irregular|unrecognized) (?:activity|sign[ -]?in|log[ -]?in|login attempt|access|transaction)s?\b`)},
		{"password expiry", pre([]string{"password"}, `\bpassword (?:will )?(?:expire|expires|expired|expiration)\b`)},
		{"mailbox quota", pre([]string{"full", "exceeded", "quota", "limit"}, `\b(?:mailbox|storage|quota) (?:is )?(?:full|almost full|exceeded|limit)\b|\bexceeded (?:its|your|the) (?:storage|quota)\b`)},
		{"click to sign in", pre([]string{"click", "tap"}, `\b(?:click|tap) (?:here|below|the (?:link|button)) to (?:log ?in|sign ?in|verify|confirm|update|restore|unlock|reactivate|validate|review)\b`)},
		{"pending messages", pre([]string{"mail", "message"}, `\b(?:pending|undelivered|held|incoming) (?:e-?mails?|messages?) (?:have been |were |are )?(?:held|pending|blocked|on hold|awaiting)\b`)},
	}

	// Advance-fee fraud ("419"): a large sum, a story of where it comes from
	// (an estate, a dormant account, a lottery, a contract) and a request to act
	// on it privately. Any one is common in news and business mail; two of the
	// three together are the fraud's shape.
	advanceFeeGroups = []struct {
		name string
		re   phrase
	}{
		{"large sum", pre([]string{"million", ",000,000", "000,000", "m usd", "musd"}, `(?:\b(?:\d+(?:[.,]\d+)? ?(?:million|m)|(?:one|two|three|four|five|six|seven|eight|nine|ten|twelve|fifteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred)(?:[- ](?:one|two|three|four|five|six|seven|eight|nine))? (?:hundred )?million) ?(?:united states |us |u\.s\. )?(?:dollars?|usd|euros?|eur|pounds?|gbp)\b|(?:\$|usd|us\$|€|£|eur|gbp) ?\d{1,3}(?:[,.]\d{3}){2,}|\b\d{1,3}(?:[,.]\d{3}){2,}(?:[.,]\d\d)? ?(?:usd|dollars|euros?|pounds))`)},
		{"origin of funds", pre([]string{"kin", "beneficiar", "inherit", "unclaimed", "dormant", "deceased", "late ", "consignment", "lotter", "lotto", "sweepstake", "compensation", "winning", "fund"}, `\b(?:next of kin|beneficiar(?:y|ies)|inheritance|unclaimed (?:funds?|deposit|sum)|dormant (?:account|fund)|(?:my|our|the) (?:late|deceased) (?:client|husband|father|mother|wife|customer)|consignment (?:box|boxes)|(?:lottery|lotteries|lotto|sweepstakes?|award|email) (?:winnings?|winners?|prizes?)|winning (?:notification|number|ticket)|compensation (?:fund|payment)|(?:fund|funds|payment) (?:release|transfer|approval)|release (?:of )?(?:the|your) (?:funds?|payment))\b`)},
		{"private request", pre([]string{"confidential", "percent", "%", "proposal", "partner", "barrister", "attorney", "response", "reply", "assistance", "cooperation", "full name"}, `\b(?:strictly (?:confidential|private)|(?:\d{1,2} ?%|\d{1,2} percent|percentage) (?:of (?:the )?(?:total )?(?:sum|fund|funds|money|amount)|for you)|business proposal|foreign partner|barrister|attorney at law|(?:your|an) (?:urgent|immediate|quick) (?:response|reply|attention)|(?:reply|respond|contact me) (?:urgently|immediately|asap)|(?:need|seek|solicit|request) your (?:assistance|help|cooperation|consent|partnership)|your full names?)\b`)},
	}

	spamPhrases = []phrase{
		pre([]string{"100%"}, `\b100% (?:free|guaranteed|satisfied)\b`),
		pre([]string{" now"}, `\b(?:act now|order now|buy now|call now|apply now)\b`),
		pre([]string{"limited"}, `\blimited[- ]time (?:offer|only)\b`),
		pre([]string{"risk"}, `\brisk[- ]free\b`),
		pre([]string{"money"}, `\bmoney[- ]back guarantee\b`),
		pre([]string{"obligation"}, `\bno obligation\b`),
		pre([]string{"make", "earn"}, `\b(?:make|earn) (?:\$|money|cash|extra income)`),
		pre([]string{"work"}, `\bwork(?:ing)? from home\b`),
		pre([]string{"weight"}, `\b(?:lose weight|weight loss)\b`),
		pre([]string{"viagra", "cialis", "levitra", "pharmacy"}, `\b(?:viagra|cialis|levitra|pharmacy)\b`),
		pre([]string{"casino", "jackpot"}, `\b(?:online casino|jackpot)\b`),
		pre([]string{"selected", "chosen"}, `\byou (?:have been|were|are) (?:selected|chosen)\b`),
		pre([]string{"spam"}, `\bthis is not (?:a )?spam\b`),
		pre([]string{"remove"}, `\b(?:to be removed|remove me) from (?:our|this|the|future) (?:mailing )?(?:list|mailings)\b`),
		pre([]string{"price", "rate"}, `\b(?:lowest|best) (?:price|rates?)\b`),
		pre([]string{"mortgage", "refinance", "debt"}, `\b(?:mortgage|refinance|debt consolidation)\b`),
		pre([]string{"dear"}, `\bdear (?:friend|sir/madam|valued customer)\b`),
	}
)

// phrase is a regular expression with literal prefilters: the expression runs
// only when the text contains one of them (Go's regexp is slow on alternations
// with \b; a substring search is not).
type phrase struct {
	any  []string
	re   *regexp.Regexp
	id   int      // index in phraseScanner
	anch anchored // for the one-pass scan (phrasescan.go)
}

func pre(any []string, expr string) phrase {
	p := phrase{any: any, re: regexp.MustCompile(expr), anch: compileAnchored(expr)}
	p.register(phraseScanner)
	return p
}

// FindString returns the leftmost match, "" if none.
func (p phrase) FindString(text string) string {
	for _, a := range p.any {
		if strings.Contains(text, a) {
			return p.re.FindString(text)
		}
	}
	return ""
}

// lowerText is the subject and body text, lowercased and bounded.
func lowerText(m *message.Message) string {
	t := m.Text
	if len(t) > maxContent {
		t = t[:maxContent]
	}
	return strings.ToLower(m.Subject + "\n" + t)
}

// contentTriggers: payment requests, credential pretexts, spam wording.
func contentTriggers(ctx context.Context, m *message.Message, p *Policy, authed bool) []Trigger {
	text := lowerText(m)
	sc := phraseScanner.scan(text)
	var out []Trigger
	// what describes the request: payment wording with urgency, or a change
	// of bank details (which needs no urgency).
	what, payPortion := "", ""
	if pay := paymentRe.find(sc); pay != "" {
		if urg := urgencyRe.find(sc); urg != "" {
			what, payPortion = fmt.Sprintf("payment request (%q) with urgency (%q)", pay, urg), pay
		}
	}
	if what == "" {
		if change := bankChangeRe.find(sc); change != "" {
			what, payPortion = fmt.Sprintf("request to pay to new bank details (%q)", change), change
		}
	}
	if what != "" {
		// Known: earlier clean mail from this address, and this message
		// authenticated (a forged From of a known supplier is the classic
		// invoice fraud). First-time: nothing earlier, or only bad mail.
		h, kept := p.history(ctx, m.From.Addr)
		known := kept && h.Clean > 0 && authed
		first := kept && h.Clean == 0
		if !known {
			score, who := scorePaymentUnknown, "a sender with no known history"
			switch {
			case first && h.Messages > 0:
				score, who = scorePaymentFirstTime, "a sender whose earlier mail was all judged bad"
			case first:
				score, who = scorePaymentFirstTime, "a first-time sender"
			case kept:
				who = "a sender whose earlier mail is known but this message is not authenticated"
			}
			out = append(out, Trigger{Name: TrigPaymentRequest, Score: score, Category: CatPhish, Field: "body", Portion: payPortion,
				Detail: fmt.Sprintf("%s from %s", what, who)})
		}
	}
	if len(m.Links) > 0 || len(m.Attachments) > 0 {
		var groups []string
		portion := ""
		for _, g := range credentialGroups {
			if s := g.re.find(sc); s != "" {
				groups = append(groups, g.name)
				if portion == "" {
					portion = s
				}
			}
		}
		if len(groups) > 0 {
			n := min(len(groups), 2)
			out = append(out, Trigger{Name: TrigCredentialLanguage, Score: scoreCredentialLang * float64(n), Category: CatPhish, Field: "body", Portion: portion,
				Detail: "credential-phishing pretext: " + strings.Join(groups, ", ")})
		}
	}
	var fee []string
	feePortion := ""
	for _, g := range advanceFeeGroups {
		if s := g.re.find(sc); s != "" {
			fee = append(fee, g.name)
			if feePortion == "" {
				feePortion = s
			}
		}
	}
	if len(fee) >= 2 {
		out = append(out, Trigger{Name: TrigAdvanceFeeFraud, Score: scoreAdvanceFee, Category: CatPhish, Field: "body", Portion: feePortion,
			Detail: "advance-fee fraud: " + strings.Join(fee, ", ")})
	}
	var hits []string
	for _, re := range spamPhrases {
		if s := re.find(sc); s != "" {
			hits = append(hits, s)
		}
	}
	if len(hits) > 0 {
		n := min(len(hits), 4)
		out = append(out, Trigger{Name: TrigSpamLanguage, Score: scoreSpamLanguage * float64(n), Category: CatSpam, Field: "body", Portion: hits[0],
			Detail: "unsolicited-commercial wording: " + strings.Join(quoteAll(hits), ", ")})
	}
	if len(m.To) == 0 && len(m.Cc) == 0 && !hasHeader(m, "List-Id") {
		out = append(out, Trigger{Name: TrigNoRecipients, Score: scoreNoRecipients, Category: CatSpam, Field: "To",
			Detail: "no recipient in To or Cc (hidden list)"})
	}
	return out
}

func quoteAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = fmt.Sprintf("%q", x)
	}
	return out
}
