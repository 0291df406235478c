package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/store"
)

// testSettings runs every settings kind through the same checks: create,
// conflicts, account confinement, listing filters and paging, versions, expiry
// and delete.
func testSettings(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("AllowPolicies", func(t *testing.T) { testSettingsAllowPolicies(t, open) })
	t.Run("BlockSenders", func(t *testing.T) { testSettingsBlockSenders(t, open) })
	t.Run("TrustedDomains", func(t *testing.T) { testSettingsTrustedDomains(t, open) })
	t.Run("ImpersonationRegistry", func(t *testing.T) { testSettingsImpersonationRegistry(t, open) })
	t.Run("Domains", func(t *testing.T) { testSettingsDomains(t, open) })
	t.Run("UnknownFilter", func(t *testing.T) { testSettingsUnknownFilter(t, open) })
	t.Run("Filters", func(t *testing.T) { testSettingsFilters(t, open) })
}

// settingOps drives one settings kind through the store.
type settingOps[T any, PT interface {
	*T
	Base() *store.SettingBase
}] struct {
	make    func(n int) T  // the n-th distinct entry
	key     func(T) string // its pattern (domain, email)
	mutate  func(PT)       // changes a field
	mutated func(T) bool   // the change is there
	flag    string         // a boolean filter set by mutate ("" for none)
	create  func(context.Context, PT) error
	update  func(context.Context, PT) error
	get     func(ctx context.Context, acct, id int64) (T, error)
	list    func(ctx context.Context, acct int64, q store.SettingsQuery) ([]T, int, error)
	del     func(ctx context.Context, acct, id int64) error
}

// openSettings opens a fresh store with two accounts.
func openSettings(t *testing.T, open func(t *testing.T) store.Store) (store.Store, int64, int64) {
	t.Helper()
	ctx := context.Background()
	s := open(t)
	a1, err := s.CreateAccount(ctx, "one")
	if err != nil {
		t.Fatal(err)
	}
	a2, err := s.CreateAccount(ctx, "two")
	if err != nil {
		t.Fatal(err)
	}
	return s, a1.ID, a2.ID
}

