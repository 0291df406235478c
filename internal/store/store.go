// Package store defines mailwarden's persistence boundary: accounts, API tokens,
// messages with their raw bytes and verdicts, onward deliveries, trace, action log
// and audit log. Implementations live in sub-packages (sqlite; postgres follows)
// and pass the same test suite (storetest).
package store

import (
	"context"
	"errors"
	"time"
)

// Errors shared by implementations.
var (
	ErrNotFound = errors.New("store: not found")
	ErrConflict = errors.New("store: conflict")
)

// Roles of API tokens and console users (DESIGN.md, "Access").
const (
	RoleAdmin    = "admin"    // settings, tokens, everything an analyst can do
	RoleAnalyst  = "analyst"  // reclassify, release, move
	RoleViewer   = "viewer"   // read only
	RoleReporter = "reporter" // user submissions only
)

// ValidRole reports whether r is a known role.
func ValidRole(r string) bool {
	switch r {
	case RoleAdmin, RoleAnalyst, RoleViewer, RoleReporter:
		return true
	}
	return false
}

// Account is one isolated tenant.
type Account struct {
	ID               int64
	Name             string
	HoldDispositions []string // dispositions held in quarantine
	CreatedAt        time.Time
}

// Holds reports whether mail of this disposition is held in quarantine.
func (a Account) Holds(disposition string) bool {
	for _, d := range a.HoldDispositions {
		if d == disposition {
			return true
		}
	}
	return false
}

// Principal is who an API token or session acts as.
type Principal struct {
	AccountID int64
	Role      string
	Name      string // token prefix or user email, for logs
}

// Delivery statuses of a message as Cloudflare names them.
const (
	StatusDelivered   = "delivered"
	StatusQuarantined = "quarantined"
	StatusQueued      = "queued"
	StatusDeferred    = "deferred"
	StatusBounced     = "bounced"
	StatusRejected    = "rejected"
	StatusJournaled   = "journaled" // scan-only import, never delivered (not a Cloudflare value; listed as none)
)

// Message is the stored record of one scanned message.
type Message struct {
	Seq            int64
	ID             string // URL-safe, also Cloudflare's postfix_id
	AccountID      int64
	MessageID      string
	Subject        string
	FromAddr       string
	FromName       string
	FromDomain     string
	ReplyTo        string
	To             []string
	EnvelopeFrom   string
	EnvelopeTo     []string
	ClientIP       string
	Helo           string
	SentAt         time.Time // zero when unknown
	ScannedAt      time.Time
	Disposition    string
	Triggers       []byte // JSON array of detect.Trigger
	Auth           []byte // JSON auth.Result
	DeliveryMode   string // DIRECT, API, JOURNAL
	DeliveryStatus string
	IsQuarantined  bool
	StructureHash  string
	SimHash        uint64
	CampaignID     string
	Size           int64
	// Details is JSON with what detail views read: links, attachments, headers, problems.
	Details []byte
	// Attachments and recipients text for full-text search (not read back).
	SearchAttachments string
}

// Query filters messages. Zero values do not filter.
type Query struct {
	Text           string // full text
	Sender         string
	Recipient      string
	Subject        string
	Domain         string
	MessageID      string
	Disposition    string
	DeliveryState  string
	DetectionsOnly bool
	Action         string // messages with this operation in their action log (RELEASE, MOVE, PREVIEW, RECLASSIFY)
	Start, End     time.Time
	Cursor         int64 // messages with seq below this (newest first); 0 = from the newest
	Offset         int   // page paging
	Limit          int
	CountTotal     bool
}

// MaxCount is the largest total a search counts exactly (Page.TotalCapped beyond).
const MaxCount = 10000

// Page is one page of results.
type Page struct {
	Messages    []Message
	Total       int   // when CountTotal; at most MaxCount
	TotalCapped bool  // more than MaxCount messages match
	NextCursor  int64 // 0 when no more
}

// TraceLine is one line of a message's trace.
type TraceLine struct {
	Direction string // inbound, outbound
	LoggedAt  time.Time
	Line      string
}

// Action is an action log entry on a message.
type Action struct {
	ID          int64
	Operation   string
	Status      string
	RequestedBy string
	Properties  map[string]string
	CreatedAt   time.Time
	CompletedAt time.Time
}

// Delivery is one pending onward delivery.
type Delivery struct {
	ID         int64
	MessageSeq int64
	Recipient  string
	Attempts   int
}

