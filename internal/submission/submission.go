// Package submission is the reclassification lifecycle (DESIGN.md,
// "Reclassification and submissions"): a submission asks that a message's
// disposition become another. Team submissions are applied by a worker from a
// durable queue in the store (at-least-once, every step idempotent): the message
// is reclassified, the content model retrained (never twice for one message),
// the message's campaign re-scored and re-routed, an optional allow or block
// entry created, and the submitter told the outcome by mail. User submissions
// are triaged (unreviewed, reviewed, escalated) and never retrain on their own.
// Mail to the report and team aliases becomes submissions too (aliases.go).
package submission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/mailwarden/mailwarden/internal/bayes"
	"github.com/mailwarden/mailwarden/internal/detect"
	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/internal/pipeline"
	"github.com/mailwarden/mailwarden/internal/store"
)

// Outcome codes: the machine-readable outcome of a submission (outcome_code).
const (
	OutcomeReclassified         = "reclassified"          // the message now has the requested disposition
	OutcomeAlreadyCorrect       = "already_correct"       // it had it already; nothing of the campaign changed
	OutcomeCampaignReclassified = "campaign_reclassified" // it had it already, other messages of its campaign changed
	OutcomeRejectedByReview     = "rejected_by_review"    // a user submission the team reviewed and did not act on
	OutcomeEscalated            = "escalated"             // a user submission the team made a team submission
	OutcomeDuplicate            = "duplicate"             // the same message and disposition were submitted before
	OutcomeNoMessage            = "invalid_no_message"    // the message is gone
	OutcomeFailed               = "failed"                // processing gave up after retries
	OutcomeInvalidNoEML         = "invalid_no_eml"        // no original attached
	OutcomeInvalidWrongType     = "invalid_wrong_type"    // an attachment, but not message/rfc822 or .eml
	OutcomeInvalidUnparseable   = "invalid_unparseable"   // the attachment is not a mail message
	OutcomeInvalidUnknownAlias  = "invalid_unknown_alias" // mail to an address at our host that is no alias
	OutcomeInvalidNotTeam       = "invalid_not_team"      // a team alias mailed by someone not on the team
)

// Reasons of invalid submissions (the listing's reason).
const (
	ReasonNoEML        = "no_eml_attached"
	ReasonWrongType    = "wrong_file_type"
	ReasonUnparseable  = "unparseable_eml"
	ReasonUnknownAlias = "unknown_alias"
	ReasonNotTeam      = "not_team_member"
	ReasonNoMessage    = "no_such_message"
)

var reasonOutcome = map[string]string{
	ReasonNoEML:        OutcomeInvalidNoEML,
	ReasonWrongType:    OutcomeInvalidWrongType,
	ReasonUnparseable:  OutcomeInvalidUnparseable,
	ReasonUnknownAlias: OutcomeInvalidUnknownAlias,
	ReasonNotTeam:      OutcomeInvalidNotTeam,
	ReasonNoMessage:    OutcomeNoMessage,
}

var reasonText = map[string]string{
	ReasonNoEML:        "no original message was attached; attach the message you report as a message/rfc822 part or an .eml file",
	ReasonWrongType:    "the attachment is not an email message; attach the original as a message/rfc822 part or an .eml file",
	ReasonUnparseable:  "the attached file could not be read as an email message",
	ReasonUnknownAlias: "this address is not a submission address",
	ReasonNotTeam:      "only members of the security team may send to the team addresses",
	ReasonNoMessage:    "the message no longer exists",
}

// Errors of Submit and the triage calls.
var (
	ErrNotFound      = errors.New("submission: no such message or submission")
	ErrRateLimited   = errors.New("submission: too many submissions; try again later")
	ErrTooLarge      = errors.New("submission: upload too large")
	ErrUnparseable   = errors.New("submission: the upload is not an email message")
	ErrNotUser       = errors.New("submission: not a user submission")
	ErrAlreadyTriage = errors.New("submission: already reviewed or escalated")
	ErrBadPolicy     = errors.New("submission: invalid policy")
)

