package detect

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/mailwarden/mailwarden/internal/auth"
	"github.com/mailwarden/mailwarden/internal/bayes"
	"github.com/mailwarden/mailwarden/internal/message"
)

// BayesScorer is the content model as detection uses it; *bayes.Models
// implements it. A nil scorer means no content model (BayesSpam -1).
type BayesScorer interface {
	Score(ctx context.Context, accountID int64, m *message.Message) bayes.Score
}

// Detector gives messages their verdict. It is safe for concurrent use and
// holds no per-message state.
type Detector struct {
	Config Config
	Bayes  BayesScorer  // may be nil
	Logger *slog.Logger // may be nil
}

// New returns a Detector with cfg (zero fields take defaults) and an optional scorer.
func New(cfg Config, scorer BayesScorer) *Detector {
	return &Detector{Config: cfg.withDefaults(), Bayes: scorer}
}

// Detect decides the disposition of m given its authentication results a and
// the account policy p (nil: empty policy). The client IP for IP allow/block
// patterns is unknown here; use DetectFrom when it is known.
func (d *Detector) Detect(ctx context.Context, m *message.Message, a auth.Result, p *Policy) Verdict {
	return d.DetectFrom(ctx, m, a, p, nil)
}

// DetectFrom is Detect with the connecting client's IP address (may be nil).
//
// Order: exempt recipients and trusted senders bypass detection (NONE); every
// trigger is then collected; acceptable senders drop SPAM, SPOOF and BULK
// triggers; a blocked sender is MALICIOUS whatever else was found; otherwise
// the category scores decide (see Thresholds).
func (d *Detector) DetectFrom(ctx context.Context, m *message.Message, a auth.Result, p *Policy, clientIP net.IP) Verdict {
	cfg := d.Config.withDefaults()
	if p == nil {
		p = &Policy{}
	}
	if m == nil {
		m = &message.Message{}
	}
	s := sender{
		addr:     strings.ToLower(m.From.Addr),
		domain:   m.From.Domain(),
		envAddr:  strings.ToLower(a.EnvelopeFromDomain),
		clientIP: clientIP,
	}
	authed := authenticated(m, a)

	// Policy bypasses.
	for _, ap := range p.AllowPolicies {
		if !ap.IsExemptRecipient {
			continue
		}
		for _, r := range slices.Concat(m.To, m.Cc) {
			if matchRecipient(ap.Pattern, ap.PatternType, ap.IsRegex, strings.ToLower(r.Addr)) {
				return bypass(TrigExemptRecipient, "recipient "+r.Addr+" is exempt from detection (allow policy "+ap.Pattern+")", "To", r.Addr)
			}
		}
	}
	acceptable := false
	for _, ap := range p.AllowPolicies {
		if !ap.IsTrustedSender && !ap.IsAcceptableSender {
			continue
		}
		if !matchPattern(ap.Pattern, ap.PatternType, ap.IsRegex, s) {
			continue
		}
		if ap.VerifySender && !authed {
			continue
		}
		if ap.IsTrustedSender {
			return bypass(TrigTrustedSender, "sender "+m.From.Addr+" is trusted (allow policy "+ap.Pattern+")", "From", m.From.Addr)
		}
		acceptable = true
	}
	blocked := ""
	for _, b := range p.BlockSenders {
		if matchPattern(b.Pattern, b.PatternType, b.IsRegex, s) {
			blocked = b.Pattern
			break
		}
	}

	v := Verdict{Triggers: []Trigger{}, Scores: map[Category]float64{}, BayesSpam: -1}
	add := func(ts ...Trigger) { v.Triggers = append(v.Triggers, ts...) }

	add(authTriggers(m, a, p, authed)...)
	add(phishTriggers(m, a, p)...)
	add(linkTriggers(m, p)...)
	add(attachmentTriggers(m)...)
	add(contentTriggers(ctx, m, p, authed)...)
	add(bulkTriggers(m)...)
	if d.Bayes != nil && ctx.Err() == nil {
		sc := d.Bayes.Score(ctx, p.AccountID, m)
		v.BayesSpam = sc.Spam
		add(bayesTriggers(sc, cfg.Thresholds)...)
		// The model's opinion also weighs the heuristics read from the same words
		// and links: discounted while it rates the mail ham or leans that way,
		// strengthened once it leans bad.
		switch {
		case sc.Spam < 0:
		case sc.Spam <= cfg.Thresholds.BayesHam:
			add(bayesHamPhish(sc, v.Triggers, 1)...)
		case sc.Spam < cfg.Thresholds.BayesBulk: // leans ham
			add(bayesHamPhish(sc, v.Triggers, 0.5)...)
		case sc.Spam < cfg.Thresholds.BayesLeanSpam: // unsure
			add(bayesHamPhish(sc, v.Triggers, 0.5)...)
			if !brandNotice(m, authed) {
				add(freemailScam(m, sc)...)
			}
		default: // leans bad or is bad
			if !brandNotice(m, authed) {
				add(freemailScam(m, sc)...)
			}
			if !hasTrigger(v.Triggers, TrigBayesPhish) {
				add(bayesBadPhish(sc, v.Triggers, cfg.Thresholds)...)
			}
		}
	}
	if hasTrigger(v.Triggers, TrigBayesPhish) {
		if bv := brandVouched(m, p, authed); bv != nil {
			add(bv...)
		} else if org, ok := coherentSender(m, p, authed); ok {
			add(Trigger{Name: TrigCoherentSender, Score: -scoreBayesPhish, Category: CatPhish, Field: "From", Portion: org,
				Detail: fmt.Sprintf("the display name names %s, the From organisation, and every link and Reply-To stays on it: the content model's phishing call is discounted (BULK: the model still rates the mail unwanted)", org)})
		}
	}
	add(establishedSender(ctx, m, p, authed, cfg.now(), v.Triggers)...)
	for _, pr := range m.Problems {
		add(Trigger{Name: pr.Code, Score: 0, Detail: pr.Detail, Category: CatInfo, Field: "message"})
	}

	if acceptable {
		v.Triggers = slices.DeleteFunc(v.Triggers, func(t Trigger) bool {
			return t.Category == CatSpam || t.Category == CatSpoof || t.Category == CatBulk
		})
		add(Trigger{Name: TrigAcceptableSender, Detail: "sender " + m.From.Addr + " is an acceptable sender: exempt from spam, spoof and bulk", Category: CatPolicy, Field: "From", Portion: m.From.Addr})
	}
	if blocked != "" {
		add(Trigger{Name: TrigBlockedSender, Score: cfg.Thresholds.MaliciousPhish, Detail: "sender matches block entry " + blocked, Category: CatPolicy, Field: "From", Portion: m.From.Addr})
	}
	for _, t := range v.Triggers {
		if t.Category != CatInfo && t.Category != CatPolicy {
			v.Scores[t.Category] += t.Score
		}
	}
	mailer := ""
	identified := func() bool { // only asked for mail on its way to SPAM
		var ok bool
		mailer, ok = identifiedMailer(m, a)
		return ok
	}
	var why string
	v.Disposition, why = decide(v, cfg.Thresholds, blocked != "", identified)
	switch why {
	case TrigModelOnly:
		add(Trigger{Name: TrigModelOnly, Category: CatInfo, Field: "body",
			Detail: "only the content model points at spam (no other spam, phishing or malformation signal): BULK rather than SPAM"})
	case TrigIdentifiedMailer:
		add(Trigger{Name: TrigIdentifiedMailer, Category: CatInfo, Field: "From", Portion: mailer,
			Detail: "commercial mail from a sender that stands behind it (envelope sender, Reply-To and a visible unsubscribe link all at " + mailer + ", well-formed, no authentication failure): BULK rather than SPAM"})
	}
	if d.Logger != nil {
		d.Logger.DebugContext(ctx, "detect", "message_id", m.MessageID, "disposition", v.Disposition, "triggers", len(v.Triggers))
	}
	return v
}

