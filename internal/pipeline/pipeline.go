// Package pipeline is the one code path every message takes, whether it arrives by
// SMTP, milter, the API or the CLI: parse (bounded) → authenticate (SPF, DKIM,
// DMARC) → detect (policies, triggers, Bayes, campaign) → store → route (deliver
// or hold). Analyze runs the first three without storing (offline scan).
package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/mailwarden/mailwarden/internal/auth"
	"github.com/mailwarden/mailwarden/internal/bayes"
	"github.com/mailwarden/mailwarden/internal/detect"
	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/internal/metrics"
	"github.com/mailwarden/mailwarden/internal/store"
)

// Delivery modes as Cloudflare names them.
const (
	ModeDirect  = "DIRECT"  // inline MX
	ModeAPI     = "API"     // uploaded through the API or CLI
	ModeJournal = "JOURNAL" // imported for scanning only, never delivered
)

// Envelope is what the transport knows about a message.
type Envelope struct {
	ClientIP   net.IP
	Helo       string
	MailFrom   string
	Recipients []string
	Mode       string
	// FromHeaders fills ClientIP, Helo and MailFrom from the message's own Return-Path
	// and topmost Received header where they are empty (offline scan, import).
	FromHeaders bool
	// MTADelivers says the MTA that handed the message over delivers it itself
	// (a milter's Postfix): a message that is not held is recorded as delivered
	// and never queued for the relay, which would send it a second time. A held
	// one is quarantined as always and can be released through the relay.
	MTADelivers bool
}

// PolicySource gives the detection policy of an account (allow and block lists,
// protected domains, executives; nil for "no policy") and its quarantine rule.
type PolicySource interface {
	Policy(ctx context.Context, accountID int64) (*detect.Policy, error)
	// Holds reports whether mail of this disposition for these recipients is held.
	Holds(ctx context.Context, accountID int64, recipients []string, disposition string) (bool, error)
}

// Pipeline holds the stages. Store and Policies may be nil for offline analysis.
type Pipeline struct {
	Auth     *auth.Checker
	Detector *detect.Detector
	Store    store.Store
	Policies PolicySource
	Limits   message.Limits
	Log      *slog.Logger
	// CampaignBits is the simhash distance within which two messages are one campaign.
	CampaignBits int
	// Delivered is called after a message was queued for delivery (wakes the relay).
	Delivered func()
	// Now is the clock (tests may set it).
	Now func() time.Time
	// Metrics, when set, counts scans.
	Metrics *metrics.Metrics
	// Learn, when set, autolearns clean mail as ham (see AutoLearn).
	Learn Learner
}

// Learner trains an account's content model.
type Learner interface {
	Train(ctx context.Context, account int64, m *message.Message, c bayes.Class) (bool, error)
}

// AutoLearn says whether a verdict is clean enough to train the content model as
// ham on arrival, as SpamAssassin's autolearn does: NONE with no trigger that
// raised any score. A message learnt wrongly is fixed by a reclassification,
// which untrains it and trains the right class (the model records what each
// message was trained as), so the model keeps learning from ordinary mail and
// the team's corrections weigh on top. Spam is never autolearnt.
func AutoLearn(v detect.Verdict) bool {
	if v.Disposition != detect.None {
		return false
	}
	for _, t := range v.Triggers {
		if t.Score > 0 {
			return false
		}
	}
	return true
}

// Analysis is the result of parse, authenticate and detect.
type Analysis struct {
	Message  *message.Message
	Envelope Envelope
	Auth     auth.Result
	Verdict  detect.Verdict
}

