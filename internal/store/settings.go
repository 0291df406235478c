package store

import (
	"context"
	"time"
)

// Kinds of account settings, named as Cloudflare Email Security's settings API
// names them (settings/{kind}); they also name audit actions.
const (
	KindAllowPolicies         = "allow_policies"
	KindBlockSenders          = "block_senders"
	KindTrustedDomains        = "trusted_domains"
	KindImpersonationRegistry = "impersonation_registry"
	KindDomains               = "domains"
)

// Pattern types of allow and block entries.
const (
	PatternEmail   = "EMAIL"   // an address (or a regex on it)
	PatternDomain  = "DOMAIN"  // a domain and its subdomains (or a regex on it)
	PatternIP      = "IP"      // the connecting client: an address, a CIDR or a regex
	PatternUnknown = "UNKNOWN" // kept but never matched
)

// SettingBase is what every settings entry has.
type SettingBase struct {
	ID           int64
	AccountID    int64
	Comments     string
	CreatedAt    time.Time
	LastModified time.Time
	// ExpiresAt is when the entry stops applying; zero means never. Expired
	// entries are still listed (with ActiveAt unset) but a policy ignores them.
	ExpiresAt time.Time
}

// Base gives the common part of an entry.
func (b *SettingBase) Base() *SettingBase { return b }

// Active reports whether the entry applies at now.
func (b SettingBase) Active(now time.Time) bool {
	return b.ExpiresAt.IsZero() || now.Before(b.ExpiresAt)
}

// AllowPolicy exempts senders or recipients from detection (Cloudflare
// "allow policies"); see detect.AllowPolicy for what each flag does.
type AllowPolicy struct {
	SettingBase
	Pattern            string
	PatternType        string
	IsRegex            bool
	IsAcceptableSender bool
	IsTrustedSender    bool
	IsExemptRecipient  bool
	VerifySender       bool
	IsRecipient        bool // accepted and kept as Cloudflare's schema has them
	IsSender           bool
	IsSpoof            bool
}

// BlockSender makes matching senders MALICIOUS.
type BlockSender struct {
	SettingBase
	Pattern     string
	PatternType string
	IsRegex     bool
}

// TrustedDomain is a partner domain exempt from newly-registered (IsRecent) or
// lookalike (IsSimilarity) detection.
type TrustedDomain struct {
	SettingBase
	Pattern      string
	IsRegex      bool
	IsRecent     bool
	IsSimilarity bool
}

// ImpersonationEntry is a person of the impersonation registry: their name shown
// on mail from other addresses is impersonation.
type ImpersonationEntry struct {
	SettingBase
	Name         string
	Email        string
	IsEmailRegex bool
	DirectoryID  int64 // 0: none
	Provenance   string
}

// ProtectedDomain is one of the organisation's own domains (Cloudflare
// "domains"). DropDispositions are held in quarantine for mail to it.
type ProtectedDomain struct {
	SettingBase
	Domain               string
	DropDispositions     []string
	Folder               string // AllItems, Inbox or ""
	LookbackHops         int64
	RequireTLSInbound    bool
	RequireTLSOutbound   bool
	AllowedDeliveryModes []string
	IPRestrictions       []string
	Regions              []string
	Transport            string
	Status               string
}

// Holds reports whether mail of this disposition to the domain is held.
func (d ProtectedDomain) Holds(disposition string) bool {
	for _, x := range d.DropDispositions {
		if x == disposition {
			return true
		}
	}
	return false
}

// SettingsQuery filters and pages a settings list. Zero values do not filter.
type SettingsQuery struct {
	Search      string          // substring of the pattern (name, email, domain) or comments, case-insensitive
	Pattern     string          // exact pattern (domain for domains, email for the registry), case-insensitive
	PatternType string          // allow_policies, block_senders
	Flags       map[string]bool // boolean fields by their API name, e.g. "is_regex": true
	Provenance  string          // impersonation_registry
	Domains     []string        // domains: any of these
	Order       string          // API name of the field to sort by; "" sorts by id
	Desc        bool
	Offset      int
	Limit       int       // 0: all
	ActiveAt    time.Time // when set, entries expired at this time are left out
}

// Settings keeps account settings. Every method is confined to one account: an
// id of another account is ErrNotFound. Create and Update return ErrConflict
// when the entry's pattern (domain, email) is already there; an expired entry
// with the same pattern is replaced instead. Every write bumps SettingsVersion.
// Update replaces every field but ID, AccountID and CreatedAt; both set
// LastModified (and Create CreatedAt and ID) on the entry passed.
type Settings interface {
	AllowPolicies(ctx context.Context, accountID int64, q SettingsQuery) (entries []AllowPolicy, total int, err error)
	AllowPolicy(ctx context.Context, accountID, id int64) (AllowPolicy, error)
	CreateAllowPolicy(ctx context.Context, e *AllowPolicy) error
	UpdateAllowPolicy(ctx context.Context, e *AllowPolicy) error
	DeleteAllowPolicy(ctx context.Context, accountID, id int64) error

	BlockSenders(ctx context.Context, accountID int64, q SettingsQuery) ([]BlockSender, int, error)
	BlockSender(ctx context.Context, accountID, id int64) (BlockSender, error)
	CreateBlockSender(ctx context.Context, e *BlockSender) error
	UpdateBlockSender(ctx context.Context, e *BlockSender) error
	DeleteBlockSender(ctx context.Context, accountID, id int64) error

	TrustedDomains(ctx context.Context, accountID int64, q SettingsQuery) ([]TrustedDomain, int, error)
	TrustedDomain(ctx context.Context, accountID, id int64) (TrustedDomain, error)
	CreateTrustedDomain(ctx context.Context, e *TrustedDomain) error
	UpdateTrustedDomain(ctx context.Context, e *TrustedDomain) error
	DeleteTrustedDomain(ctx context.Context, accountID, id int64) error

	ImpersonationRegistry(ctx context.Context, accountID int64, q SettingsQuery) ([]ImpersonationEntry, int, error)
	ImpersonationEntry(ctx context.Context, accountID, id int64) (ImpersonationEntry, error)
	CreateImpersonationEntry(ctx context.Context, e *ImpersonationEntry) error
	UpdateImpersonationEntry(ctx context.Context, e *ImpersonationEntry) error
	DeleteImpersonationEntry(ctx context.Context, accountID, id int64) error

	ProtectedDomains(ctx context.Context, accountID int64, q SettingsQuery) ([]ProtectedDomain, int, error)
	ProtectedDomain(ctx context.Context, accountID, id int64) (ProtectedDomain, error)
	CreateProtectedDomain(ctx context.Context, e *ProtectedDomain) error
	UpdateProtectedDomain(ctx context.Context, e *ProtectedDomain) error
	DeleteProtectedDomain(ctx context.Context, accountID, id int64) error

	// SettingsVersion changes whenever a setting of the account is written
	// (0 before the first write): caches compare it to know when to reload.
	SettingsVersion(ctx context.Context, accountID int64) (int64, error)
}
