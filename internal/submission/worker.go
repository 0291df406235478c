package submission

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/mailwarden/mailwarden/internal/auth"
	"github.com/mailwarden/mailwarden/internal/detect"
	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/internal/store"
)

// Worker tuning.
const (
	leaseTime    = 2 * time.Minute // a claimed submission is ours this long, renewed while we work on it (Service.Lease)
	maxAttempts  = 8               // processing gives up after this many failures
	maxNotify    = 6               // outcome mail gives up after this many failures
	campaignPage = 200
)

// Triggers a reclassification adds to the messages it changes.
const (
	TrigTeamVerdict = "team_reclassification"     // the message a team submission named
	TrigCampaign    = "campaign_reclassification" // another message of its campaign
)

// Wake makes the worker look at the queue now.
func (s *Service) Wake() {
	s.init()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Service) init() {
	if s.wake == nil {
		s.wake = make(chan struct{}, 1)
	}
}

// Run processes the queue until ctx ends. Several workers (nodes) may run on one
// store: each submission is leased to one at a time.
func (s *Service) Run(ctx context.Context) {
	s.init()
	var b [6]byte
	rand.Read(b[:])
	host, _ := os.Hostname()
	name := fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		s.RunOnce(ctx, name)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.wake:
		}
	}
}

// RunOnce processes due submissions until none is left.
func (s *Service) RunOnce(ctx context.Context, worker string) {
	for ctx.Err() == nil {
		sub, err := s.Store.ClaimSubmission(ctx, worker, s.lease())
		if errors.Is(err, store.ErrNotFound) {
			return
		}
		if err != nil {
			s.log().Error("submission: claim", "err", err)
			return
		}
		s.handleLeased(ctx, worker, sub)
	}
}

func (s *Service) lease() time.Duration {
	if s.Lease > 0 {
		return s.Lease
	}
	return leaseTime
}

// handleLeased handles a claimed submission while a heartbeat renews its lease
// every third of the lease time, so a long campaign pass is never taken over
// by another worker. When a renewal finds the lease gone (we stalled past it
// and another worker took the submission), the work is cancelled and nothing
// is saved: the other worker owns it now.
func (s *Service) handleLeased(ctx context.Context, worker string, sub store.Submission) {
	hctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		lease := s.lease()
		tick := time.NewTicker(lease / 3)
		defer tick.Stop()
		for {
			select {
			case <-hctx.Done():
				return
			case <-tick.C:
			}
			err := s.Store.RenewSubmissionLease(hctx, sub.ID, worker, lease)
			if errors.Is(err, store.ErrConflict) {
				s.log().Warn("submission: lease lost", "id", sub.ID)
				cancel(errLeaseLost)
				return
			}
			if err != nil && hctx.Err() == nil {
				s.log().Error("submission: lease renewal", "id", sub.ID, "err", err)
			}
		}
	}()
	s.handle(context.WithValue(hctx, leaseKey{}, leased{worker, sub.ID}), sub)
	cancel(nil)
	<-done
}

// leased names the submission a worker holds, in the context of its handling.
type leaseKey struct{}
type leased struct{ worker, id string }

var errLeaseLost = errors.New("submission: lease lost to another worker")

func (s *Service) handle(ctx context.Context, sub store.Submission) {
	sub.Attempts++
	switch sub.State {
	case store.QueueQueued:
		err := s.process(ctx, &sub)
		if err != nil {
			sub.LastError = err.Error()
			s.log().Error("submission: process", "id", sub.ID, "attempt", sub.Attempts, "err", err)
			if sub.Attempts < maxAttempts {
				sub.NextAttempt = s.now().Add(backoff(sub.Attempts))
				s.save(ctx, &sub)
				return
			}
			sub.Status = store.SubFailed
			sub.OutcomeCode = OutcomeFailed
			sub.Outcome = "processing failed: " + err.Error()
			sub.CompletedAt = s.now()
			s.audit(ctx, sub, "submission.failed", map[string]any{"error": err.Error()})
		} else {
			sub.LastError = ""
		}
		sub.Attempts = 0
		sub.State = store.QueueDone
		if sub.NotifyAddr != "" {
			sub.State = store.QueueNotify
			// Saved before the mail goes out: the outcome is not redone if sending fails.
			sub.NextAttempt = s.now()
			s.save(ctx, &sub)
			s.Wake()
			return
		}
		s.save(ctx, &sub)
	case store.QueueNotify:
		err := s.notify(ctx, sub)
		switch {
		case err == nil:
			sub.NotifyState = "sent"
			sub.State = store.QueueDone
			sub.LastError = ""
		case sub.Attempts >= maxNotify:
			sub.NotifyState = "failed"
			sub.State = store.QueueDone
			sub.LastError = "outcome mail: " + err.Error()
		default:
			sub.LastError = "outcome mail: " + err.Error()
			sub.NextAttempt = s.now().Add(backoff(sub.Attempts))
		}
		s.save(ctx, &sub)
	default:
		s.save(ctx, &sub)
	}
}