// AuditEntry is one state change.
type AuditEntry struct {
	ID        int64
	AccountID int64
	Actor     string
	Action    string
	Target    string
	Detail    string
	CreatedAt time.Time
}

// Store is everything mailwarden keeps.
// SenderHistory is what an account's store knows of one sender address.
type SenderHistory struct {
	Messages int       // earlier messages From the address (at most the limit asked for)
	Clean    int       // of them, those whose disposition is NONE or BULK (as judged, or reclassified)
	First    time.Time // when the earliest of them was scanned
	// Kept: the account has stored mail at all. Without any (a data directory
	// used only to learn and scan) there is no history, rather than a
	// first-time sender.
	Kept bool
}

type Store interface {
	Settings    // account settings (settings.go)
	Jobs        // bulk jobs (jobs.go)
	Submissions // reclassification submissions (submissions.go)
	Users       // console users and sessions (users.go)

	// Console (issue 7): Overview rollups, API token listing and revocation,
	// the account's quarantine policy (console.go).
	Console

	Close() error

	CreateAccount(ctx context.Context, name string) (Account, error)
	Account(ctx context.Context, id int64) (Account, error)
	FirstAccount(ctx context.Context) (Account, error) // ErrNotFound when none
	// FirstAccountOrCreate returns the first account, creating it with name when
	// there is none; created says which. Nodes starting together on one empty
	// database create one account between them.
	FirstAccountOrCreate(ctx context.Context, name string) (a Account, created bool, err error)
	// CreateToken makes an API token; the plaintext is returned once, only its hash is kept.
	CreateToken(ctx context.Context, accountID int64, role string) (string, error)
	// Authenticate resolves a plaintext token; ErrNotFound for unknown or revoked ones.
	Authenticate(ctx context.Context, token string) (Principal, error)

	// InsertMessage stores a message, its raw bytes, its search entry, its first trace
	// lines and the deliveries to queue, in one durable transaction.
	InsertMessage(ctx context.Context, m *Message, raw []byte, trace []string, deliverTo []string) error
	GetMessage(ctx context.Context, accountID int64, id string) (Message, error)
	GetMessageBySeq(ctx context.Context, seq int64) (Message, error)
	Raw(ctx context.Context, seq int64) ([]byte, error)
	Search(ctx context.Context, accountID int64, q Query) (Page, error)

	AddTrace(ctx context.Context, seq int64, direction, line string) error
	Trace(ctx context.Context, seq int64) ([]TraceLine, error)
	AddAction(ctx context.Context, seq int64, a Action) error
	Actions(ctx context.Context, seq int64) ([]Action, error)
	Audit(ctx context.Context, e AuditEntry) error
	AuditLog(ctx context.Context, accountID int64, limit int) ([]AuditEntry, error)

	// QueueDeliveries adds deliveries for recipients not already queued or delivered,
	// clears the quarantine flag, and returns the recipients newly queued.
	QueueDeliveries(ctx context.Context, seq int64, recipients []string) ([]string, error)
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]Delivery, error)
	// PendingDeliveries returns a message's deliveries not yet finished.
	PendingDeliveries(ctx context.Context, seq int64) ([]Delivery, error)
	// ClaimDueDeliveries claims a message's pending deliveries that are due at
	// now: their next attempt moves to now+lease, so neither DueDeliveries nor
	// another claim (on any node) returns them until FinishDelivery records the
	// attempt or the lease runs out (a crash mid-send).
	ClaimDueDeliveries(ctx context.Context, seq int64, now time.Time, lease time.Duration) ([]Delivery, error)
	// FinishDelivery records an attempt: delivered, failed for good, or retry at next.
	FinishDelivery(ctx context.Context, id int64, status string, errText string, next time.Time) error
	// DeliveryState recomputes a message's delivery_status from its deliveries.
	RefreshDeliveryStatus(ctx context.Context, seq int64) error

	// SenderHistory summarises the account's most recent messages (at most
	// limit) From addr, matched without regard to case.
	SenderHistory(ctx context.Context, accountID int64, addr string, limit int) (SenderHistory, error)

	// Campaign finds the campaign of a new message: an earlier message of the account
	// whose simhash is within maxBits, or within 4*maxBits when the structure hash is
	// the same too (personalised copies of short mail differ by ~10 of 64 bits;
	// unrelated texts by ~32). "" when none.
	Campaign(ctx context.Context, accountID int64, structureHash string, simhash uint64, maxBits int) (string, error)
}
