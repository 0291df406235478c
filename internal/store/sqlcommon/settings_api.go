package sqlcommon

import (
	"context"

	"github.com/mailwarden/mailwarden/internal/store"
)

// SettingsOps are one store's operations on one settings table.
type SettingsOps[T any] interface {
	List(ctx context.Context, accountID int64, q store.SettingsQuery) ([]T, int, error)
	Get(ctx context.Context, accountID, id int64) (T, error)
	Create(ctx context.Context, e *T) error
	Update(ctx context.Context, e *T) error
	Delete(ctx context.Context, accountID, id int64) error
}

// Settings implements every method of store.Settings but SettingsVersion over
// a store's operations on each table; the store embeds it.
type Settings struct {
	allow    SettingsOps[store.AllowPolicy]
	block    SettingsOps[store.BlockSender]
	trusted  SettingsOps[store.TrustedDomain]
	registry SettingsOps[store.ImpersonationEntry]
	domains  SettingsOps[store.ProtectedDomain]
}

// NewSettings is the settings methods over a store's tables.
func NewSettings(allow SettingsOps[store.AllowPolicy], block SettingsOps[store.BlockSender], trusted SettingsOps[store.TrustedDomain],
	registry SettingsOps[store.ImpersonationEntry], domains SettingsOps[store.ProtectedDomain]) Settings {
	return Settings{allow: allow, block: block, trusted: trusted, registry: registry, domains: domains}
}

// AllowPolicies lists allow policies.
func (s Settings) AllowPolicies(ctx context.Context, accountID int64, q store.SettingsQuery) ([]store.AllowPolicy, int, error) {
	return s.allow.List(ctx, accountID, q)
}

// AllowPolicy returns one allow policy.
func (s Settings) AllowPolicy(ctx context.Context, accountID, id int64) (store.AllowPolicy, error) {
	return s.allow.Get(ctx, accountID, id)
}

// CreateAllowPolicy adds an allow policy.
func (s Settings) CreateAllowPolicy(ctx context.Context, e *store.AllowPolicy) error {
	return s.allow.Create(ctx, e)
}

// UpdateAllowPolicy rewrites an allow policy.
func (s Settings) UpdateAllowPolicy(ctx context.Context, e *store.AllowPolicy) error {
	return s.allow.Update(ctx, e)
}

// DeleteAllowPolicy removes an allow policy.
func (s Settings) DeleteAllowPolicy(ctx context.Context, accountID, id int64) error {
	return s.allow.Delete(ctx, accountID, id)
}

// BlockSenders lists block entries.
func (s Settings) BlockSenders(ctx context.Context, accountID int64, q store.SettingsQuery) ([]store.BlockSender, int, error) {
	return s.block.List(ctx, accountID, q)
}

// BlockSender returns one block entry.
func (s Settings) BlockSender(ctx context.Context, accountID, id int64) (store.BlockSender, error) {
	return s.block.Get(ctx, accountID, id)
}

// CreateBlockSender adds a block entry.
func (s Settings) CreateBlockSender(ctx context.Context, e *store.BlockSender) error {
	return s.block.Create(ctx, e)
}

// UpdateBlockSender rewrites a block entry.
func (s Settings) UpdateBlockSender(ctx context.Context, e *store.BlockSender) error {
	return s.block.Update(ctx, e)
}

// DeleteBlockSender removes a block entry.
func (s Settings) DeleteBlockSender(ctx context.Context, accountID, id int64) error {
	return s.block.Delete(ctx, accountID, id)
}

// TrustedDomains lists trusted domains.
func (s Settings) TrustedDomains(ctx context.Context, accountID int64, q store.SettingsQuery) ([]store.TrustedDomain, int, error) {
	return s.trusted.List(ctx, accountID, q)
}

// TrustedDomain returns one trusted domain.
func (s Settings) TrustedDomain(ctx context.Context, accountID, id int64) (store.TrustedDomain, error) {
	return s.trusted.Get(ctx, accountID, id)
}

// CreateTrustedDomain adds a trusted domain.
func (s Settings) CreateTrustedDomain(ctx context.Context, e *store.TrustedDomain) error {
	return s.trusted.Create(ctx, e)
}

// UpdateTrustedDomain rewrites a trusted domain.
func (s Settings) UpdateTrustedDomain(ctx context.Context, e *store.TrustedDomain) error {
	return s.trusted.Update(ctx, e)
}

// DeleteTrustedDomain removes a trusted domain.
func (s Settings) DeleteTrustedDomain(ctx context.Context, accountID, id int64) error {
	return s.trusted.Delete(ctx, accountID, id)
}

// ImpersonationRegistry lists the impersonation registry.
func (s Settings) ImpersonationRegistry(ctx context.Context, accountID int64, q store.SettingsQuery) ([]store.ImpersonationEntry, int, error) {
	return s.registry.List(ctx, accountID, q)
}

// ImpersonationEntry returns one registry entry.
func (s Settings) ImpersonationEntry(ctx context.Context, accountID, id int64) (store.ImpersonationEntry, error) {
	return s.registry.Get(ctx, accountID, id)
}

// CreateImpersonationEntry adds a registry entry.
func (s Settings) CreateImpersonationEntry(ctx context.Context, e *store.ImpersonationEntry) error {
	return s.registry.Create(ctx, e)
}

// UpdateImpersonationEntry rewrites a registry entry.
func (s Settings) UpdateImpersonationEntry(ctx context.Context, e *store.ImpersonationEntry) error {
	return s.registry.Update(ctx, e)
}

// DeleteImpersonationEntry removes a registry entry.
func (s Settings) DeleteImpersonationEntry(ctx context.Context, accountID, id int64) error {
	return s.registry.Delete(ctx, accountID, id)
}

// ProtectedDomains lists protected domains.
func (s Settings) ProtectedDomains(ctx context.Context, accountID int64, q store.SettingsQuery) ([]store.ProtectedDomain, int, error) {
	return s.domains.List(ctx, accountID, q)
}

// ProtectedDomain returns one protected domain.
func (s Settings) ProtectedDomain(ctx context.Context, accountID, id int64) (store.ProtectedDomain, error) {
	return s.domains.Get(ctx, accountID, id)
}

// CreateProtectedDomain adds a protected domain.
func (s Settings) CreateProtectedDomain(ctx context.Context, e *store.ProtectedDomain) error {
	return s.domains.Create(ctx, e)
}

// UpdateProtectedDomain rewrites a protected domain.
func (s Settings) UpdateProtectedDomain(ctx context.Context, e *store.ProtectedDomain) error {
	return s.domains.Update(ctx, e)
}

// DeleteProtectedDomain removes a protected domain.
func (s Settings) DeleteProtectedDomain(ctx context.Context, accountID, id int64) error {
	return s.domains.Delete(ctx, accountID, id)
}
