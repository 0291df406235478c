package policy_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/auth"
	"github.com/mailwarden/mailwarden/internal/detect"
	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/internal/pipeline"
	"github.com/mailwarden/mailwarden/internal/policy"
	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/store/sqlite"
)

var _ pipeline.PolicySource = (*policy.Source)(nil)

func setup(t *testing.T) (*sqlite.Store, store.Account, store.Account) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "policy.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a1, err := st.CreateAccount(ctx, "one")
	if err != nil {
		t.Fatal(err)
	}
	a2, err := st.CreateAccount(ctx, "two")
	if err != nil {
		t.Fatal(err)
	}
	return st, a1, a2
}

const mail = "From: Mallory <mallory@evil.example>\r\nTo: alice@corp.example\r\nSubject: quarterly report\r\n" +
	"Date: Mon, 2 Mar 2026 10:00:00 +0000\r\nMessage-ID: <1@evil.example>\r\n\r\nHello Alice, the report is attached.\r\n"

func verdict(t *testing.T, src *policy.Source, accountID int64) detect.Verdict {
	t.Helper()
	p, err := src.Policy(context.Background(), accountID)
	if err != nil {
		t.Fatal(err)
	}
	m := message.Parse([]byte(mail), message.Limits{})
	return detect.New(detect.DefaultConfig(), nil).Detect(context.Background(), m, auth.Result{}, p)
}

func hasTrigger(v detect.Verdict, name string) bool {
	return slices.ContainsFunc(v.Triggers, func(t detect.Trigger) bool { return t.Name == name })
}

