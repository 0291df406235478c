// Package policy gives the pipeline each account's detection policy and
// quarantine decision. It turns the account's settings (store.Settings, the
// shapes of Cloudflare Email Security's settings API: allow_policies,
// block_senders, trusted_domains, impersonation_registry, domains) into a
// detect.Policy, merged with an optional static organisation policy (--org).
//
// Policies are cached per account and rebuilt when the account's
// SettingsVersion changes (every settings write bumps it, from this process or
// another) or when an entry's expires_at passes: expired entries stop applying
// on their own, without a write.
package policy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/mailwarden/mailwarden/internal/detect"
	"github.com/mailwarden/mailwarden/internal/store"
)

// Store is what a Source reads.
type Store interface {
	store.Settings
	Account(ctx context.Context, id int64) (store.Account, error)
	SenderHistory(ctx context.Context, accountID int64, addr string, limit int) (store.SenderHistory, error)
}

// senderHistoryLimit is how many of a sender's most recent messages its history
// reads: enough to tell an established correspondent, bounded per message.
const senderHistoryLimit = 50

// errNoHistory: the account has no stored mail, so senders are of unknown
// history, not first-time.
var errNoHistory = errors.New("policy: the account keeps no mail, so no sender history")

// Source is a pipeline.PolicySource backed by the store. Safe for concurrent use.
type Source struct {
	store  Store
	static *detect.Policy
	// Now is the clock (tests may set it before first use).
	Now func() time.Time

	mu    sync.Mutex
	cache map[int64]*entry
}

// entry is the built policy of one account.
type entry struct {
	version int64
	until   time.Time // the earliest expiry of an applied entry: rebuild then (zero: never)
	policy  *detect.Policy
	domains []store.ProtectedDomain
}

// New returns a Source reading st; static (may be nil) is merged into every
// account's policy.
func New(st Store, static *detect.Policy) *Source {
	return &Source{store: st, static: static, cache: map[int64]*entry{}}
}

func (s *Source) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Invalidate drops the cached policy of an account (0: of every account). Not
// needed after writes through the store, which bump the settings version.
func (s *Source) Invalidate(accountID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if accountID == 0 {
		clear(s.cache)
		return
	}
	delete(s.cache, accountID)
}

// Policy returns the account's detection policy. The result is shared: callers
// must not change it.
func (s *Source) Policy(ctx context.Context, accountID int64) (*detect.Policy, error) {
	e, err := s.load(ctx, accountID)
	if err != nil {
		return nil, err
	}
	return e.policy, nil
}

// Holds reports whether mail of this disposition to these recipients is held in
// quarantine. A recipient whose domain (or a parent of it) is one of the
// account's protected domains follows that domain's drop_dispositions (the most
// specific domain wins); any other recipient follows the account's
// HoldDispositions. The message is held when any recipient's rule holds it; with
// no recipients the account's rule decides.
func (s *Source) Holds(ctx context.Context, accountID int64, recipients []string, disposition string) (bool, error) {
	e, err := s.load(ctx, accountID)
	if err != nil {
		return false, err
	}
	fallback := len(recipients) == 0
	for _, r := range recipients {
		d := domainFor(e.domains, domainOf(r))
		if d == nil {
			fallback = true
			continue
		}
		if d.Holds(disposition) {
			return true, nil
		}
	}
	if !fallback {
		return false, nil
	}
	acct, err := s.store.Account(ctx, accountID)
	if err != nil {
		return false, fmt.Errorf("policy: account %d: %w", accountID, err)
	}
	return acct.Holds(disposition), nil
}

// domainFor returns the protected domain entry covering domain: the domain
// itself or its nearest parent.
func domainFor(domains []store.ProtectedDomain, domain string) *store.ProtectedDomain {
	var best *store.ProtectedDomain
	for i := range domains {
		d := &domains[i]
		if domain == d.Domain || strings.HasSuffix(domain, "."+d.Domain) {
			if best == nil || len(d.Domain) > len(best.Domain) {
				best = d
			}
		}
	}
	return best
}

func domainOf(addr string) string {
	addr = strings.TrimSpace(strings.Trim(addr, "<>"))
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.ToLower(strings.TrimSuffix(addr[i+1:], "."))
	}
	return ""
}