func runSettingKind[T any, PT interface {
	*T
	Base() *store.SettingBase
}](t *testing.T, s store.Store, a1, a2 int64, k settingOps[T, PT]) {
	t.Helper()
	ctx := context.Background()
	mk := func(acct int64, n int) T {
		e := k.make(n)
		PT(&e).Base().AccountID = acct
		return e
	}
	var ids []int64
	for n := range 3 {
		e := mk(a1, n)
		if err := k.create(ctx, &e); err != nil {
			t.Fatalf("create %d: %v", n, err)
		}
		b := PT(&e).Base()
		if b.ID == 0 || b.CreatedAt.IsZero() || !b.LastModified.Equal(b.CreatedAt) {
			t.Fatalf("create %d: base %+v", n, *b)
		}
		ids = append(ids, b.ID)
	}
	// The same pattern in another account is another entry.
	other := mk(a2, 0)
	if err := k.create(ctx, &other); err != nil {
		t.Fatalf("create in account 2: %v", err)
	}
	dup := mk(a1, 1)
	if err := k.create(ctx, &dup); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate: %v, want ErrConflict", err)
	}

	got, err := k.get(ctx, a1, ids[1])
	if err != nil {
		t.Fatal(err)
	}
	if k.key(got) != k.key(k.make(1)) || PT(&got).Base().AccountID != a1 {
		t.Fatalf("get: %+v", got)
	}
	if _, err := k.get(ctx, a2, ids[1]); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get from another account: %v", err)
	}

	all, total, err := k.list(ctx, a1, store.SettingsQuery{})
	if err != nil || total != 3 || len(all) != 3 {
		t.Fatalf("list: %d of %d, %v", len(all), total, err)
	}
	page, total, err := k.list(ctx, a1, store.SettingsQuery{Offset: 2, Limit: 2})
	if err != nil || total != 3 || len(page) != 1 || PT(&page[0]).Base().ID != ids[2] {
		t.Fatalf("page 2: %d of %d, %v", len(page), total, err)
	}
	desc, _, err := k.list(ctx, a1, store.SettingsQuery{Desc: true, Limit: 1})
	if err != nil || len(desc) != 1 || PT(&desc[0]).Base().ID != ids[2] {
		t.Fatalf("desc: %v %v", desc, err)
	}
	byPattern, total, err := k.list(ctx, a1, store.SettingsQuery{Pattern: k.key(k.make(2))})
	if err != nil || total != 1 || PT(&byPattern[0]).Base().ID != ids[2] {
		t.Fatalf("pattern filter: %v %d %v", byPattern, total, err)
	}
	if _, total, _ = k.list(ctx, a1, store.SettingsQuery{Search: "nothing-like-this"}); total != 0 {
		t.Fatalf("search for nothing found %d", total)
	}
	if _, total, _ = k.list(ctx, a2, store.SettingsQuery{}); total != 1 {
		t.Fatalf("account 2 lists %d", total)
	}

	v0, err := s.SettingsVersion(ctx, a1)
	if err != nil || v0 == 0 {
		t.Fatalf("version %d %v", v0, err)
	}
	e := got
	k.mutate(&e)
	time.Sleep(2 * time.Millisecond)
	if err := k.update(ctx, &e); err != nil {
		t.Fatal(err)
	}
	if v1, _ := s.SettingsVersion(ctx, a1); v1 <= v0 {
		t.Fatalf("version not bumped: %d -> %d", v0, v1)
	}
	got, _ = k.get(ctx, a1, ids[1])
	if b := PT(&got).Base(); !k.mutated(got) || !b.LastModified.After(b.CreatedAt) {
		t.Fatalf("after update: %+v", got)
	}
	if k.flag != "" {
		if l, _, err := k.list(ctx, a1, store.SettingsQuery{Flags: map[string]bool{k.flag: true}}); err != nil || len(l) != 1 {
			t.Fatalf("flag %s: %v %v", k.flag, l, err)
		}
	}
	foreign := got
	PT(&foreign).Base().AccountID = a2
	if err := k.update(ctx, &foreign); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update through another account: %v", err)
	}
	clash := mk(a1, 2)
	PT(&clash).Base().ID = ids[0]
	if err := k.update(ctx, &clash); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("update onto another pattern: %v", err)
	}

	// Expiry: an expired entry is listed but not active, and its pattern is free again.
	exp := mk(a1, 0)
	PT(&exp).Base().ID = ids[0]
	PT(&exp).Base().ExpiresAt = time.Now().Add(-time.Minute)
	if err := k.update(ctx, &exp); err != nil {
		t.Fatal(err)
	}
	if _, total, _ = k.list(ctx, a1, store.SettingsQuery{ActiveAt: time.Now()}); total != 2 {
		t.Fatalf("active: %d, want 2", total)
	}
	if _, total, _ = k.list(ctx, a1, store.SettingsQuery{}); total != 3 {
		t.Fatalf("all: %d, want 3", total)
	}
	later := mk(a1, 3)
	PT(&later).Base().ExpiresAt = time.Now().Add(time.Hour)
	if err := k.create(ctx, &later); err != nil {
		t.Fatal(err)
	}
	if _, total, _ = k.list(ctx, a1, store.SettingsQuery{ActiveAt: time.Now()}); total != 3 {
		t.Fatalf("active with a future expiry: %d, want 3", total)
	}
	again := mk(a1, 0)
	if err := k.create(ctx, &again); err != nil {
		t.Fatalf("re-create over an expired entry: %v", err)
	}
	if _, err := k.get(ctx, a1, ids[0]); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired entry not replaced: %v", err)
	}

	if err := k.del(ctx, a2, ids[2]); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete through another account: %v", err)
	}
	if err := k.del(ctx, a1, ids[2]); err != nil {
		t.Fatal(err)
	}
	if _, err := k.get(ctx, a1, ids[2]); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if err := k.del(ctx, a1, ids[2]); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

func testSettingsAllowPolicies(t *testing.T, open func(t *testing.T) store.Store) {
	s, a1, a2 := openSettings(t, open)
	runSettingKind(t, s, a1, a2, settingOps[store.AllowPolicy, *store.AllowPolicy]{
		make: func(n int) store.AllowPolicy {
			return store.AllowPolicy{Pattern: fmt.Sprintf("partner%d.example", n), PatternType: store.PatternDomain, IsAcceptableSender: true,
				SettingBase: store.SettingBase{Comments: "partner"}}
		},
		key:     func(e store.AllowPolicy) string { return e.Pattern },
		mutate:  func(e *store.AllowPolicy) { e.IsTrustedSender, e.VerifySender = true, true },
		mutated: func(e store.AllowPolicy) bool { return e.IsTrustedSender && e.VerifySender && e.IsAcceptableSender },
		flag:    "is_trusted_sender",
		create:  s.CreateAllowPolicy, update: s.UpdateAllowPolicy, get: s.AllowPolicy, list: s.AllowPolicies, del: s.DeleteAllowPolicy,
	})
}