func (s *Service) save(ctx context.Context, sub *store.Submission) {
	if ctx.Err() != nil {
		// Lease lost or shutting down: whoever holds the submission next does it again.
		return
	}
	if l, ok := ctx.Value(leaseKey{}).(leased); ok && l.id == sub.ID {
		// The last word on a leased submission is the holder's: check just before saving.
		if err := s.Store.RenewSubmissionLease(ctx, sub.ID, l.worker, s.lease()); errors.Is(err, store.ErrConflict) {
			s.log().Warn("submission: lease lost before saving", "id", sub.ID)
			return
		}
	}
	if err := s.Store.SaveSubmission(ctx, sub); err != nil {
		s.log().Error("submission: save", "id", sub.ID, "err", err)
	}
}

func backoff(attempt int) time.Duration {
	return min(time.Second<<min(attempt, 12), 30*time.Minute)
}

// process applies a submission. Every step is idempotent, so a submission whose
// worker died half-way is simply processed again.
func (s *Service) process(ctx context.Context, sub *store.Submission) error {
	if sub.Type != store.SubmissionTeam {
		return nil
	}
	acct, err := s.Store.Account(ctx, sub.AccountID)
	if err != nil {
		return fmt.Errorf("account: %w", err)
	}
	m, err := s.Store.GetMessageBySeq(ctx, sub.MessageSeq)
	if errors.Is(err, store.ErrNotFound) || (err == nil && m.AccountID != sub.AccountID) {
		sub.Type = store.SubmissionInvalid
		sub.Reason = ReasonNoMessage
		sub.Status = store.SubCompleted
		sub.OutcomeCode = OutcomeNoMessage
		sub.Outcome = "invalid submission: " + reasonText[ReasonNoMessage]
		sub.CompletedAt = s.now()
		return nil
	}
	if err != nil {
		return err
	}
	raw, err := s.Store.Raw(ctx, m.Seq)
	if err != nil {
		return err
	}
	want := sub.RequestedDisposition
	pm := message.Parse(raw, s.limits())
	actor := store.Principal{AccountID: acct.ID, Role: store.RoleAnalyst, Name: sub.RequestedBy}
	var notes []string

	// 1. Retrain: the model's record of the message makes this idempotent.
	if s.Models != nil {
		class := detect.TrainingClass(detect.Disposition(want))
		model, err := s.Models.Get(ctx, acct.ID)
		if err != nil {
			return fmt.Errorf("model: %w", err)
		}
		before, err := model.TrainedAs(ctx, pm)
		if err != nil {
			return err
		}
		if _, err := model.Train(ctx, pm, class); err != nil {
			return fmt.Errorf("train: %w", err)
		}
		if before != class {
			from := string(before)
			if from == "" {
				from = "untrained"
			}
			notes = append(notes, fmt.Sprintf("content model retrained (%s to %s)", from, class))
		}
	}

	// 2. The allow or block entry, before re-scoring so the campaign sees it.
	if len(sub.Policy) > 0 && sub.PolicyEntry == "" {
		entry, err := s.createPolicy(ctx, *sub, m)
		if err != nil {
			return fmt.Errorf("policy: %w", err)
		}
		sub.PolicyEntry = entry
		if entry != "" {
			notes = append(notes, "settings entry "+entry+" created")
		}
	}

	// 3. The message itself.
	trig := detect.Trigger{Name: TrigTeamVerdict, Category: detect.CatPolicy, Field: "submission", Portion: sub.ID,
		Detail: fmt.Sprintf("reclassified from %s to %s by team submission %s", m.Disposition, want, sub.ID)}
	triggers := append(decodeTriggers(m.Triggers), trig)
	routed, err := s.apply(ctx, acct, actor, sub, m, want, triggers, OutcomeReclassified)
	if err != nil {
		return err
	}
	if routed != "" {
		notes = append(notes, routed)
	}

	// 4. The rest of its campaign.
	changed, err := s.propagate(ctx, acct, actor, sub, m)
	if err != nil {
		return fmt.Errorf("campaign: %w", err)
	}
	sub.CampaignChanged = changed
	if changed > 0 {
		notes = append(notes, fmt.Sprintf("%d other message(s) of the campaign reclassified", changed))
	}

	// 5. Outcome.
	sub.Status = store.SubCompleted
	sub.OutcomeDisposition = want
	switch {
	case sub.OriginalDisposition != want:
		sub.OutcomeCode = OutcomeReclassified
		sub.Outcome = fmt.Sprintf("reclassified from %s to %s", label(sub.OriginalDisposition), label(want))
	case changed > 0:
		sub.OutcomeCode = OutcomeCampaignReclassified
		sub.Outcome = fmt.Sprintf("the message was already %s; its campaign was reclassified", label(want))
	default:
		sub.OutcomeCode = OutcomeAlreadyCorrect
		sub.Outcome = fmt.Sprintf("the message was already %s", label(want))
	}
	if len(notes) > 0 {
		sub.Outcome += "; " + strings.Join(notes, "; ")
	}
	sub.CompletedAt = s.now()
	s.audit(ctx, *sub, "submission.process", map[string]any{"message": m.ID, "outcome_code": sub.OutcomeCode,
		"original_disposition": sub.OriginalDisposition, "outcome_disposition": want, "campaign_changed": changed, "policy_entry": sub.PolicyEntry})
	if sub.EscalatedFrom != "" {
		s.finishEscalated(ctx, *sub)
	}
	return nil
}

