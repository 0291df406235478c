package sqlcommon

import (
	"fmt"
	"strings"

	"github.com/mailwarden/mailwarden/internal/store"
)

// Entry is a pointer to a settings entry type T.
type Entry[T any] interface {
	*T
	Base() *store.SettingBase
}

// SettingTable describes one settings table, alike in every store; T is the
// entry type. Each store wraps it with its own SQL.
type SettingTable[T any, PT Entry[T]] struct {
	Name    string          // table name
	Kind    string          // store.Kind*
	Cols    []string        // the kind's own columns, named as in the API
	Key     []string        // unique columns besides account_id
	NoCase  map[string]bool // columns declared COLLATE NOCASE in the SQLite schema
	Bools   map[string]bool // columns usable as boolean filters
	Orders  map[string]bool // columns usable as order
	Search  []string        // columns Search looks in (comments too)
	Pattern string          // column SettingsQuery.Pattern matches
	Fields  func(PT) []any  // scan destinations or values of Cols, in order
}

// SettingBaseCols are the columns of store.SettingBase, read before a kind's own.
const SettingBaseCols = "id, account_id, comments, created_at, last_modified, expires_at"

// SelectCols are every column of the table, as Dest reads them.
func (t *SettingTable[T, PT]) SelectCols() string {
	return SettingBaseCols + ", " + strings.Join(t.Cols, ", ")
}

// Dest are the scan destinations of SelectCols in e.
func (t *SettingTable[T, PT]) Dest(e PT) []any {
	b := e.Base()
	return append([]any{&b.ID, &b.AccountID, &b.Comments, MSTime{T: &b.CreatedAt}, MSTime{T: &b.LastModified}, MSTime{T: &b.ExpiresAt}}, t.Fields(e)...)
}

// Values are the kind's column values of e, for writing.
func (t *SettingTable[T, PT]) Values(e PT) []any {
	out := t.Fields(e)
	for i, v := range out {
		switch x := v.(type) {
		case *string:
			out[i] = *x
		case *bool:
			out[i] = *x
		case *int64:
			out[i] = *x
		case NullInt:
			out[i] = NullIfZero(*x.N)
		case StrList:
			out[i] = JSONList(*x.S)
		}
	}
	return out
}

// Has tells whether col is one of the kind's columns.
func (t *SettingTable[T, PT]) Has(col string) bool {
	for _, c := range t.Cols {
		if c == col {
			return true
		}
	}
	return false
}

// CheckQuery refuses a query the table cannot answer: a filter on a column
// the kind lacks, or an order on a column not meant for ordering.
func (t *SettingTable[T, PT]) CheckQuery(q store.SettingsQuery) error {
	if q.PatternType != "" && !t.Has("pattern_type") {
		return fmt.Errorf("%s has no pattern_type", t.Kind)
	}
	for k := range q.Flags {
		if !t.Bools[k] {
			return fmt.Errorf("%s has no boolean %q", t.Kind, k)
		}
	}
	if q.Provenance != "" && !t.Has("provenance") {
		return fmt.Errorf("%s has no provenance", t.Kind)
	}
	if len(q.Domains) > 0 && !t.Has("domain") {
		return fmt.Errorf("%s has no domain", t.Kind)
	}
	if q.Order != "" && q.Order != "id" && !t.Orders[q.Order] {
		return fmt.Errorf("%s cannot be ordered by %q", t.Kind, q.Order)
	}
	return nil
}

func setOf(s ...string) map[string]bool {
	m := map[string]bool{}
	for _, x := range s {
		m[x] = true
	}
	return m
}