func bypass(name, detail, field, portion string) Verdict {
	return Verdict{
		Disposition: None,
		Triggers:    []Trigger{{Name: name, Detail: detail, Category: CatPolicy, Field: field, Portion: portion}},
		Scores:      map[Category]float64{},
		BayesSpam:   -1,
	}
}

// decide applies the thresholds in precedence order
// MALICIOUS > SPOOF > SUSPICIOUS > SPAM > BULK > NONE. A spam score becomes BULK
// rather than SPAM when the content model alone reached it (why is
// TrigModelOnly, see Thresholds.Spam) or when the sender is an identified mailer
// (why is TrigIdentifiedMailer, see identifiedMailer).
func decide(v Verdict, t Thresholds, blocked bool, identified func() bool) (d Disposition, why string) {
	if blocked {
		return Malicious, ""
	}
	phish := v.Scores[CatPhish]
	n, strongest := 0, 0.0
	for _, tr := range v.Triggers {
		if tr.Category == CatPhish && tr.Score > 0 {
			n++
			strongest = max(strongest, tr.Score)
		}
	}
	switch {
	case phish >= t.MaliciousPhish && (n >= t.MinMaliciousTriggers || strongest >= t.MaliciousPhish):
		return Malicious, ""
	case v.Scores[CatSpoof] >= t.Spoof:
		return Spoof, ""
	case phish >= t.SuspiciousPhish:
		return Suspicious, ""
	case v.Scores[CatSpam] >= t.Spam:
		if !spamBeyondModel(v.Triggers) {
			return Bulk, TrigModelOnly
		}
		if !malformed(v.Triggers) && identified() {
			return Bulk, TrigIdentifiedMailer
		}
		return Spam, ""
	case v.Scores[CatBulk] >= t.Bulk || hasTrigger(v.Triggers, TrigBayesLean) || hasTrigger(v.Triggers, TrigCoherentSender):
		return Bulk, ""
	}
	return None, ""
}