func testSettingsBlockSenders(t *testing.T, open func(t *testing.T) store.Store) {
	s, a1, a2 := openSettings(t, open)
	runSettingKind(t, s, a1, a2, settingOps[store.BlockSender, *store.BlockSender]{
		make: func(n int) store.BlockSender {
			return store.BlockSender{Pattern: fmt.Sprintf("bad%d@evil.example", n), PatternType: store.PatternEmail}
		},
		key:     func(e store.BlockSender) string { return e.Pattern },
		mutate:  func(e *store.BlockSender) { e.Comments = "seen in a campaign" },
		mutated: func(e store.BlockSender) bool { return e.Comments == "seen in a campaign" },
		create:  s.CreateBlockSender, update: s.UpdateBlockSender, get: s.BlockSender, list: s.BlockSenders, del: s.DeleteBlockSender,
	})
}

func testSettingsTrustedDomains(t *testing.T, open func(t *testing.T) store.Store) {
	s, a1, a2 := openSettings(t, open)
	runSettingKind(t, s, a1, a2, settingOps[store.TrustedDomain, *store.TrustedDomain]{
		make: func(n int) store.TrustedDomain {
			return store.TrustedDomain{Pattern: fmt.Sprintf("sister%d.example", n), IsRecent: true}
		},
		key:     func(e store.TrustedDomain) string { return e.Pattern },
		mutate:  func(e *store.TrustedDomain) { e.IsSimilarity = true },
		mutated: func(e store.TrustedDomain) bool { return e.IsSimilarity && e.IsRecent },
		flag:    "is_similarity",
		create:  s.CreateTrustedDomain, update: s.UpdateTrustedDomain, get: s.TrustedDomain, list: s.TrustedDomains, del: s.DeleteTrustedDomain,
	})
}

func testSettingsImpersonationRegistry(t *testing.T, open func(t *testing.T) store.Store) {
	s, a1, a2 := openSettings(t, open)
	runSettingKind(t, s, a1, a2, settingOps[store.ImpersonationEntry, *store.ImpersonationEntry]{
		make: func(n int) store.ImpersonationEntry {
			return store.ImpersonationEntry{Name: fmt.Sprintf("Person %d", n), Email: fmt.Sprintf("p%d@corp.example", n), Provenance: "A1S_INTERNAL"}
		},
		key:     func(e store.ImpersonationEntry) string { return e.Email },
		mutate:  func(e *store.ImpersonationEntry) { e.Name, e.DirectoryID = "Renamed", 42 },
		mutated: func(e store.ImpersonationEntry) bool { return e.Name == "Renamed" && e.DirectoryID == 42 },
		create:  s.CreateImpersonationEntry, update: s.UpdateImpersonationEntry, get: s.ImpersonationEntry, list: s.ImpersonationRegistry, del: s.DeleteImpersonationEntry,
	})
}

func testSettingsDomains(t *testing.T, open func(t *testing.T) store.Store) {
	s, a1, a2 := openSettings(t, open)
	runSettingKind(t, s, a1, a2, settingOps[store.ProtectedDomain, *store.ProtectedDomain]{
		make: func(n int) store.ProtectedDomain {
			return store.ProtectedDomain{Domain: fmt.Sprintf("corp%d.example", n), DropDispositions: []string{"MALICIOUS"}, LookbackHops: 1,
				AllowedDeliveryModes: []string{"DIRECT"}, Status: "active"}
		},
		key: func(e store.ProtectedDomain) string { return e.Domain },
		mutate: func(e *store.ProtectedDomain) {
			e.DropDispositions = []string{"MALICIOUS", "SPAM"}
			e.RequireTLSInbound = true
		},
		mutated: func(e store.ProtectedDomain) bool {
			return e.Holds("SPAM") && e.Holds("MALICIOUS") && !e.Holds("BULK") && e.RequireTLSInbound && len(e.AllowedDeliveryModes) == 1
		},
		flag:   "require_tls_inbound",
		create: s.CreateProtectedDomain, update: s.UpdateProtectedDomain, get: s.ProtectedDomain, list: s.ProtectedDomains, del: s.DeleteProtectedDomain,
	})
}