// The settings tables (migration 0200_settings.sql).
var (
	AllowPolicies = &SettingTable[store.AllowPolicy, *store.AllowPolicy]{
		Name: "settings_allow_policies", Kind: store.KindAllowPolicies,
		Cols: []string{"pattern", "pattern_type", "is_regex", "is_acceptable_sender", "is_trusted_sender", "is_exempt_recipient",
			"verify_sender", "is_recipient", "is_sender", "is_spoof"},
		Key: []string{"pattern_type", "pattern"}, NoCase: setOf("pattern"),
		Bools: setOf("is_regex", "is_acceptable_sender", "is_trusted_sender", "is_exempt_recipient", "verify_sender",
			"is_recipient", "is_sender", "is_spoof"),
		Orders: setOf("pattern", "created_at", "last_modified", "pattern_type"), Search: []string{"pattern"}, Pattern: "pattern",
		Fields: func(e *store.AllowPolicy) []any {
			return []any{&e.Pattern, &e.PatternType, &e.IsRegex, &e.IsAcceptableSender, &e.IsTrustedSender, &e.IsExemptRecipient,
				&e.VerifySender, &e.IsRecipient, &e.IsSender, &e.IsSpoof}
		},
	}
	BlockSenders = &SettingTable[store.BlockSender, *store.BlockSender]{
		Name: "settings_block_senders", Kind: store.KindBlockSenders,
		Cols: []string{"pattern", "pattern_type", "is_regex"}, Key: []string{"pattern_type", "pattern"}, NoCase: setOf("pattern"),
		Bools: setOf("is_regex"), Orders: setOf("pattern", "created_at", "last_modified", "pattern_type"), Search: []string{"pattern"}, Pattern: "pattern",
		Fields: func(e *store.BlockSender) []any { return []any{&e.Pattern, &e.PatternType, &e.IsRegex} },
	}
	TrustedDomains = &SettingTable[store.TrustedDomain, *store.TrustedDomain]{
		Name: "settings_trusted_domains", Kind: store.KindTrustedDomains,
		Cols: []string{"pattern", "is_regex", "is_recent", "is_similarity"}, Key: []string{"pattern"}, NoCase: setOf("pattern"),
		Bools: setOf("is_regex", "is_recent", "is_similarity"), Orders: setOf("pattern", "created_at", "last_modified"), Search: []string{"pattern"}, Pattern: "pattern",
		Fields: func(e *store.TrustedDomain) []any { return []any{&e.Pattern, &e.IsRegex, &e.IsRecent, &e.IsSimilarity} },
	}
	ImpersonationRegistry = &SettingTable[store.ImpersonationEntry, *store.ImpersonationEntry]{
		Name: "settings_impersonation_registry", Kind: store.KindImpersonationRegistry,
		Cols: []string{"name", "email", "is_email_regex", "directory_id", "provenance"}, Key: []string{"email"}, NoCase: setOf("email"),
		Bools: setOf("is_email_regex"), Orders: setOf("name", "email", "created_at", "last_modified"), Search: []string{"name", "email"}, Pattern: "email",
		Fields: func(e *store.ImpersonationEntry) []any {
			return []any{&e.Name, &e.Email, &e.IsEmailRegex, NullInt{N: &e.DirectoryID}, &e.Provenance}
		},
	}
	ProtectedDomains = &SettingTable[store.ProtectedDomain, *store.ProtectedDomain]{
		Name: "settings_domains", Kind: store.KindDomains,
		Cols: []string{"domain", "drop_dispositions", "folder", "lookback_hops", "require_tls_inbound", "require_tls_outbound",
			"allowed_delivery_modes", "ip_restrictions", "regions", "transport", "status"},
		Key: []string{"domain"}, NoCase: setOf("domain"),
		Bools: setOf("require_tls_inbound", "require_tls_outbound"), Orders: setOf("domain", "created_at", "last_modified"), Search: []string{"domain"}, Pattern: "domain",
		Fields: func(e *store.ProtectedDomain) []any {
			return []any{&e.Domain, StrList{S: &e.DropDispositions}, &e.Folder, &e.LookbackHops, &e.RequireTLSInbound, &e.RequireTLSOutbound,
				StrList{S: &e.AllowedDeliveryModes}, StrList{S: &e.IPRestrictions}, StrList{S: &e.Regions}, &e.Transport, &e.Status}
		},
	}
)