// finishEscalated gives the user submission a team submission came from its outcome.
func (s *Service) finishEscalated(ctx context.Context, team store.Submission) {
	user, err := s.Store.GetSubmission(ctx, team.AccountID, team.EscalatedFrom)
	if err != nil || user.Status == store.SubCompleted {
		return
	}
	user.Status = store.SubCompleted
	user.OutcomeDisposition = team.OutcomeDisposition
	user.Outcome = "escalated to the security team: " + team.Outcome
	user.CompletedAt = s.now()
	if user.NotifyAddr != "" && user.NotifyState == "" {
		user.State = store.QueueNotify
		user.NextAttempt = s.now()
	}
	s.save(ctx, &user)
}

// apply gives one message disposition want and routes it by the account's hold
// policy. It returns a note on the routing ("" when nothing moved).
func (s *Service) apply(ctx context.Context, acct store.Account, actor store.Principal, sub *store.Submission, m store.Message, want string, triggers []detect.Trigger, code string) (string, error) {
	tj, _ := json.Marshal(triggers)
	if m.Disposition != want {
		changed, err := s.Store.SetDisposition(ctx, m.Seq, want, tj)
		if err != nil {
			return "", err
		}
		if changed {
			props := map[string]string{"submission_id": sub.ID, "from": m.Disposition, "to": want, "outcome_code": code}
			if err := s.Store.AddAction(ctx, m.Seq, store.Action{Operation: "RECLASSIFY", Status: "completed", RequestedBy: sub.RequestedBy,
				Properties: props, CompletedAt: s.now()}); err != nil {
				return "", err
			}
			s.Store.AddTrace(ctx, m.Seq, "inbound", fmt.Sprintf("reclassified from %s to %s by submission %s (%s)", m.Disposition, want, sub.ID, code))
		}
	}
	if len(m.EnvelopeTo) == 0 || m.DeliveryStatus == store.StatusJournaled {
		return "", nil
	}
	hold, err := s.holds(ctx, acct, m.EnvelopeTo, want)
	if err != nil {
		return "", err
	}
	switch {
	case m.IsQuarantined && !hold:
		if s.Release == nil {
			return "", nil
		}
		if err := s.Release(ctx, actor, m); err != nil {
			return "", fmt.Errorf("release %s: %w", m.ID, err)
		}
		return "released from quarantine", nil
	case !m.IsQuarantined && hold:
		held, err := s.Store.HoldMessage(ctx, m.Seq)
		if err != nil {
			return "", err
		}
		if held {
			s.Store.AddAction(ctx, m.Seq, store.Action{Operation: "MOVE", Status: "completed", RequestedBy: sub.RequestedBy,
				Properties: map[string]string{"folder": "quarantine", "submission_id": sub.ID}, CompletedAt: s.now()})
			s.Store.AddTrace(ctx, m.Seq, "outbound", "held in quarantine by submission "+sub.ID)
			return "held in quarantine", nil
		}
		if m.DeliveryStatus == store.StatusDelivered {
			return "already delivered: it cannot be held", nil
		}
	}
	return "", nil
}