func TestBlockSenderAppliesAtOnce(t *testing.T) {
	st, a1, a2 := setup(t)
	ctx := context.Background()
	now := time.Now()
	src := policy.New(st, nil)
	src.Now = func() time.Time { return now }

	if v := verdict(t, src, a1.ID); v.Disposition == detect.Malicious || hasTrigger(v, detect.TrigBlockedSender) {
		t.Fatalf("before the block entry: %s %v", v.Disposition, v.Triggers)
	}
	// The policy is cached now; a new entry must still apply to the next message.
	b := store.BlockSender{SettingBase: store.SettingBase{AccountID: a1.ID, ExpiresAt: now.Add(time.Hour)},
		Pattern: "evil.example", PatternType: store.PatternDomain}
	if err := st.CreateBlockSender(ctx, &b); err != nil {
		t.Fatal(err)
	}
	v := verdict(t, src, a1.ID)
	if v.Disposition != detect.Malicious || !hasTrigger(v, detect.TrigBlockedSender) {
		t.Fatalf("after the block entry: %s %v", v.Disposition, v.Triggers)
	}
	// Another account is not affected.
	if v := verdict(t, src, a2.ID); hasTrigger(v, detect.TrigBlockedSender) {
		t.Fatalf("account 2 sees account 1's block entry: %v", v.Triggers)
	}
	// Past its expiry the entry stops applying, without any write.
	now = now.Add(2 * time.Hour)
	if v := verdict(t, src, a1.ID); hasTrigger(v, detect.TrigBlockedSender) {
		t.Fatalf("expired block entry still applies: %v", v.Triggers)
	}
	// Deleting applies at once too.
	b = store.BlockSender{SettingBase: store.SettingBase{AccountID: a1.ID}, Pattern: "mallory@evil.example", PatternType: store.PatternEmail}
	if err := st.CreateBlockSender(ctx, &b); err != nil {
		t.Fatal(err)
	}
	if v := verdict(t, src, a1.ID); !hasTrigger(v, detect.TrigBlockedSender) {
		t.Fatal("new block entry does not apply")
	}
	if err := st.DeleteBlockSender(ctx, a1.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	if v := verdict(t, src, a1.ID); hasTrigger(v, detect.TrigBlockedSender) {
		t.Fatalf("deleted block entry still applies: %v", v.Triggers)
	}
}

func TestAllowPolicyTrustedSender(t *testing.T) {
	st, a1, _ := setup(t)
	ctx := context.Background()
	src := policy.New(st, &detect.Policy{BlockSenders: []detect.BlockSender{{Pattern: "mallory@evil.example", PatternType: detect.PatternEmail}}})
	if v := verdict(t, src, a1.ID); v.Disposition != detect.Malicious {
		t.Fatalf("static block entry: %s", v.Disposition)
	}
	a := store.AllowPolicy{SettingBase: store.SettingBase{AccountID: a1.ID}, Pattern: "evil.example", PatternType: store.PatternDomain, IsTrustedSender: true}
	if err := st.CreateAllowPolicy(ctx, &a); err != nil {
		t.Fatal(err)
	}
	if v := verdict(t, src, a1.ID); v.Disposition != detect.None || !hasTrigger(v, detect.TrigTrustedSender) {
		t.Fatalf("trusted sender: %s %v", v.Disposition, v.Triggers)
	}
}

func TestMerge(t *testing.T) {
	st, a1, a2 := setup(t)
	ctx := context.Background()
	static := &detect.Policy{ProtectedDomains: []string{"static.example"}, Executives: []detect.Executive{{Name: "Jane Doe", Email: "jane@static.example"}}}
	src := policy.New(st, static)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.CreateProtectedDomain(ctx, &store.ProtectedDomain{SettingBase: store.SettingBase{AccountID: a1.ID}, Domain: "corp.example"}))
	must(st.CreateProtectedDomain(ctx, &store.ProtectedDomain{SettingBase: store.SettingBase{AccountID: a1.ID}, Domain: "static.example"}))
	must(st.CreateImpersonationEntry(ctx, &store.ImpersonationEntry{SettingBase: store.SettingBase{AccountID: a1.ID}, Name: "Bob Boss", Email: "bob@corp.example"}))
	must(st.CreateImpersonationEntry(ctx, &store.ImpersonationEntry{SettingBase: store.SettingBase{AccountID: a1.ID}, Name: "Carol Chief", Email: `carol\..*@corp\.example`, IsEmailRegex: true}))
	must(st.CreateTrustedDomain(ctx, &store.TrustedDomain{SettingBase: store.SettingBase{AccountID: a1.ID}, Pattern: "partner.example", IsSimilarity: true}))

	p, err := src.Policy(ctx, a1.ID)
	must(err)
	if !slices.Equal(p.ProtectedDomains, []string{"static.example", "corp.example"}) {
		t.Errorf("protected domains %v", p.ProtectedDomains)
	}
	if len(p.Executives) != 1 || p.AccountID != a1.ID {
		t.Errorf("executives %v, account %d", p.Executives, p.AccountID)
	}
	want := []detect.Executive{{Name: "Bob Boss", Email: "bob@corp.example"}, {Name: "Carol Chief"}}
	if !slices.Equal(p.ImpersonationRegistry, want) {
		t.Errorf("registry %v", p.ImpersonationRegistry)
	}
	if len(p.TrustedDomains) != 1 || !p.TrustedDomains[0].IsSimilarity {
		t.Errorf("trusted %v", p.TrustedDomains)
	}
	if len(static.ProtectedDomains) != 1 {
		t.Errorf("static policy changed: %v", static.ProtectedDomains)
	}
	p2, err := src.Policy(ctx, a2.ID)
	must(err)
	if !slices.Equal(p2.ProtectedDomains, []string{"static.example"}) || len(p2.ImpersonationRegistry) != 0 {
		t.Errorf("account 2: %v %v", p2.ProtectedDomains, p2.ImpersonationRegistry)
	}
	// Invalidate forces a rebuild; the result is the same.
	src.Invalidate(0)
	if p3, _ := src.Policy(ctx, a1.ID); p3 == p || len(p3.ProtectedDomains) != 2 {
		t.Errorf("after Invalidate: %v", p3)
	}
}