// load returns the account's cached entry, rebuilding it when the settings
// changed or an entry expired.
func (s *Source) load(ctx context.Context, accountID int64) (*entry, error) {
	v, err := s.store.SettingsVersion(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("policy: settings version: %w", err)
	}
	now := s.now()
	s.mu.Lock()
	e := s.cache[accountID]
	s.mu.Unlock()
	if e != nil && e.version == v && (e.until.IsZero() || now.Before(e.until)) {
		return e, nil
	}
	// Reading the version first: a write racing with the build leaves a newer
	// policy under an older version, rebuilt on the next call.
	e, err = s.build(ctx, accountID, now)
	if err != nil {
		return nil, err
	}
	e.version = v
	s.mu.Lock()
	s.cache[accountID] = e
	s.mu.Unlock()
	return e, nil
}

func (s *Source) build(ctx context.Context, accountID int64, now time.Time) (*entry, error) {
	q := store.SettingsQuery{ActiveAt: now}
	allow, _, err := s.store.AllowPolicies(ctx, accountID, q)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	block, _, err := s.store.BlockSenders(ctx, accountID, q)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	trusted, _, err := s.store.TrustedDomains(ctx, accountID, q)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	registry, _, err := s.store.ImpersonationRegistry(ctx, accountID, q)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	domains, _, err := s.store.ProtectedDomains(ctx, accountID, q)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	e := &entry{domains: domains}
	expires := func(b store.SettingBase) {
		if !b.ExpiresAt.IsZero() && (e.until.IsZero() || b.ExpiresAt.Before(e.until)) {
			e.until = b.ExpiresAt
		}
	}

	p := &detect.Policy{AccountID: accountID}
	if st := s.static; st != nil {
		p.ProtectedDomains = append(p.ProtectedDomains, st.ProtectedDomains...)
		p.Executives = append(p.Executives, st.Executives...)
		p.ImpersonationRegistry = append(p.ImpersonationRegistry, st.ImpersonationRegistry...)
		p.AllowPolicies = append(p.AllowPolicies, st.AllowPolicies...)
		p.BlockSenders = append(p.BlockSenders, st.BlockSenders...)
		p.TrustedDomains = append(p.TrustedDomains, st.TrustedDomains...)
		p.SenderHistory = st.SenderHistory
	}
	if p.SenderHistory == nil {
		p.SenderHistory = func(ctx context.Context, addr string) (detect.SenderHistory, error) {
			h, err := s.store.SenderHistory(ctx, accountID, addr, senderHistoryLimit)
			if err == nil && !h.Kept {
				err = errNoHistory
			}
			return detect.SenderHistory{Messages: h.Messages, Clean: h.Clean, First: h.First}, err
		}
	}
	seen := map[string]bool{}
	for _, d := range p.ProtectedDomains {
		seen[strings.ToLower(d)] = true
	}
	for _, d := range domains {
		expires(d.SettingBase)
		if !seen[d.Domain] {
			seen[d.Domain] = true
			p.ProtectedDomains = append(p.ProtectedDomains, d.Domain)
		}
	}
	for _, r := range registry {
		expires(r.SettingBase)
		ex := detect.Executive{Name: r.Name, Email: r.Email}
		if r.IsEmailRegex {
			// detect matches addresses literally: a regex entry protects the name
			// from every address.
			ex.Email = ""
		}
		p.ImpersonationRegistry = append(p.ImpersonationRegistry, ex)
	}
	for _, a := range allow {
		expires(a.SettingBase)
		p.AllowPolicies = append(p.AllowPolicies, detect.AllowPolicy{
			Pattern: a.Pattern, PatternType: detect.PatternType(a.PatternType), IsRegex: a.IsRegex,
			IsAcceptableSender: a.IsAcceptableSender, IsTrustedSender: a.IsTrustedSender,
			IsExemptRecipient: a.IsExemptRecipient, VerifySender: a.VerifySender,
		})
	}
	for _, b := range block {
		expires(b.SettingBase)
		p.BlockSenders = append(p.BlockSenders, detect.BlockSender{Pattern: b.Pattern, PatternType: detect.PatternType(b.PatternType), IsRegex: b.IsRegex})
	}
	for _, t := range trusted {
		expires(t.SettingBase)
		p.TrustedDomains = append(p.TrustedDomains, detect.TrustedDomain{Pattern: t.Pattern, IsRegex: t.IsRegex, IsRecent: t.IsRecent, IsSimilarity: t.IsSimilarity})
	}
	e.policy = p
	return e, nil
}