// malformed reports a parse problem that counts as a malformation.
func malformed(ts []Trigger) bool {
	for _, t := range ts {
		if t.Category == CatInfo && malformation[t.Name] {
			return true
		}
	}
	return false
}

// spamBeyondModel reports whether a signal other than the content model points at
// spam: a scoring spam or phishing trigger, an SPF failure, or a malformed message
// (well-behaved bulk senders produce well-formed mail).
func spamBeyondModel(ts []Trigger) bool {
	if malformed(ts) {
		return true
	}
	for _, t := range ts {
		switch {
		case t.Score <= 0:
		case t.Name == TrigBayesSpam || t.Name == TrigBayesLean || t.Name == TrigBayesPhish || t.Name == TrigNoRecipients:
		case t.Category == CatSpam || t.Category == CatPhish || t.Name == TrigSPFFail:
			return true
		}
	}
	return false
}

// malformation are the parse problems (message.Problem codes) that count as a
// spam signal: broken structure, not merely odd encoding.
var malformation = map[string]bool{
	message.ProblemBadHeader: true, message.ProblemMalformedMIME: true, message.ProblemNoFrom: true,
}

func hasTrigger(ts []Trigger, name string) bool {
	for _, t := range ts {
		if t.Name == name {
			return true
		}
	}
	return false
}