// Policy types of the optional allow or block entry a team submission creates.
const (
	PolicyBlockSender      = "block_sender"
	PolicyAcceptableSender = "acceptable_sender"
	PolicyTrustedSender    = "trusted_sender"
)

// PolicyRequest asks for an allow or block entry for the message's sender.
type PolicyRequest struct {
	Type        string    `json:"type"`         // block_sender, acceptable_sender, trusted_sender
	PatternType string    `json:"pattern_type"` // EMAIL (the From address) or DOMAIN (its domain)
	ExpiresAt   time.Time `json:"expires_at"`   // zero: never expires
}

// Validate checks the request against now.
func (p PolicyRequest) Validate(now time.Time) error {
	switch p.Type {
	case PolicyBlockSender, PolicyAcceptableSender, PolicyTrustedSender:
	default:
		return fmt.Errorf("%w: type must be block_sender, acceptable_sender or trusted_sender, got %q", ErrBadPolicy, p.Type)
	}
	if p.PatternType != store.PatternEmail && p.PatternType != store.PatternDomain {
		return fmt.Errorf("%w: pattern_type must be EMAIL or DOMAIN, got %q", ErrBadPolicy, p.PatternType)
	}
	if !p.ExpiresAt.IsZero() && !p.ExpiresAt.After(now) {
		return fmt.Errorf("%w: expires_at is in the past", ErrBadPolicy)
	}
	return nil
}

// Limits a submitter cannot break.
type Limits struct {
	// Rate submissions per Window per account (default 150 per 15 minutes, as
	// Microsoft Defender's submissions).
	Rate   int
	Window time.Duration
	// MaxUpload is the largest uploaded or attached original, in bytes (default 25 MiB).
	MaxUpload int64
}

func (l Limits) withDefaults() Limits {
	if l.Rate == 0 {
		l.Rate = 150
	}
	if l.Window == 0 {
		l.Window = 15 * time.Minute
	}
	if l.MaxUpload == 0 {
		l.MaxUpload = 25 << 20
	}
	return l
}

// Holder says whether mail of a disposition to these recipients is held.
type Holder interface {
	Holds(ctx context.Context, accountID int64, recipients []string, disposition string) (bool, error)
}

// Mailer sends the gateway's own mail (outcome notices) through the relay.
type Mailer interface {
	SendMail(ctx context.Context, from string, to []string, data []byte) error
}

// ReleaseFunc delivers a held message to its recipients once (the API's release
// path, with its action and audit log entries).
type ReleaseFunc func(ctx context.Context, p store.Principal, m store.Message) error