func TestHolds(t *testing.T) {
	st, a1, _ := setup(t)
	ctx := context.Background()
	src := policy.New(st, nil)
	// Account default: MALICIOUS, SPOOF, SPAM (0001_init.sql).
	tests := []struct {
		rcpts []string
		disp  string
		want  bool
	}{
		{[]string{"a@corp.example"}, "SPAM", true},
		{[]string{"a@corp.example"}, "BULK", false},
		{nil, "SPAM", true},
	}
	check := func(stage string) {
		t.Helper()
		for _, tc := range tests {
			got, err := src.Holds(ctx, a1.ID, tc.rcpts, tc.disp)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("%s: Holds(%v, %s) = %v, want %v", stage, tc.rcpts, tc.disp, got, tc.want)
			}
		}
	}
	check("no domains")

	d := store.ProtectedDomain{SettingBase: store.SettingBase{AccountID: a1.ID}, Domain: "corp.example", DropDispositions: []string{"MALICIOUS", "BULK"}}
	if err := st.CreateProtectedDomain(ctx, &d); err != nil {
		t.Fatal(err)
	}
	tests = []struct {
		rcpts []string
		disp  string
		want  bool
	}{
		{[]string{"a@corp.example"}, "BULK", true},                        // the domain's rule
		{[]string{"a@CORP.example"}, "SPAM", false},                       // the domain's rule replaces the account's
		{[]string{"a@eu.corp.example"}, "BULK", true},                     // subdomain
		{[]string{"a@other.example"}, "SPAM", true},                       // no entry: the account's rule
		{[]string{"a@other.example"}, "BULK", false},                      //
		{[]string{"a@corp.example", "b@other.example"}, "SPAM", true},     // any recipient's rule holding it
		{[]string{"a@corp.example", "b@other.example"}, "NONE", false},    //
		{[]string{"a@corp.example", "b@corp.example"}, "MALICIOUS", true}, //
	}
	check("with corp.example")
}

// The policy reads a sender's history from the account's stored mail: a
// payment request from an address the account has had clean mail from, when
// authenticated, is no first-time sender's.
func TestSenderHistoryFromStore(t *testing.T) {
	st, a1, a2 := setup(t)
	ctx := context.Background()
	src := policy.New(st, nil)
	first := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for i := range 3 {
		m := &store.Message{ID: fmt.Sprintf("m%d", i), AccountID: a1.ID, FromAddr: "Ap@Supplier.example", FromDomain: "supplier.example",
			ScannedAt: first.Add(time.Duration(i) * time.Hour), Disposition: "NONE", DeliveryMode: "DIRECT", DeliveryStatus: store.StatusDelivered}
		if err := st.InsertMessage(ctx, m, []byte("raw"), nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	request := message.Parse([]byte("From: Accounts <ap@supplier.example>\r\nTo: alice@corp.example\r\nSubject: overdue\r\n\r\n"+
		"Please process the wire transfer for the attached invoice today, it is urgent.\r\n"), message.Limits{})
	authed := auth.Result{DMARC: auth.DMARCResult{Result: auth.ResultPass}}
	other := &store.Message{ID: "o1", AccountID: a2.ID, FromAddr: "someone@else.example", FromDomain: "else.example",
		ScannedAt: first, Disposition: "NONE", DeliveryMode: "DIRECT", DeliveryStatus: store.StatusDelivered}
	if err := st.InsertMessage(ctx, other, []byte("raw"), nil, nil); err != nil {
		t.Fatal(err)
	}
	a3, _ := st.CreateAccount(ctx, "three")
	for _, tc := range []struct {
		account int64
		want    float64 // payment_request's score; 0: not fired
	}{
		{a1.ID, 0},   // known supplier, authenticated
		{a2.ID, 4},   // first-time sender: the account has mail, none from it
		{a3.ID, 2.5}, // no mail stored at all: unknown history
	} {
		p, err := src.Policy(ctx, tc.account)
		if err != nil {
			t.Fatal(err)
		}
		v := detect.New(detect.DefaultConfig(), nil).Detect(ctx, request, authed, p)
		got := 0.0
		for _, tr := range v.Triggers {
			if tr.Name == detect.TrigPaymentRequest {
				got = tr.Score
			}
		}
		if got != tc.want {
			t.Errorf("account %d: payment_request scored %v, want %v (%v)", tc.account, got, tc.want, v.Triggers)
		}
	}
}