func (s *Service) holds(ctx context.Context, acct store.Account, rcpts []string, d string) (bool, error) {
	if s.Holder != nil {
		return s.Holder.Holds(ctx, acct.ID, rcpts, d)
	}
	return acct.Holds(d), nil
}

// propagate re-scores the other messages of m's campaign with the retrained
// model and current policy, and gives them the team's verdict: the campaign is
// one decision. A message that re-scores MALICIOUS on its own keeps that
// verdict unless the team asked for MALICIOUS too (one message's verdict never
// releases phishing). It returns how many messages changed.
func (s *Service) propagate(ctx context.Context, acct store.Account, actor store.Principal, sub *store.Submission, m store.Message) (int, error) {
	// A bulk job names its messages itself; a campaign pass per message would be quadratic.
	if m.CampaignID == "" || s.Pipe == nil || s.Pipe.Detector == nil || sub.Channel == store.ChannelBulk {
		return 0, nil
	}
	pol := &detect.Policy{}
	if s.Pipe.Policies != nil {
		p, err := s.Pipe.Policies.Policy(ctx, acct.ID)
		if err != nil {
			return 0, err
		}
		if p != nil {
			c := *p
			pol = &c
		}
	}
	pol.AccountID = acct.ID
	want := sub.RequestedDisposition
	changed := 0
	var after int64
	for {
		msgs, err := s.Store.CampaignMessages(ctx, acct.ID, m.CampaignID, after, campaignPage)
		if err != nil {
			return changed, err
		}
		// A page is re-scored first (reading only), then its writes go in one
		// transaction; releases (deliveries) follow it. Reclassifications and
		// holds are conditional, so a page redone after a restart does not
		// log them twice.
		var items []store.JobItem
		var releases []store.Message
		n := 0
		for _, sib := range msgs {
			after = sib.Seq
			if sib.Seq == m.Seq {
				continue
			}
			raw, err := s.Store.Raw(ctx, sib.Seq)
			if err != nil {
				return changed, err
			}
			var a auth.Result
			json.Unmarshal(sib.Auth, &a)
			v := s.Pipe.Detector.DetectFrom(ctx, message.Parse(raw, s.limits()), a, pol, net.ParseIP(sib.ClientIP))
			got := string(v.Disposition)
			triggers := v.Triggers
			if got != want {
				if v.Disposition == detect.Malicious {
					items = append(items, store.JobItem{MessageSeq: sib.Seq, Actions: []store.Action{{Operation: "RECLASSIFY", Status: "skipped",
						RequestedBy: sub.RequestedBy, Properties: map[string]string{"submission_id": sub.ID, "from": sib.Disposition, "to": want,
							"rescored": got, "reason": "re-scored MALICIOUS on its own"}, CompletedAt: s.now()}}})
					continue
				}
				triggers = append(triggers, detect.Trigger{Name: TrigCampaign, Category: detect.CatPolicy, Field: "campaign", Portion: m.CampaignID,
					Detail: fmt.Sprintf("campaign %s reclassified %s by team submission %s (re-scored %s)", m.CampaignID, want, sub.ID, got)})
			}
			if sib.Disposition != want {
				tj, _ := json.Marshal(triggers)
				items = append(items, store.JobItem{MessageSeq: sib.Seq, Disposition: want, Triggers: tj, IfChanged: true,
					Actions: []store.Action{{Operation: "RECLASSIFY", Status: "completed", RequestedBy: sub.RequestedBy, CompletedAt: s.now(),
						Properties: map[string]string{"submission_id": sub.ID, "from": sib.Disposition, "to": want, "outcome_code": OutcomeCampaignReclassified}}},
					Trace: []store.TraceLine{{Direction: "inbound", LoggedAt: s.now(),
						Line: fmt.Sprintf("reclassified from %s to %s by submission %s (%s)", sib.Disposition, want, sub.ID, OutcomeCampaignReclassified)}}})
				n++
			}
			// Routing, as apply does for the message itself.
			if len(sib.EnvelopeTo) == 0 || sib.DeliveryStatus == store.StatusJournaled {
				continue
			}
			hold, err := s.holds(ctx, acct, sib.EnvelopeTo, want)
			if err != nil {
				return changed, err
			}
			switch {
			case sib.IsQuarantined && !hold:
				releases = append(releases, sib)
			case !sib.IsQuarantined && hold:
				items = append(items, store.JobItem{MessageSeq: sib.Seq, Hold: true, IfChanged: true,
					Actions: []store.Action{{Operation: "MOVE", Status: "completed", RequestedBy: sub.RequestedBy, CompletedAt: s.now(),
						Properties: map[string]string{"folder": "quarantine", "submission_id": sub.ID}}},
					Trace: []store.TraceLine{{Direction: "outbound", LoggedAt: s.now(), Line: "held in quarantine by submission " + sub.ID}}})
			}
		}
		if len(items) > 0 {
			if err := s.Store.ApplyMessageChanges(ctx, items); err != nil {
				return changed, err
			}
		}
		changed += n
		if len(releases) > 0 && s.Release != nil {
			for _, sib := range releases {
				if err := s.Release(ctx, actor, sib); err != nil {
					return changed, fmt.Errorf("release %s: %w", sib.ID, err)
				}
			}
		}
		if len(msgs) < campaignPage {
			return changed, nil
		}
	}
}

