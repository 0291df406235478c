package store

import (
	"context"
	"time"
)

// Submission types (DESIGN.md, "Reclassification and submissions"). The API
// answers the first two as "Team" and "User", as Cloudflare does.
const (
	SubmissionTeam    = "TEAM"    // from the security team: applied, retrains, propagates
	SubmissionUser    = "USER"    // an end user's report: triaged, never retrains on its own
	SubmissionInvalid = "INVALID" // not processable; Reason says why
)

// Submission channels.
const (
	ChannelAPI    = "api"    // a message the gateway has, by id
	ChannelUpload = "upload" // an uploaded EML file
	ChannelMail   = "mail"   // mail to a report or team alias
	ChannelBulk   = "bulk"   // one message of a bulk RECLASSIFY job: no rate limit, no campaign pass, no mail
)

// Submission statuses (API-visible "status").
const (
	SubPending   = "pending"   // queued or being processed
	SubCompleted = "completed" // processed; OutcomeCode says how
	SubFailed    = "failed"    // processing gave up after retries
)

// Queue states of a submission row.
const (
	QueueQueued = "queued" // to process
	QueueNotify = "notify" // processed; the outcome mail is still to send
	QueueDone   = "done"
)

// Customer statuses of user submissions (Cloudflare's triage).
const (
	CustomerUnreviewed = "unreviewed"
	CustomerReviewed   = "reviewed"
	CustomerEscalated  = "escalated"
)

// Submission is one reclassification request and its outcome; the row is also
// its work item in the durable queue.
type Submission struct {
	Seq       int64
	ID        string // URL-safe
	AccountID int64
	Type      string // SubmissionTeam, SubmissionUser, SubmissionInvalid
	Channel   string // ChannelAPI, ChannelUpload, ChannelMail
	Status    string // SubPending, SubCompleted, SubFailed
	State     string // QueueQueued, QueueNotify, QueueDone

	MessageSeq int64  // 0 when there is no message (invalid submissions)
	MessageID  string // the message's postfix_id
	RawKey     string // hex SHA-256 of the message's raw bytes (dedupe)
	Subject    string
	EdfHash    string // the message's campaign

	OriginalDisposition  string
	RequestedDisposition string
	OutcomeDisposition   string
	Outcome              string // human-readable
	OutcomeCode          string // machine-readable (submission.Outcome* constants)
	Reason               string // invalid submissions: no_eml_attached, wrong_file_type, ...

	RequestedBy string // principal name, or the reporter's address for mail
	NotifyAddr  string // where the outcome mail goes ("" for none)
	NotifyState string // "", "sent", "failed"

	CustomerStatus        string // user submissions: unreviewed, reviewed, escalated
	EscalatedAs           string
	EscalatedAt           time.Time
	EscalatedBy           string
	EscalatedSubmissionID string // on a user submission: the team submission it became
	EscalatedFrom         string // on a team submission: the user submission it came from

	Policy          []byte // JSON of a requested allow/block entry, nil for none
	PolicyEntry     string // "kind/id" of the settings entry created for it
	CampaignChanged int    // other messages of the campaign whose disposition changed

	RequestedAt time.Time
	CompletedAt time.Time
	Attempts    int
	NextAttempt time.Time
	LastError   string
}

// SubmissionQuery filters the submissions list. Zero values do not filter.
type SubmissionQuery struct {
	Type                 string
	Start, End           time.Time
	OriginalDisposition  string
	RequestedDisposition string
	OutcomeDisposition   string
	Status               string
	CustomerStatus       string
	SubmissionID         string
	Text                 string // substring of subject, requester, message id or submission id
	EscalatedFromUser    bool   // team submissions escalated from a user submission
	Offset, Limit        int
}

