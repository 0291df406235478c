package api

// Settings entries in the shapes of Cloudflare's settings API (cloudflare-go v6
// email_security Setting*Response). The same types are read from request bodies:
// id, created_at and last_modified are then ignored, and PATCH decodes the body
// onto the current entry so only the fields sent change.

// SettingMeta is what every settings entry carries.
type SettingMeta struct {
	ID           int64   `json:"id"`
	CreatedAt    string  `json:"created_at"`    // RFC 3339
	LastModified string  `json:"last_modified"` // RFC 3339
	Comments     *string `json:"comments"`
	// ExpiresAt (RFC 3339) is when the entry stops applying; null for never.
	// A mailwarden addition.
	ExpiresAt *string `json:"expires_at"`
}

// AllowPolicy is an entry of settings/allow_policies.
type AllowPolicy struct {
	SettingMeta
	Pattern            string `json:"pattern"`
	PatternType        string `json:"pattern_type"` // EMAIL, DOMAIN, IP, UNKNOWN
	IsRegex            bool   `json:"is_regex"`
	IsAcceptableSender bool   `json:"is_acceptable_sender"` // exempt from SPAM, SPOOF and BULK
	IsTrustedSender    bool   `json:"is_trusted_sender"`    // bypasses all detection
	IsExemptRecipient  bool   `json:"is_exempt_recipient"`  // mail to the pattern bypasses detection
	VerifySender       bool   `json:"verify_sender"`        // applies only to authenticated senders
	IsRecipient        bool   `json:"is_recipient"`
	IsSender           bool   `json:"is_sender"`
	IsSpoof            bool   `json:"is_spoof"`
}

// BlockSender is an entry of settings/block_senders.
type BlockSender struct {
	SettingMeta
	Pattern     string `json:"pattern"`
	PatternType string `json:"pattern_type"`
	IsRegex     bool   `json:"is_regex"`
}

// TrustedDomain is an entry of settings/trusted_domains.
type TrustedDomain struct {
	SettingMeta
	Pattern      string `json:"pattern"`
	IsRegex      bool   `json:"is_regex"`
	IsRecent     bool   `json:"is_recent"`     // exempt from new-domain detection
	IsSimilarity bool   `json:"is_similarity"` // exempt from lookalike detection
}

// ImpersonationEntry is an entry of settings/impersonation_registry.
type ImpersonationEntry struct {
	SettingMeta
	Name         string  `json:"name"`
	Email        string  `json:"email"`
	IsEmailRegex bool    `json:"is_email_regex"`
	DirectoryID  *int64  `json:"directory_id"`
	Provenance   *string `json:"provenance"`
}

// ProtectedDomain is an entry of settings/domains.
type ProtectedDomain struct {
	SettingMeta
	Domain string `json:"domain"`
	// DropDispositions are held in quarantine for mail to the domain.
	DropDispositions     []string `json:"drop_dispositions"`
	Folder               *string  `json:"folder"` // AllItems, Inbox
	LookbackHops         int64    `json:"lookback_hops"`
	RequireTLSInbound    bool     `json:"require_tls_inbound"`
	RequireTLSOutbound   bool     `json:"require_tls_outbound"`
	AllowedDeliveryModes []string `json:"allowed_delivery_modes"` // DIRECT, BCC, JOURNAL, API, RETRO_SCAN
	IPRestrictions       []string `json:"ip_restrictions"`
	Regions              []string `json:"regions"` // GLOBAL, AU, DE, IN, US
	Transport            string   `json:"transport"`
	Status               string   `json:"status"` // informational: active unless set otherwise
	// IntegrationID is accepted for compatibility and always null (no mailbox integrations).
	IntegrationID *string `json:"integration_id"`
}

// DeletedSetting is the answer to a settings DELETE.
type DeletedSetting struct {
	ID int64 `json:"id"`
}
