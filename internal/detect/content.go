package detect

import (
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
	paymentRe = regexp.MustCompile(`\b(?:gift ?cards?|(?:itunes|apple|google play|steam|amazon|ebay|vanilla) (?:gift )?cards?|wire transfer|bank transfer|(?:change|update|new)[a-z ]{0,20}(?:bank|banking|account|payment) (?:details|information|info)|(?:payment|invoice) (?:is )?(?:due|overdue|pending|outstanding)|outstanding (?:invoice|payment|balance)|(?:send|make|process|initiate|complete) (?:a |the |an )?(?:urgent )?(?:payment|wire|transfer)|scratch (?:off )?the (?:back|cards?)|bitcoin (?:wallet|address))\b`)
	urgencyRe = regexp.MustCompile(`\b(?:urgent(?:ly)?|asap|immediately|right away|as soon as possible|are you (?:available|at your desk|around)|quick (?:favou?r|task|request)|confidential|discreet|keep this between us|before (?:the )?(?:end|close) of (?:the )?(?:day|business)|within (?:24|48) hours)\b`)

	credentialGroups = []struct {
		name string
		re   *regexp.Regexp
	}{
		{"account suspension", regexp.MustCompile(`\b(?:account|mailbox|access|card) (?:has been |will be |is |was )?(?:temporarily )?(?:suspended|locked|limited|disabled|restricted|deactivated|blocked|on hold|terminated|closed)\b`)},
		{"verification request", regexp.MustCompile(`\b(?:verify|confirm|validate|update|reactivate|restore|unlock) (?:your|the) (?:account|identity|information|details|password|e-?mail|mailbox|billing|login|credentials)\b`)},
		{"unusual activity", regexp.MustCompile(`\b(?:unusual|suspicious|unauthori[sz]ed|irregular|unrecognized) (?:activity|sign[ -]?in|log[ -]?in|login attempt|access|transaction)s?\b`)},
		{"password expiry", regexp.MustCompile(`\bpassword (?:will )?(?:expire|expires|expired|expiration)\b`)},
		{"mailbox quota", regexp.MustCompile(`\b(?:mailbox|storage|quota) (?:is )?(?:full|almost full|exceeded|limit)\b|\bexceeded (?:its|your|the) (?:storage|quota)\b`)},
		{"click to sign in", regexp.MustCompile(`\b(?:click|tap) (?:here|below|the (?:link|button)) to (?:log ?in|sign ?in|verify|confirm|update|restore|unlock|reactivate|validate|review)\b`)},
		{"pending messages", regexp.MustCompile(`\b(?:pending|undelivered|held|incoming) (?:e-?mails?|messages?) (?:have been |were |are )?(?:held|pending|blocked|on hold|awaiting)\b`)},
	}

	spamPhrases = []*regexp.Regexp{
		regexp.MustCompile(`\b100% (?:free|guaranteed|satisfied)\b`),
		regexp.MustCompile(`\b(?:act now|order now|buy now|call now|apply now)\b`),
		regexp.MustCompile(`\blimited[- ]time (?:offer|only)\b`),
		regexp.MustCompile(`\brisk[- ]free\b`),
		regexp.MustCompile(`\bmoney[- ]back guarantee\b`),
		regexp.MustCompile(`\bno obligation\b`),
		regexp.MustCompile(`\b(?:make|earn) (?:\$|money|cash|extra income)`),
		regexp.MustCompile(`\bwork(?:ing)? from home\b`),
		regexp.MustCompile(`\b(?:lose weight|weight loss)\b`),
		regexp.MustCompile(`\b(?:viagra|cialis|levitra|pharmacy)\b`),
		regexp.MustCompile(`\b(?:online casino|jackpot)\b`),
		regexp.MustCompile(`\byou (?:have been|were|are) (?:selected|chosen)\b`),
		regexp.MustCompile(`\bthis is not (?:a )?spam\b`),
		regexp.MustCompile(`\b(?:to be removed|remove me) from (?:our|this|the|future) (?:mailing )?(?:list|mailings)\b`),
		regexp.MustCompile(`\b(?:lowest|best) (?:price|rates?)\b`),
		regexp.MustCompile(`\b(?:mortgage|refinance|debt consolidation)\b`),
		regexp.MustCompile(`\bdear (?:friend|sir/madam|valued customer)\b`),
	}
)

// lowerText is the subject and body text, lowercased and bounded.
func lowerText(m *message.Message) string {
	t := m.Text
	if len(t) > maxContent {
		t = t[:maxContent]
	}
	return strings.ToLower(m.Subject + "\n" + t)
}

// contentTriggers: payment requests, credential pretexts, spam wording.
func contentTriggers(m *message.Message, p *Policy) []Trigger {
	text := lowerText(m)
	var out []Trigger
	if pay := paymentRe.FindString(text); pay != "" {
		if urg := urgencyRe.FindString(text); urg != "" {
			known, first := false, false
			if p.KnownSenders != nil && m.From.Addr != "" {
				known = p.KnownSenders(strings.ToLower(m.From.Addr))
				first = !known
			}
			if !known {
				score, who := scorePaymentUnknown, "a sender with no known history"
				if first {
					score, who = scorePaymentFirstTime, "a first-time sender"
				}
				out = append(out, Trigger{Name: TrigPaymentRequest, Score: score, Category: CatPhish, Field: "body", Portion: pay,
					Detail: fmt.Sprintf("payment request (%q) with urgency (%q) from %s", pay, urg, who)})
			}
		}
	}
	if len(m.Links) > 0 || len(m.Attachments) > 0 {
		var groups []string
		portion := ""
		for _, g := range credentialGroups {
			if s := g.re.FindString(text); s != "" {
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
	var hits []string
	for _, re := range spamPhrases {
		if s := re.FindString(text); s != "" {
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