func (p *Pipeline) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// Analyze parses, authenticates and scores a message. It never fails: bad input is
// reported as triggers in the verdict.
func (p *Pipeline) Analyze(ctx context.Context, raw []byte, env Envelope, pol *detect.Policy) Analysis {
	m := message.Parse(raw, p.Limits)
	if env.FromHeaders {
		h := m.Envelope()
		if env.ClientIP == nil {
			env.ClientIP = h.ClientIP
		}
		if env.Helo == "" {
			env.Helo = h.Helo
		}
		if env.MailFrom == "" {
			env.MailFrom = h.MailFrom
		}
	}
	in := auth.Input{
		ClientIP:   env.ClientIP,
		Helo:       env.Helo,
		MailFrom:   env.MailFrom,
		Raw:        raw,
		HeaderFrom: m.From.Addr,
	}
	if len(m.ReplyTo) > 0 {
		in.ReplyTo = m.ReplyTo[0].Addr
	}
	a := p.Auth.Check(ctx, in)
	v := p.Detector.DetectFrom(ctx, m, a, pol, env.ClientIP)
	return Analysis{Message: m, Envelope: env, Auth: a, Verdict: v}
}

// NewID returns a new URL-safe message id (Cloudflare's postfix_id shape).
func NewID() string {
	var b [10]byte
	rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// Details is what detail views read back from a stored message.
type Details struct {
	Headers     []message.Header     `json:"headers"`
	Links       []message.Link       `json:"links"`
	Attachments []message.Attachment `json:"attachments"`
	Problems    []message.Problem    `json:"problems"`
	BayesSpam   float64              `json:"bayes_spam"`
}

// Accept runs the whole pipeline for one message arriving for an account: it is
// analysed, stored durably with its routing decision, and queued for delivery
// unless held. When Accept returns nil the message is on disk.
func (p *Pipeline) Accept(ctx context.Context, acct store.Account, raw []byte, env Envelope) (*store.Message, Analysis, error) {
	var pol *detect.Policy
	if p.Policies != nil {
		var err error
		if pol, err = p.Policies.Policy(ctx, acct.ID); err != nil {
			return nil, Analysis{}, fmt.Errorf("pipeline: policy: %w", err)
		}
	}
	// The policy names the account so detection scores with the account's own model.
	if pol == nil {
		pol = &detect.Policy{}
	}
	if pol.AccountID != acct.ID {
		c := *pol
		c.AccountID = acct.ID
		pol = &c
	}
	start := time.Now()
	an := p.Analyze(ctx, raw, env, pol)
	if p.Metrics != nil {
		p.Metrics.ScanTime.Observe(time.Since(start).Seconds())
		p.Metrics.Messages.WithLabelValues(string(an.Verdict.Disposition), env.Mode).Inc()
		for _, t := range an.Verdict.Triggers {
			p.Metrics.Triggers.WithLabelValues(t.Name).Inc()
		}
	}
	rec := p.Record(acct, raw, an)
	if an.Message.SimHash != 0 {
		cid, err := p.Store.Campaign(ctx, acct.ID, rec.StructureHash, rec.SimHash, p.campaignBits())
		if err != nil {
			return nil, an, fmt.Errorf("pipeline: campaign: %w", err)
		}
		if cid != "" {
			rec.CampaignID = cid
		}
	}
	hold := acct.Holds(string(an.Verdict.Disposition))
	if p.Policies != nil {
		h, err := p.Policies.Holds(ctx, acct.ID, an.Envelope.Recipients, string(an.Verdict.Disposition))
		if err != nil {
			return nil, an, fmt.Errorf("pipeline: quarantine policy: %w", err)
		}
		hold = h
	}
	var deliverTo []string
	switch {
	case an.Envelope.Mode == ModeJournal:
		rec.DeliveryStatus = store.StatusJournaled
	case hold:
		rec.DeliveryStatus = store.StatusQuarantined
		rec.IsQuarantined = true
	case an.Envelope.MTADelivers:
		rec.DeliveryStatus = store.StatusDelivered
	default:
		rec.DeliveryStatus = store.StatusQueued
		deliverTo = an.Envelope.Recipients
	}
	trace := []string{
		fmt.Sprintf("received from %s (helo %s) mail from <%s> for %d recipient(s), %d bytes",
			ipString(an.Envelope.ClientIP), an.Envelope.Helo, an.Envelope.MailFrom, len(an.Envelope.Recipients), len(raw)),
		fmt.Sprintf("authentication: spf=%s dkim=%s dmarc=%s", an.Auth.SPF.Result, an.Auth.DKIMSummary(), an.Auth.DMARC.Result),
		fmt.Sprintf("disposition %s (%d trigger(s)), %s", an.Verdict.Disposition, len(an.Verdict.Triggers), rec.DeliveryStatus),
	}
	if an.Envelope.MTADelivers {
		if rec.IsQuarantined {
			trace = append(trace, "the MTA was told to discard it; it stays in quarantine here")
		} else {
			trace = append(trace, "handed back to the MTA for delivery")
		}
	}
	if err := p.Store.InsertMessage(ctx, rec, raw, trace, deliverTo); err != nil {
		return nil, an, err
	}
	if len(deliverTo) > 0 && p.Delivered != nil {
		p.Delivered()
	}
	if p.Learn != nil && AutoLearn(an.Verdict) {
		if _, err := p.Learn.Train(ctx, acct.ID, an.Message, bayes.Ham); err != nil && p.Log != nil {
			// The message is stored; a failed autolearn only loses one training example.
			p.Log.Warn("autolearn failed", "id", rec.ID, "err", err)
		}
	}
	if p.Log != nil {
		p.Log.Info("message accepted", "id", rec.ID, "account", acct.ID, "disposition", rec.Disposition, "status", rec.DeliveryStatus, "size", len(raw))
	}
	return rec, an, nil
}

func (p *Pipeline) campaignBits() int {
	if p.CampaignBits > 0 {
		return p.CampaignBits
	}
	return 3
}

func ipString(ip net.IP) string {
	if ip == nil {
		return "unknown"
	}
	return ip.String()
}

// Record builds the stored form of an analysed message.
func (p *Pipeline) Record(acct store.Account, raw []byte, an Analysis) *store.Message {
	m := an.Message
	id := NewID()
	rec := &store.Message{
		ID:            id,
		AccountID:     acct.ID,
		MessageID:     m.MessageID,
		Subject:       m.Subject,
		FromAddr:      m.From.Addr,
		FromName:      m.From.Name,
		FromDomain:    m.From.Domain(),
		EnvelopeFrom:  an.Envelope.MailFrom,
		EnvelopeTo:    an.Envelope.Recipients,
		ClientIP:      ipString(an.Envelope.ClientIP),
		Helo:          an.Envelope.Helo,
		SentAt:        m.Date,
		ScannedAt:     p.now(),
		Disposition:   string(an.Verdict.Disposition),
		DeliveryMode:  an.Envelope.Mode,
		StructureHash: m.StructureHash,
		SimHash:       m.SimHash,
		CampaignID:    id,
		Size:          int64(len(raw)),
	}
	if an.Envelope.ClientIP == nil {
		rec.ClientIP = ""
	}
	if len(m.ReplyTo) > 0 {
		rec.ReplyTo = m.ReplyTo[0].Addr
	}
	for _, a := range append(append([]message.Address{}, m.To...), m.Cc...) {
		rec.To = append(rec.To, a.Addr)
	}
	var att []string
	for _, a := range m.Attachments {
		att = append(att, a.Name, a.MD5, a.SHA1, a.SHA256)
	}
	rec.SearchAttachments = strings.Join(att, " ")
	triggers := an.Verdict.Triggers
	if triggers == nil {
		triggers = []detect.Trigger{}
	}
	rec.Triggers, _ = json.Marshal(triggers)
	rec.Auth, _ = json.Marshal(an.Auth)
	rec.Details, _ = json.Marshal(Details{
		Headers:     m.Headers,
		Links:       m.Links,
		Attachments: m.Attachments,
		Problems:    m.Problems,
		BayesSpam:   an.Verdict.BayesSpam,
	})
	return rec
}
