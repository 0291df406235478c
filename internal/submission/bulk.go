package submission

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/mailwarden/mailwarden/internal/bayes"
	"github.com/mailwarden/mailwarden/internal/detect"
	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/internal/store"
)

// newID makes a submission id in the stores' format.
func newID() string {
	var b [10]byte
	rand.Read(b[:])
	return "sub-" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// BulkBatch is the bulk RECLASSIFY action, batched (bulk.BatchAction): each
// message becomes a completed team submission (channel bulk) and gets the
// job's disposition, its action-log, trace and audit entries, and is held or
// queued for release by the routing policy, all committed by the bulk worker
// in one transaction per batch. The content model is retrained first, for
// the whole batch in one store update; that is idempotent (the model records
// what each message is trained as), so a batch redone after a restart does
// not train twice. As BulkAction: no rate limit, no campaign pass, no mail.
func (s *Service) BulkBatch(ctx context.Context, j store.Job, msgs []store.Message) []store.JobItem {
	items := make([]store.JobItem, len(msgs))
	failAll := func(err error) []store.JobItem {
		for i, m := range msgs {
			items[i] = store.JobItem{MessageSeq: m.Seq, Error: err.Error()}
		}
		return items
	}
	acct, err := s.Store.Account(ctx, j.AccountID)
	if err != nil {
		return failAll(err)
	}
	d, ok := detect.ParseDisposition(j.ExpectedDisposition)
	if !ok {
		return failAll(fmt.Errorf("submission: bulk job %s: disposition %q", j.ID, j.ExpectedDisposition))
	}
	want := string(d)
	raws := make([][]byte, len(msgs))
	parsed := make([]*message.Message, 0, len(msgs))
	for i, m := range msgs {
		raw, err := s.Store.Raw(ctx, m.Seq)
		if err != nil {
			items[i] = store.JobItem{MessageSeq: m.Seq, Error: err.Error()}
			continue
		}
		raws[i] = raw
		parsed = append(parsed, message.Parse(raw, s.limits()))
	}
	var trained map[string]bool
	if s.Models != nil && len(parsed) > 0 {
		model, err := s.Models.Get(ctx, acct.ID)
		if err != nil {
			return failAll(fmt.Errorf("model: %w", err))
		}
		class := detect.TrainingClass(d)
		trained = map[string]bool{}
		for _, pm := range parsed {
			if before, err := model.TrainedAs(ctx, pm); err == nil && before != class {
				trained[bayes.Key(pm.Raw)] = true
			}
		}
		if _, err := model.TrainMany(ctx, parsed, class); err != nil {
			return failAll(fmt.Errorf("train: %w", err))
		}
	}
	now := s.now()
	for i, m := range msgs {
		if raws[i] == nil {
			continue
		}
		key := bayes.Key(raws[i])
		sub := &store.Submission{ID: newID(), AccountID: acct.ID, Type: store.SubmissionTeam, Channel: store.ChannelBulk,
			Status: store.SubCompleted, State: store.QueueDone, MessageSeq: m.Seq, MessageID: m.ID, RawKey: key, Subject: m.Subject,
			EdfHash: m.CampaignID, OriginalDisposition: m.Disposition, RequestedDisposition: want, OutcomeDisposition: want,
			RequestedBy: j.RequestedBy, RequestedAt: now, CompletedAt: now, NextAttempt: now}
		it := store.JobItem{MessageSeq: m.Seq, Submission: sub}
		var notes []string
		if trained[key] {
			notes = append(notes, "content model retrained")
		}
		it.Actions = append(it.Actions, store.Action{Operation: "SUBMISSION", Status: store.SubCompleted, RequestedBy: j.RequestedBy,
			Properties: map[string]string{"submission_id": sub.ID, "type": sub.Type, "requested_disposition": want, "channel": sub.Channel, "bulk_job": j.ID},
			CreatedAt:  now, CompletedAt: now})
		if m.Disposition != want {
			sub.OutcomeCode = OutcomeReclassified
			sub.Outcome = fmt.Sprintf("reclassified from %s to %s", label(m.Disposition), label(want))
			trig := detect.Trigger{Name: TrigTeamVerdict, Category: detect.CatPolicy, Field: "submission", Portion: sub.ID,
				Detail: fmt.Sprintf("reclassified from %s to %s by team submission %s (bulk job %s)", m.Disposition, want, sub.ID, j.ID)}
			it.Disposition = want
			it.Triggers, _ = json.Marshal(append(decodeTriggers(m.Triggers), trig))
			it.Actions = append(it.Actions, store.Action{Operation: "RECLASSIFY", Status: "completed", RequestedBy: j.RequestedBy,
				Properties: map[string]string{"submission_id": sub.ID, "from": m.Disposition, "to": want, "outcome_code": OutcomeReclassified, "bulk_job": j.ID},
				CreatedAt:  now, CompletedAt: now})
			it.Trace = append(it.Trace, store.TraceLine{Direction: "inbound", LoggedAt: now,
				Line: fmt.Sprintf("reclassified from %s to %s by submission %s (%s)", m.Disposition, want, sub.ID, OutcomeReclassified)})
		} else {
			sub.OutcomeCode = OutcomeAlreadyCorrect
			sub.Outcome = fmt.Sprintf("the message was already %s", label(want))
		}
		if len(m.EnvelopeTo) > 0 && m.DeliveryStatus != store.StatusJournaled {
			hold, err := s.holds(ctx, acct, m.EnvelopeTo, want)
			if err != nil {
				items[i] = store.JobItem{MessageSeq: m.Seq, Error: err.Error()}
				continue
			}
			switch {
			case m.IsQuarantined && !hold:
				it.Release = m.EnvelopeTo
				actor := j.RequestedBy + " (bulk " + j.ID + ")"
				it.Actions = append(it.Actions, store.Action{Operation: "RELEASE", Status: "queued", RequestedBy: actor,
					Properties: map[string]string{"delivered": "", "failed": "", "undelivered": strings.Join(m.EnvelopeTo, ","), "submission_id": sub.ID},
					CreatedAt:  now, CompletedAt: now})
				detail, _ := json.Marshal(map[string]any{"undelivered": m.EnvelopeTo, "status": "queued", "submission_id": sub.ID})
				it.Audit = append(it.Audit, store.AuditEntry{AccountID: acct.ID, Actor: actor, Action: "message.release", Target: m.ID, Detail: string(detail)})
				notes = append(notes, "released from quarantine")
			case !m.IsQuarantined && hold && m.DeliveryStatus != store.StatusDelivered && m.DeliveryStatus != store.StatusBounced:
				it.Hold = true
				it.Actions = append(it.Actions, store.Action{Operation: "MOVE", Status: "completed", RequestedBy: j.RequestedBy,
					Properties: map[string]string{"folder": "quarantine", "submission_id": sub.ID}, CreatedAt: now, CompletedAt: now})
				it.Trace = append(it.Trace, store.TraceLine{Direction: "outbound", LoggedAt: now, Line: "held in quarantine by submission " + sub.ID})
				notes = append(notes, "held in quarantine")
			case !m.IsQuarantined && hold && m.DeliveryStatus == store.StatusDelivered:
				notes = append(notes, "already delivered: it cannot be held")
			}
		}
		if len(notes) > 0 {
			sub.Outcome += "; " + strings.Join(notes, "; ")
		}
		detail, _ := json.Marshal(map[string]any{"submission_id": sub.ID, "message": m.ID, "outcome_code": sub.OutcomeCode, "channel": sub.Channel,
			"bulk_job": j.ID, "original_disposition": m.Disposition, "outcome_disposition": want})
		it.Audit = append(it.Audit, store.AuditEntry{AccountID: acct.ID, Actor: j.RequestedBy, Action: "submission.process", Target: sub.ID, Detail: string(detail)})
		items[i] = it
	}
	return items
}
