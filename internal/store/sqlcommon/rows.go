package sqlcommon

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"strings"
	"time"

	"github.com/mailwarden/mailwarden/internal/store"
)

// Scanner is one row of a result: *sql.Row, *sql.Rows, pgx.Row or pgx.Rows.
type Scanner interface {
	Scan(dest ...any) error
}

// MessageCols are the messages columns ScanMessage reads, in order.
const MessageCols = `seq, id, account_id, message_id, subject, from_addr, from_name, from_domain, reply_to, to_addrs, envelope_from,
	envelope_to, client_ip, helo, sent_at, scanned_at, disposition, triggers, auth, delivery_mode, delivery_status, is_quarantined,
	structure_hash, simhash, campaign_id, size, details`

// ScanMessage reads a row of MessageCols. A scan error is returned as the
// driver gave it (the caller maps its no-rows error to store.ErrNotFound).
func ScanMessage(row Scanner) (store.Message, error) {
	var m store.Message
	var to, envTo, triggers, auth, details string
	var sent, scanned, sim int64
	err := row.Scan(&m.Seq, &m.ID, &m.AccountID, &m.MessageID, &m.Subject, &m.FromAddr, &m.FromName, &m.FromDomain, &m.ReplyTo,
		&to, &m.EnvelopeFrom, &envTo, &m.ClientIP, &m.Helo, &sent, &scanned, &m.Disposition, &triggers, &auth, &m.DeliveryMode,
		&m.DeliveryStatus, &m.IsQuarantined, &m.StructureHash, &sim, &m.CampaignID, &m.Size, &details)
	if err != nil {
		return m, err
	}
	json.Unmarshal([]byte(to), &m.To)
	json.Unmarshal([]byte(envTo), &m.EnvelopeTo)
	m.SentAt, m.ScannedAt = FromMS(sent), FromMS(scanned)
	m.SimHash = uint64(sim)
	m.Triggers, m.Auth, m.Details = []byte(triggers), []byte(auth), []byte(details)
	return m, nil
}

// SubmissionCols are the submissions columns ScanSubmission reads, in order.
const SubmissionCols = `seq, id, account_id, type, channel, status, state, coalesce(message_seq, 0), message_id, raw_key, subject, edf_hash,
	original_disposition, requested_disposition, outcome_disposition, outcome, outcome_code, reason, requested_by, notify_addr,
	notify_state, customer_status, escalated_as, coalesce(escalated_at, 0), escalated_by, escalated_submission_id, escalated_from,
	policy, policy_entry, campaign_changed, requested_at, coalesce(completed_at, 0), attempts, next_attempt_at, last_error`

// ScanSubmission reads a row of SubmissionCols; a scan error is the driver's.
func ScanSubmission(row Scanner) (store.Submission, error) {
	var s store.Submission
	var policy string
	var escAt, reqAt, doneAt, next int64
	err := row.Scan(&s.Seq, &s.ID, &s.AccountID, &s.Type, &s.Channel, &s.Status, &s.State, &s.MessageSeq, &s.MessageID, &s.RawKey,
		&s.Subject, &s.EdfHash, &s.OriginalDisposition, &s.RequestedDisposition, &s.OutcomeDisposition, &s.Outcome, &s.OutcomeCode,
		&s.Reason, &s.RequestedBy, &s.NotifyAddr, &s.NotifyState, &s.CustomerStatus, &s.EscalatedAs, &escAt, &s.EscalatedBy,
		&s.EscalatedSubmissionID, &s.EscalatedFrom, &policy, &s.PolicyEntry, &s.CampaignChanged, &reqAt, &doneAt, &s.Attempts, &next, &s.LastError)
	if err != nil {
		return s, err
	}
	if policy != "" {
		s.Policy = []byte(policy)
	}
	s.EscalatedAt, s.RequestedAt, s.CompletedAt, s.NextAttempt = FromMS(escAt), FromMS(reqAt), FromMS(doneAt), FromMS(next)
	return s, nil
}

// NewSubmissionID makes a random submission id ("sub-" and 16 base32 characters).
func NewSubmissionID() string {
	var b [10]byte
	rand.Read(b[:])
	return "sub-" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// PrepareSubmission fills the defaults of a new submission before it is
// inserted: a random ID, RequestedAt and NextAttempt now, status pending,
// queue state queued.
func PrepareSubmission(sub *store.Submission) {
	if sub.ID == "" {
		sub.ID = NewSubmissionID()
	}
	now := time.Now()
	if sub.RequestedAt.IsZero() {
		sub.RequestedAt = now
	}
	if sub.NextAttempt.IsZero() {
		sub.NextAttempt = now
	}
	if sub.Status == "" {
		sub.Status = store.SubPending
	}
	if sub.State == "" {
		sub.State = store.QueueQueued
	}
}

// JobCols are the bulk_jobs columns ScanJob reads, in order.
const JobCols = `id, account_id, action, status, status_message, search_params, expected_disposition, destination, comment,
	requested_by, discovered, successful, failed, discover_cursor, cancel_requested, created_at, started_at, completed_at`

// ScanJob reads a row of JobCols; a scan error is the driver's.
func ScanJob(row Scanner) (store.Job, error) {
	var j store.Job
	var params string
	var created, started, completed int64
	err := row.Scan(&j.ID, &j.AccountID, &j.Action, &j.Status, &j.StatusMessage, &params, &j.ExpectedDisposition, &j.Destination,
		&j.Comment, &j.RequestedBy, &j.Discovered, &j.Successful, &j.Failed, &j.DiscoverCursor, &j.CancelRequested, &created, &started, &completed)
	if err != nil {
		return j, err
	}
	j.SearchParams = []byte(params)
	j.CreatedAt, j.StartedAt, j.CompletedAt = FromMS(created), FromMS(started), FromMS(completed)
	return j, nil
}

// UserCols are the users columns ScanUser reads, in order.
const UserCols = `id, account_id, email, role, password_hash, disabled, created_at, coalesce(last_login_at, 0)`

// ScanUser reads a row of UserCols; a scan error is the driver's.
func ScanUser(row Scanner) (store.User, error) {
	var u store.User
	var created, last int64
	if err := row.Scan(&u.ID, &u.AccountID, &u.Email, &u.Role, &u.PasswordHash, &u.Disabled, &created, &last); err != nil {
		return u, err
	}
	u.CreatedAt, u.LastLoginAt = FromMS(created), FromMS(last)
	return u, nil
}