// Service creates and processes submissions.
type Service struct {
	Store    store.Store
	Pipe     *pipeline.Pipeline // uploads are stored through it; campaigns re-scored with its detector and policies
	Models   *bayes.Models      // nil: no content model to retrain
	Holder   Holder             // nil: the account's hold dispositions
	Release  ReleaseFunc
	Mailer   Mailer // nil: no outcome mail
	Hostname string // default submission addresses are at this host; notices come from mailwarden@Hostname
	// DefaultAccount owns the default submission addresses (aliases.go); 0:
	// the account the listener files their mail under.
	DefaultAccount int64
	Limits         Limits
	Log            *slog.Logger
	// Now is the clock (tests may set it).
	Now func() time.Time
	// Lease is how long the worker holds a claimed submission between renewals
	// (default 2 minutes; renewed every third of it while processing).
	Lease time.Duration

	wake   chan struct{}
	routes routes // submission address routing cache (aliases.go)
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Request is one submission to create.
type Request struct {
	Type        string // store.SubmissionTeam or store.SubmissionUser
	Channel     string // store.ChannelAPI, ChannelUpload, ChannelMail
	RequestedBy string // principal name, or the reporter's address
	NotifyAddr  string // "" to look it up from the principal's contact
	// The message: MessageID (postfix_id) of a stored message, or EML, the original.
	MessageID     string
	EML           []byte
	Disposition   detect.Disposition
	EscalatedFrom string
	Policy        *PolicyRequest
}

// Result of Submit.
type Result struct {
	Submission store.Submission
	Created    bool // false: an earlier submission of the same message and disposition was returned
}

// Submit records a submission (durable when it returns) and wakes the worker.
func (s *Service) Submit(ctx context.Context, acct store.Account, req Request) (Result, error) {
	lim := s.Limits.withDefaults()
	now := s.now()
	if req.Channel != store.ChannelBulk {
		// A bulk job is limited where it is created.
		if n, err := s.Store.CountSubmissionsSince(ctx, acct.ID, now.Add(-lim.Window)); err != nil {
			return Result{}, err
		} else if n >= lim.Rate {
			return Result{}, ErrRateLimited
		}
	}
	if req.Policy != nil {
		if req.Type != store.SubmissionTeam {
			return Result{}, fmt.Errorf("%w: only team submissions create policies", ErrBadPolicy)
		}
		if err := req.Policy.Validate(now); err != nil {
			return Result{}, err
		}
	}
	var m store.Message
	var raw []byte
	var err error
	if req.EML != nil {
		if int64(len(req.EML)) > lim.MaxUpload {
			return Result{}, ErrTooLarge
		}
		if !Parseable(req.EML, s.limits()) {
			return Result{}, ErrUnparseable
		}
		if m, err = s.resolveOriginal(ctx, acct, req.EML); err != nil {
			return Result{}, err
		}
	} else {
		m, err = s.Store.GetMessage(ctx, acct.ID, req.MessageID)
		if errors.Is(err, store.ErrNotFound) {
			return Result{}, ErrNotFound
		}
		if err != nil {
			return Result{}, err
		}
	}
	if raw, err = s.Store.Raw(ctx, m.Seq); err != nil {
		return Result{}, err
	}
	notify := req.NotifyAddr
	if notify == "" && req.Channel != store.ChannelBulk {
		notify = s.contact(ctx, acct.ID, req.RequestedBy)
	}
	sub := store.Submission{
		AccountID:            acct.ID,
		Type:                 req.Type,
		Channel:              req.Channel,
		MessageSeq:           m.Seq,
		MessageID:            m.ID,
		RawKey:               bayes.Key(raw),
		Subject:              m.Subject,
		EdfHash:              m.CampaignID,
		OriginalDisposition:  m.Disposition,
		RequestedDisposition: string(req.Disposition),
		RequestedBy:          req.RequestedBy,
		NotifyAddr:           notify,
		EscalatedFrom:        req.EscalatedFrom,
		RequestedAt:          now,
	}
	if req.Policy != nil {
		sub.Policy, _ = json.Marshal(req.Policy)
	}
	if req.Type == store.SubmissionUser {
		// Triaged by the team; nothing for the worker to do.
		sub.CustomerStatus = store.CustomerUnreviewed
		sub.State = store.QueueDone
	}
	created, err := s.Store.CreateSubmission(ctx, &sub)
	if err != nil {
		return Result{}, err
	}
	if !created {
		return Result{Submission: sub}, nil
	}
	props := map[string]string{"submission_id": sub.ID, "type": sub.Type, "requested_disposition": sub.RequestedDisposition, "channel": sub.Channel}
	if err := s.Store.AddAction(ctx, m.Seq, store.Action{Operation: "SUBMISSION", Status: sub.Status, RequestedBy: sub.RequestedBy, Properties: props, CreatedAt: now}); err != nil {
		return Result{}, err
	}
	s.audit(ctx, sub, "submission.create", map[string]any{"type": sub.Type, "channel": sub.Channel, "message": m.ID,
		"original_disposition": sub.OriginalDisposition, "requested_disposition": sub.RequestedDisposition, "escalated_from": sub.EscalatedFrom})
	s.Wake()
	return Result{Submission: sub, Created: true}, nil
}

// Invalid records an invalid submission (reason is one of the Reason constants)
// and queues the mail that tells the submitter why.
func (s *Service) Invalid(ctx context.Context, acct store.Account, channel, requestedBy, notify, subject, reason string) (store.Submission, error) {
	now := s.now()
	sub := store.Submission{
		AccountID:   acct.ID,
		Type:        store.SubmissionInvalid,
		Channel:     channel,
		Status:      store.SubCompleted,
		State:       store.QueueDone,
		Subject:     subject,
		Reason:      reason,
		OutcomeCode: reasonOutcome[reason],
		Outcome:     "invalid submission: " + reasonText[reason],
		RequestedBy: requestedBy,
		NotifyAddr:  notify,
		RequestedAt: now,
		CompletedAt: now,
	}
	if notify != "" {
		sub.State = store.QueueNotify
	}
	if _, err := s.Store.CreateSubmission(ctx, &sub); err != nil {
		return sub, err
	}
	s.audit(ctx, sub, "submission.invalid", map[string]any{"reason": reason, "channel": channel})
	s.Wake()
	return sub, nil
}

// Review marks a user submission reviewed without acting on it: its outcome is
// rejected_by_review and the reporter is told.
func (s *Service) Review(ctx context.Context, p store.Principal, id string) (store.Submission, error) {
	sub, err := s.userSubmission(ctx, p.AccountID, id)
	if err != nil {
		return sub, err
	}
	now := s.now()
	sub.CustomerStatus = store.CustomerReviewed
	sub.Status = store.SubCompleted
	sub.OutcomeCode = OutcomeRejectedByReview
	sub.OutcomeDisposition = sub.OriginalDisposition
	sub.Outcome = fmt.Sprintf("reviewed by the security team: the message stays %s", label(sub.OriginalDisposition))
	sub.CompletedAt = now
	if sub.NotifyAddr != "" {
		sub.State = store.QueueNotify
		sub.NextAttempt = now
	}
	if err := s.Store.SaveSubmission(ctx, &sub); err != nil {
		return sub, err
	}
	s.audit(ctx, sub, "submission.review", map[string]any{"by": p.Name, "outcome_code": sub.OutcomeCode})
	s.Wake()
	return sub, nil
}

// Escalate makes a user submission a team submission (of disposition d, or the
// reporter's when empty), linked both ways.
func (s *Service) Escalate(ctx context.Context, acct store.Account, p store.Principal, id string, d detect.Disposition, pol *PolicyRequest) (store.Submission, Result, error) {
	user, err := s.userSubmission(ctx, acct.ID, id)
	if err != nil {
		return user, Result{}, err
	}
	if d == "" {
		d = detect.Disposition(user.RequestedDisposition)
	}
	res, err := s.Submit(ctx, acct, Request{Type: store.SubmissionTeam, Channel: store.ChannelAPI, RequestedBy: p.Name,
		MessageID: user.MessageID, Disposition: d, EscalatedFrom: user.ID, Policy: pol})
	if err != nil {
		return user, res, err
	}
	now := s.now()
	user.CustomerStatus = store.CustomerEscalated
	user.EscalatedAs = string(d)
	user.EscalatedAt = now
	user.EscalatedBy = p.Name
	user.EscalatedSubmissionID = res.Submission.ID
	user.OutcomeCode = OutcomeEscalated
	user.Outcome = "escalated to the security team as " + label(string(d)) + " (submission " + res.Submission.ID + ")"
	if err := s.Store.SaveSubmission(ctx, &user); err != nil {
		return user, res, err
	}
	s.audit(ctx, user, "submission.escalate", map[string]any{"by": p.Name, "team_submission": res.Submission.ID, "as": string(d)})
	return user, res, nil
}

func (s *Service) userSubmission(ctx context.Context, accountID int64, id string) (store.Submission, error) {
	sub, err := s.Store.GetSubmission(ctx, accountID, id)
	if errors.Is(err, store.ErrNotFound) {
		return sub, ErrNotFound
	}
	if err != nil {
		return sub, err
	}
	if sub.Type != store.SubmissionUser {
		return sub, ErrNotUser
	}
	if sub.CustomerStatus != store.CustomerUnreviewed {
		return sub, ErrAlreadyTriage
	}
	return sub, nil
}

// contact is where a principal wants outcome mail: a console user's name is
// their address; a token's address is recorded with `token create --email`.
func (s *Service) contact(ctx context.Context, accountID int64, principal string) string {
	if a, err := mail.ParseAddress(principal); err == nil && !strings.HasPrefix(principal, "token:") {
		return a.Address
	}
	email, err := s.Store.SubmissionContact(ctx, accountID, principal)
	if err != nil {
		s.log().Error("submission: contact", "principal", principal, "err", err)
	}
	return email
}

func (s *Service) limits() message.Limits {
	if s.Pipe != nil {
		return s.Pipe.Limits
	}
	return message.DefaultLimits
}

// Parseable reports whether raw reads as a mail message: a header block with a
// From address or a Message-ID.
func Parseable(raw []byte, lim message.Limits) bool {
	if len(raw) == 0 || strings.IndexByte(string(raw[:min(len(raw), 4096)]), 0) >= 0 {
		return false
	}
	m := message.Parse(raw, lim)
	return len(m.Headers) > 0 && (m.From.Addr != "" || m.MessageID != "")
}

// resolveOriginal finds the stored message an original refers to: by our
// X-Mailwarden-Id header (added on delivery) when its Message-ID agrees, else
// by Message-ID and identical bytes; a message never seen is scanned and stored
// (delivery mode API, delivered to no one).
func (s *Service) resolveOriginal(ctx context.Context, acct store.Account, eml []byte) (store.Message, error) {
	pm := message.Parse(eml, s.limits())
	if id := strings.TrimSpace(pm.Header("X-Mailwarden-Id")); id != "" {
		m, err := s.Store.GetMessage(ctx, acct.ID, id)
		if err == nil && (pm.MessageID == "" || m.MessageID == pm.MessageID) {
			return m, nil
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return m, err
		}
	}
	if pm.MessageID != "" {
		page, err := s.Store.Search(ctx, acct.ID, store.Query{MessageID: pm.MessageID, Limit: 20})
		if err != nil {
			return store.Message{}, err
		}
		key := bayes.Key(eml)
		for _, m := range page.Messages {
			raw, err := s.Store.Raw(ctx, m.Seq)
			if err != nil {
				return m, err
			}
			if bayes.Key(raw) == key {
				return m, nil
			}
		}
	}
	if s.Pipe == nil {
		return store.Message{}, ErrNotFound
	}
	rec, _, err := s.Pipe.Accept(ctx, acct, eml, pipeline.Envelope{Mode: pipeline.ModeAPI, FromHeaders: true})
	if err != nil {
		return store.Message{}, err
	}
	return *rec, nil
}

func (s *Service) audit(ctx context.Context, sub store.Submission, action string, detail map[string]any) {
	detail["submission_id"] = sub.ID
	b, _ := json.Marshal(detail)
	actor := sub.RequestedBy
	if by, ok := detail["by"].(string); ok {
		actor = by
	}
	if err := s.Store.Audit(ctx, store.AuditEntry{AccountID: sub.AccountID, Actor: actor, Action: action, Target: sub.ID, Detail: string(b)}); err != nil {
		s.log().Error("submission: audit", "err", err)
	}
}

// label is the console's name of a disposition.
func label(d string) string {
	if d == string(detect.None) {
		return "Clean (NONE)"
	}
	if d == "" {
		return "unknown"
	}
	return d
}

// BulkAction files one message of a bulk RECLASSIFY job as a team submission
// (the bulk worker's action): not rate limited, no campaign pass, no mail.
func (s *Service) BulkAction(ctx context.Context, j store.Job, m store.Message) error {
	acct, err := s.Store.Account(ctx, j.AccountID)
	if err != nil {
		return err
	}
	d, ok := detect.ParseDisposition(j.ExpectedDisposition)
	if !ok {
		return fmt.Errorf("submission: bulk job %s: disposition %q", j.ID, j.ExpectedDisposition)
	}
	_, err = s.Submit(ctx, acct, Request{Type: store.SubmissionTeam, Channel: store.ChannelBulk, RequestedBy: j.RequestedBy, MessageID: m.ID, Disposition: d})
	return err
}