func testSettingsUnknownFilter(t *testing.T, open func(t *testing.T) store.Store) {
	s, a1, _ := openSettings(t, open)
	ctx := context.Background()
	if _, _, err := s.BlockSenders(ctx, a1, store.SettingsQuery{Flags: map[string]bool{"is_trusted_sender": true}}); err == nil {
		t.Fatal("block_senders accepted a filter it has no column for")
	}
	if _, _, err := s.TrustedDomains(ctx, a1, store.SettingsQuery{Order: "pattern; DROP TABLE accounts"}); err == nil {
		t.Fatal("an order outside the allowed columns was accepted")
	}
	e := store.BlockSender{Pattern: "x@y.example", PatternType: store.PatternEmail, SettingBase: store.SettingBase{AccountID: 999}}
	if err := s.CreateBlockSender(ctx, &e); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("entry for a missing account: %v", err)
	}
}

// testSettingsFilters covers the list filters the generic checks leave out:
// domains, search in comments, pattern type, provenance and ordering.
func testSettingsFilters(t *testing.T, open func(t *testing.T) store.Store) {
	s, a1, _ := openSettings(t, open)
	ctx := context.Background()
	for _, d := range []string{"b.example", "A.example", "c.example"} {
		e := store.ProtectedDomain{Domain: d, SettingBase: store.SettingBase{AccountID: a1, Comments: "Main office " + d}}
		if err := s.CreateProtectedDomain(ctx, &e); err != nil {
			t.Fatal(err)
		}
	}
	domains := func(q store.SettingsQuery) []string {
		t.Helper()
		l, _, err := s.ProtectedDomains(ctx, a1, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range l {
			out = append(out, e.Domain)
		}
		return out
	}
	if got := fmt.Sprint(domains(store.SettingsQuery{Domains: []string{"a.EXAMPLE", "c.example", "z.example"}})); got != "[A.example c.example]" {
		t.Errorf("domains filter: %s", got)
	}
	if got := fmt.Sprint(domains(store.SettingsQuery{Search: "OFFICE B"})); got != "[b.example]" {
		t.Errorf("search in comments: %s", got)
	}
	if got := fmt.Sprint(domains(store.SettingsQuery{Order: "domain"})); got != "[A.example b.example c.example]" {
		t.Errorf("order by domain, case-insensitively: %s", got)
	}
	if got := fmt.Sprint(domains(store.SettingsQuery{Order: "domain", Desc: true, Limit: 2})); got != "[c.example b.example]" {
		t.Errorf("order by domain, descending: %s", got)
	}
	for _, e := range []store.BlockSender{
		{Pattern: "x@evil.example", PatternType: store.PatternEmail},
		{Pattern: "evil.example", PatternType: store.PatternDomain},
	} {
		e.AccountID = a1
		if err := s.CreateBlockSender(ctx, &e); err != nil {
			t.Fatal(err)
		}
	}
	if l, total, err := s.BlockSenders(ctx, a1, store.SettingsQuery{PatternType: store.PatternDomain}); err != nil || total != 1 || l[0].Pattern != "evil.example" {
		t.Errorf("pattern type: %v %d %v", l, total, err)
	}
	if l, _, err := s.BlockSenders(ctx, a1, store.SettingsQuery{Pattern: "X@EVIL.example"}); err != nil || len(l) != 1 || l[0].Pattern != "x@evil.example" {
		t.Errorf("pattern, case-insensitively: %v %v", l, err)
	}
	for _, e := range []store.ImpersonationEntry{
		{Name: "Ann", Email: "ann@corp.example", Provenance: "A1S_INTERNAL"},
		{Name: "Bob", Email: "bob@corp.example", Provenance: "SNOOPY-CASB_OFFICE_365"},
	} {
		e.AccountID = a1
		if err := s.CreateImpersonationEntry(ctx, &e); err != nil {
			t.Fatal(err)
		}
	}
	if l, total, err := s.ImpersonationRegistry(ctx, a1, store.SettingsQuery{Provenance: "A1S_INTERNAL"}); err != nil || total != 1 || l[0].Name != "Ann" {
		t.Errorf("provenance: %v %d %v", l, total, err)
	}
	if _, _, err := s.TrustedDomains(ctx, a1, store.SettingsQuery{Provenance: "x"}); err == nil {
		t.Error("trusted_domains accepted a provenance filter")
	}
}