func decodeTriggers(b []byte) []detect.Trigger {
	var t []detect.Trigger
	json.Unmarshal(b, &t)
	// A reclassification replaces an earlier team verdict.
	out := t[:0]
	for _, x := range t {
		if x.Name != TrigTeamVerdict && x.Name != TrigCampaign {
			out = append(out, x)
		}
	}
	return out
}

// createPolicy creates the requested allow or block entry for the message's
// sender; an entry already there is recorded instead. It returns "kind/id".
func (s *Service) createPolicy(ctx context.Context, sub store.Submission, m store.Message) (string, error) {
	var req PolicyRequest
	if err := json.Unmarshal(sub.Policy, &req); err != nil {
		return "", err
	}
	pattern := strings.ToLower(m.FromAddr)
	if req.PatternType == store.PatternDomain {
		pattern = m.FromDomain
	}
	if pattern == "" {
		return "", nil
	}
	base := store.SettingBase{AccountID: sub.AccountID, Comments: "from submission " + sub.ID, ExpiresAt: req.ExpiresAt}
	q := store.SettingsQuery{Pattern: pattern, PatternType: req.PatternType, ActiveAt: s.now()}
	var kind string
	var id int64
	var err error
	switch req.Type {
	case PolicyBlockSender:
		kind = store.KindBlockSenders
		e := store.BlockSender{SettingBase: base, Pattern: pattern, PatternType: req.PatternType}
		if err = s.Store.CreateBlockSender(ctx, &e); errors.Is(err, store.ErrConflict) {
			var es []store.BlockSender
			if es, _, err = s.Store.BlockSenders(ctx, sub.AccountID, q); err == nil && len(es) > 0 {
				e = es[0]
			}
		}
		id = e.ID
	default:
		kind = store.KindAllowPolicies
		e := store.AllowPolicy{SettingBase: base, Pattern: pattern, PatternType: req.PatternType,
			IsAcceptableSender: req.Type == PolicyAcceptableSender, IsTrustedSender: req.Type == PolicyTrustedSender}
		if err = s.Store.CreateAllowPolicy(ctx, &e); errors.Is(err, store.ErrConflict) {
			var es []store.AllowPolicy
			if es, _, err = s.Store.AllowPolicies(ctx, sub.AccountID, q); err == nil && len(es) > 0 {
				e = es[0]
			}
		}
		id = e.ID
	}
	if err != nil {
		return "", err
	}
	if id == 0 {
		return "", nil
	}
	entry := fmt.Sprintf("%s/%d", kind, id)
	s.audit(ctx, sub, "settings.create", map[string]any{"kind": kind, "id": id, "pattern": pattern, "expires_at": req.ExpiresAt})
	return entry, nil
}