// Submissions keeps submissions and the message changes a reclassification makes.
type Submissions interface {
	// CreateSubmission inserts s (setting ID when empty, Seq and RequestedAt). When
	// a submission of the same type for the same message (RawKey) and requested
	// disposition exists and has not failed, nothing is inserted: s is set to that
	// submission and created is false. An empty RawKey never deduplicates.
	CreateSubmission(ctx context.Context, s *Submission) (created bool, err error)
	GetSubmission(ctx context.Context, accountID int64, id string) (Submission, error)
	ListSubmissions(ctx context.Context, accountID int64, q SubmissionQuery) ([]Submission, int, error)
	// CountSubmissionsSince counts the account's submissions requested at or
	// after since, those of bulk jobs (ChannelBulk) left out.
	CountSubmissionsSince(ctx context.Context, accountID int64, since time.Time) (int, error)
	// ClaimSubmission leases the oldest due submission in state queued or notify
	// whose lease is free or run out, until now+lease; ErrNotFound when none.
	ClaimSubmission(ctx context.Context, worker string, lease time.Duration) (Submission, error)
	// SaveSubmission writes every mutable field of s (status, state, outcome,
	// triage, escalation, policy entry, attempts, next attempt, error) and frees
	// its lease.
	SaveSubmission(ctx context.Context, s *Submission) error

	// SetSubmissionContact records where a principal (an API token's name) with
	// its role wants outcome mail; "" removes it. SubmissionContact returns ""
	// when unknown; SubmissionContactByEmail finds the principal and role of an
	// address (ErrNotFound when none): who may mail the team aliases.
	SetSubmissionContact(ctx context.Context, accountID int64, principal, role, email string) error
	SubmissionContact(ctx context.Context, accountID int64, principal string) (string, error)
	SubmissionContactByEmail(ctx context.Context, accountID int64, email string) (principal, role string, err error)

	// SetDisposition changes a message's disposition and triggers; it reports
	// whether anything changed.
	SetDisposition(ctx context.Context, seq int64, disposition string, triggers []byte) (bool, error)
	// HoldMessage quarantines a message not yet delivered: pending deliveries are
	// cancelled. It reports false when the message is already held or delivered.
	HoldMessage(ctx context.Context, seq int64) (bool, error)
	// CampaignMessages lists the account's messages of a campaign with seq above
	// after, oldest first, at most limit.
	CampaignMessages(ctx context.Context, accountID int64, campaignID string, after int64, limit int) ([]Message, error)

	// Added for issue 6 (lease renewal, per-account submission addresses;
	// ported by each implementation).

	// RenewSubmissionLease extends worker's lease on a claimed submission to
	// now+lease; ErrConflict when the lease is not worker's any more (it ran
	// out and another worker took the submission, or it was saved).
	RenewSubmissionLease(ctx context.Context, id, worker string, lease time.Duration) error

	// ApplyMessageChanges makes the writes of items in one transaction, in
	// order, as FinishJobBatch does but with no job: Error is ignored (the
	// campaign pass of a team submission writes a page of messages at once).
	ApplyMessageChanges(ctx context.Context, items []JobItem) error

	// ReportAddresses lists configured submission addresses: of one account,
	// or of every account when accountID is 0; ordered by account and role.
	ReportAddresses(ctx context.Context, accountID int64) ([]ReportAddress, error)
	// SetReportAddresses sets the account's addresses by role ("" removes the
	// role's address: its default applies again), in one transaction that
	// bumps ReportAddressesVersion. ErrConflict when an address is another
	// account's: an address routes to exactly one account.
	SetReportAddresses(ctx context.Context, accountID int64, byRole map[string]string) error
	// ReportAddressesVersion changes whenever any account's addresses change
	// (0 before the first change): routing caches compare it to reload.
	ReportAddressesVersion(ctx context.Context) (int64, error)
}

// Roles of submission addresses: the user report address and one team address
// per disposition.
const (
	AddrReport         = "report"
	AddrTeamMalicious  = "team_malicious"
	AddrTeamSuspicious = "team_suspicious"
	AddrTeamSpoof      = "team_spoof"
	AddrTeamSpam       = "team_spam"
	AddrTeamBulk       = "team_bulk"
	AddrTeamClean      = "team_clean" // disposition NONE
)

// AddrRoles are the address roles in their listed order.
var AddrRoles = []string{AddrReport, AddrTeamMalicious, AddrTeamSuspicious, AddrTeamSpoof, AddrTeamSpam, AddrTeamBulk, AddrTeamClean}

// ReportAddress is an account's configured address for one role.
type ReportAddress struct {
	AccountID int64
	Role      string // one of AddrRoles
	Address   string // lower-case local@domain
	UpdatedAt time.Time
}