// bayesTriggers turns the model's score into at most one trigger.
func bayesTriggers(sc bayes.Score, t Thresholds) []Trigger {
	if sc.Spam < 0 {
		return nil
	}
	clues := ""
	if len(sc.Clues) > 0 {
		var parts []string
		for _, c := range sc.Clues {
			parts = append(parts, fmt.Sprintf("%q %.2f", c.Token, c.Prob))
		}
		clues = "; strongest tokens: " + strings.Join(parts, ", ")
	}
	switch {
	case sc.Spam >= t.BayesSpam && sc.Phish >= t.BayesPhish:
		return []Trigger{{Name: TrigBayesPhish, Score: scoreBayesPhish, Category: CatPhish, Field: "body",
			Detail: fmt.Sprintf("content model: %.3f bad, %.3f of that phishing%s", sc.Spam, sc.Phish, clues)}}
	case sc.Spam >= t.BayesSpam:
		return []Trigger{{Name: TrigBayesSpam, Score: t.Spam + (sc.Spam-t.BayesSpam)*10, Category: CatSpam, Field: "body",
			Detail: fmt.Sprintf("content model: spam probability %.3f%s", sc.Spam, clues)}}
	case sc.Spam >= t.BayesLeanSpam:
		return []Trigger{{Name: TrigBayesLean, Score: t.Spam - 0.5, Category: CatSpam, Field: "body",
			Detail: fmt.Sprintf("content model: spam probability %.3f, leaning spam but unsure: BULK, or SPAM with one more spam signal%s", sc.Spam, clues)}}
	case sc.Spam >= t.BayesBulk:
		return []Trigger{{Name: TrigBayesUnsure, Score: t.Bulk, Category: CatBulk, Field: "body",
			Detail: fmt.Sprintf("content model: spam probability %.3f, more likely unwanted than not: BULK rather than the inbox%s", sc.Spam, clues)}}
	case sc.Spam <= t.BayesHam:
		return []Trigger{{Name: TrigBayesHam, Score: scoreBayesHam, Category: CatSpam, Field: "body",
			Detail: fmt.Sprintf("content model: spam probability %.3f%s", sc.Spam, clues)}}
	}
	return nil
}

// softPhish are the phish triggers read from the same links and words the
// content model reads: each is common in legitimate mail too (tracked links,
// quoted IP addresses, blog hosting, account notices). Identity and payload
// triggers (lookalike domains, executive names, payment requests, attachments,
// forms, smuggling) are not soft: a short impersonation request can read like
// ham to a word model, so the model's opinion never discounts them.
var softPhish = map[string]bool{
	TrigLinkTextMismatch: true, TrigIPLiteralLink: true, TrigURLShortenerLink: true, TrigFreeHostingLink: true, TrigFreeHostingSender: true,
	TrigCredentialLanguage: true, TrigDisplayNameAddress: true, TrigReplyToDivert: true, TrigAdvanceFeeFraud: true,
}

// bayesHamPhish: when the content model rates a message ham, its soft phish
// triggers count for less: the share of their score taken off (1 when the model
// is confident, 0.5 when it only leans ham), at most maxBayesHamPhish.
func bayesHamPhish(sc bayes.Score, ts []Trigger, share float64) []Trigger {
	soft := 0.0
	var names []string
	for _, t := range ts {
		if t.Category == CatPhish && softPhish[t.Name] && t.Score > 0 {
			soft += t.Score
			names = append(names, t.Name)
		}
	}
	if soft == 0 {
		return nil
	}
	return []Trigger{{Name: TrigBayesHamPhish, Score: -min(soft*share, maxBayesHamPhish), Category: CatPhish, Field: "body",
		Detail: fmt.Sprintf("content model: spam probability %.3f, the content is like ham; discounted: %s", sc.Spam, strings.Join(names, ", "))}}
}

// bayesBadPhish: when the content model leans bad (BayesLeanSpam and above) but
// does not call it phishing by its words, soft phishing indicators in it mean it is more than
// an advertisement: disguised links, shorteners, account pretexts or diverted
// replies on top of spam content is how phishing that reads like spam looks.
// With any one of them the message reaches SUSPICIOUS (the trigger scores what
// is missing to get there, so it never makes MALICIOUS on its own).
func bayesBadPhish(sc bayes.Score, ts []Trigger, t Thresholds) []Trigger {
	var names []string
	phish := 0.0
	for _, tr := range ts {
		if tr.Category == CatPhish {
			phish += tr.Score
			if (softPhish[tr.Name] || tr.Name == TrigPaymentRequest) && tr.Score > 0 {
				names = append(names, tr.Name)
			}
		}
	}
	if len(names) == 0 || phish >= t.SuspiciousPhish {
		return nil
	}
	return []Trigger{{Name: TrigBayesBadPhish, Score: t.SuspiciousPhish - phish, Category: CatPhish, Field: "body",
		Detail: fmt.Sprintf("content model: spam probability %.3f, with phishing indicators: %s", sc.Spam, strings.Join(names, ", "))}}
}

