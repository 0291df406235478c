package detect

import (
	"fmt"
	"strings"

	"github.com/mailwarden/mailwarden/internal/message"
)

// espHeaderPrefixes are headers that e-mail service providers add to campaign
// mail (lowercased name prefixes). Not the stamps receiving filters add, such as
// Cloudmark's X-CMAE-*: those are on any mail that passed through them.
var espHeaderPrefixes = []string{
	"x-mailgun-", "x-ses-", "x-sg-eid", "x-sg-id", "x-sendgrid-", "x-mailchimp-", "x-mc-user", "x-mcda",
	"x-campaign", "x-campaignid", "x-csa-complaints", "x-sib-", "x-mailjet-", "x-mj-", "x-pm-message-id",
	"x-postmark-", "x-sparkpost-", "x-msys-api", "x-klaviyo-", "x-hubspot-", "x-marketo-", "x-mktomail",
	"x-sfmc-", "x-exacttarget-", "x-emarsys-", "x-braze-", "x-iterable-", "x-listmonk-",
	"x-newsletter", "x-mailer-lid", "x-rpcampaign", "x-constantcontact", "x-roving-", "x-ymlp", "x-acoustic-",
}

// bulkTriggers: list and ESP headers, and an obscured or missing unsubscribe link.
//
// Weights: an ESP header 2, one-click unsubscribe (RFC 8058) 1.5, a List-Unsubscribe
// web link 1 (mailto only 0.5), Feedback-ID 1, Precedence bulk 1 (list 0.5),
// List-Id 0.5. Discussion lists (List-Post, or a reply) count a quarter: they are
// conversation, not marketing.
func bulkTriggers(m *message.Message) []Trigger {
	var score float64
	var why []string
	esp := ""
	for _, h := range m.Headers {
		n := strings.ToLower(h.Name)
		for _, p := range espHeaderPrefixes {
			if strings.HasPrefix(n, p) {
				esp = h.Name
				break
			}
		}
		if esp != "" {
			break
		}
	}
	if esp != "" {
		score += 2
		why = append(why, "ESP header "+esp)
	}
	lu := strings.ToLower(header(m, "List-Unsubscribe"))
	if strings.Contains(strings.ToLower(header(m, "List-Unsubscribe-Post")), "one-click") {
		score += 1.5
		why = append(why, "one-click List-Unsubscribe-Post")
	}
	switch {
	case strings.Contains(lu, "http"):
		score++
		why = append(why, "List-Unsubscribe link")
	case lu != "":
		score += 0.5
		why = append(why, "List-Unsubscribe mailto")
	}
	if hasHeader(m, "Feedback-ID") {
		score++
		why = append(why, "Feedback-ID")
	}
	mailing := lu != "" // declares itself a mailing one can leave
	switch prec := strings.ToLower(strings.TrimSpace(header(m, "Precedence"))); prec {
	case "bulk", "junk":
		mailing = true
		score++
		why = append(why, "Precedence: "+prec)
	case "list":
		score += 0.5
		why = append(why, "Precedence: list")
	}
	if hasHeader(m, "List-Id") {
		score += 0.5
		why = append(why, "List-Id")
	}
	if score == 0 {
		return nil
	}
	discussion := hasHeader(m, "List-Post") || hasHeader(m, "In-Reply-To") || strings.HasPrefix(strings.ToLower(strings.TrimSpace(m.Subject)), "re:")
	if discussion && esp == "" {
		score /= 4
		why = append(why, "discussion list (counted a quarter)")
	}
	out := []Trigger{{Name: TrigBulkHeaders, Score: min(score, scoreMaxBulkHeaderRule), Category: CatBulk, Field: "headers", Portion: esp,
		Detail: "bulk mail headers: " + strings.Join(why, ", ")}}
	if !discussion && m.HTML != "" {
		if t, ok := unsubscribeTrigger(m, mailing); ok {
			out = append(out, t)
		}
	}
	return out
}

var unsubWords = []string{"unsubscribe", "opt-out", "opt out", "optout", "abmelden", "abbestellen", "désabonner", "desabonner",
	"désinscri", "desinscri", "darse de baja", "cancelar suscripción", "descadastr", "cancelar inscrição", "afmelden", "uitschrijven",
	"disiscriviti", "email preferences", "manage preferences", "manage your subscription", "manage notifications", "notification settings", "email settings"}

func isUnsubLink(l message.Link) bool {
	s := strings.ToLower(l.Text + " " + l.Href)
	for _, w := range unsubWords {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// unsubscribeTrigger: in HTML mail with bulk headers, the unsubscribe link is
// hidden (display:none, tiny, same colour) or an image only; or, in mail that
// declares itself a mailing (List-Unsubscribe, Precedence: bulk), absent from the
// body. Receipts and notices sent through an ESP carry its headers but rightly
// have no unsubscribe link.
func unsubscribeTrigger(m *message.Message, mailing bool) (Trigger, bool) {
	var found, visible int
	first := ""
	for _, l := range m.Links {
		if !isUnsubLink(l) {
			continue
		}
		found++
		if first == "" {
			first = l.Href
		}
		if !l.Hidden && !l.Image {
			visible++
		}
	}
	switch {
	case found == 0 && !mailing:
		return Trigger{}, false
	case found == 0:
		return Trigger{Name: TrigObscuredUnsubscribe, Score: scoreMissingUnsub, Category: CatBulk, Field: "body",
			Detail: "marketing mail with bulk headers but no unsubscribe link in the body"}, true
	case visible == 0:
		return Trigger{Name: TrigObscuredUnsubscribe, Score: scoreObscuredUnsub, Category: CatBulk, Field: "link", Portion: first,
			Detail: fmt.Sprintf("unsubscribe link is hidden or image-only (%d found, none visible as text)", found)}, true
	}
	return Trigger{}, false
}