// freemailScam: mail the content model rates more likely bad than good, sent
// from a consumer mailbox or asking for replies to one. Companies send their
// marketing from their own domains; loan, job, lottery, inheritance and
// "business proposal" scams come from (or answer to) free mailboxes, because
// the scammer needs the conversation. Fraud is phishing's class (DESIGN.md).
func freemailScam(m *message.Message, sc bayes.Score) []Trigger {
	field, addr := "", ""
	if isFreemail(m.From.Domain()) {
		field, addr = "From", m.From.Addr
	} else {
		for _, r := range m.ReplyTo {
			if isFreemail(r.Domain()) {
				field, addr = "Reply-To", r.Addr
				break
			}
		}
	}
	if field == "" {
		return nil
	}
	return []Trigger{{Name: TrigFreemailScam, Score: scoreFreemailScam, Category: CatPhish, Field: field, Portion: addr,
		Detail: fmt.Sprintf("content model rates it bad (%.3f) and %s is a consumer mailbox (%s): how scams, not companies, write", sc.Spam, field, addr)}}
}

// authenticated reports whether the From domain is authenticated: DMARC pass, or
// (without a DMARC verdict) SPF or DKIM passing for the From organisation.
func authenticated(m *message.Message, a auth.Result) bool {
	if a.DMARC.Result == auth.ResultPass {
		return true
	}
	from := registrable(m.From.Domain())
	if from == "" {
		return false
	}
	if a.SPF.Result == auth.ResultPass && registrable(a.SPF.Domain) == from {
		return true
	}
	for _, k := range a.DKIM {
		if k.Result == auth.ResultPass && registrable(k.Domain) == from {
			return true
		}
	}
	return false
}

// header returns the first value of the named header, "" if absent.
func header(m *message.Message, name string) string {
	for _, h := range m.Headers {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

func hasHeader(m *message.Message, name string) bool {
	for _, h := range m.Headers {
		if strings.EqualFold(h.Name, name) {
			return true
		}
	}
	return false
}

// Established senders: an authenticated address with at least
// establishedClean earlier messages judged clean, the first of them at least
// establishedAge ago, and at most one in five of its mail judged bad.
const (
	establishedClean = 3
	establishedAge   = 7 * 24 * time.Hour
)

// modelPhish are the phish triggers that stand on the content model's opinion.
var modelPhish = map[string]bool{TrigBayesPhish: true, TrigBayesBadPhish: true, TrigFreemailScam: true, TrigBrandConsistent: true}

// establishedSender discounts the phish score that stands on the content
// model's opinion alone (bayes_phish, bayes_bad_phish, freemail_scam) for mail
// authenticated from an address the organisation has had clean mail from for a
// while: a supplier's invoices, a colleague at a consumer mailbox. Identity and
// payload triggers (lookalikes, links, attachments, payment requests) are not
// discounted, so a compromised correspondent's malicious link still counts.
func establishedSender(ctx context.Context, m *message.Message, p *Policy, authed bool, now time.Time, ts []Trigger) []Trigger {
	score := 0.0
	for _, t := range ts {
		if modelPhish[t.Name] {
			score += t.Score
		}
	}
	if score <= 0 || !authed {
		return nil
	}
	h, ok := p.history(ctx, m.From.Addr)
	if !ok || h.Clean < establishedClean || (h.Messages-h.Clean)*5 > h.Messages || now.Sub(h.First) < establishedAge {
		return nil
	}
	return []Trigger{{Name: TrigEstablishedSender, Score: -score, Category: CatPhish, Field: "From", Portion: m.From.Addr,
		Detail: fmt.Sprintf("authenticated sender %s has sent %d clean messages since %s: the content model's phishing call is discounted",
			m.From.Addr, h.Clean, h.First.Format("2006-01-02"))}}
}
