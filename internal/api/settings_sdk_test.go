package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go/v6"
	es "github.com/cloudflare/cloudflare-go/v6/email_security"
	"github.com/cloudflare/cloudflare-go/v6/option"
)

// The official Cloudflare Go SDK (cloudflare-go v6.10.0) drives the settings
// routes. Its decoding is lenient, so every answer is also checked for the
// fields the SDK requires (present, not null, of the right JSON type).

func sdkClient(e *testEnv, retries int) *cloudflare.Client {
	return cloudflare.NewClient(option.WithBaseURL(e.srv.URL+"/client/v4"), option.WithAPIToken(e.admin),
		option.WithMaxRetries(retries), option.WithRequestTimeout(10*time.Second))
}

type fieldMeta interface {
	IsMissing() bool
	IsNull() bool
	IsInvalid() bool
}

// present checks that the SDK decoded each named field of a response's JSON
// metadata (resp.JSON) from a non-null value of the right type.
func present(t *testing.T, what string, meta any, names ...string) {
	t.Helper()
	v := reflect.ValueOf(meta)
	for _, n := range names {
		f := v.FieldByName(n)
		if !f.IsValid() {
			t.Errorf("%s: the SDK has no field %s", what, n)
			continue
		}
		m := f.Interface().(fieldMeta)
		if m.IsMissing() || m.IsNull() || m.IsInvalid() {
			t.Errorf("%s: %s missing=%v null=%v invalid=%v", what, n, m.IsMissing(), m.IsNull(), m.IsInvalid())
		}
	}
}

func notFound(t *testing.T, what string, err error) {
	t.Helper()
	var cf *cloudflare.Error
	if !errors.As(err, &cf) || cf.StatusCode != http.StatusNotFound {
		t.Errorf("%s: %v, want a 404", what, err)
	}
}

var (
	allowFields    = []string{"ID", "CreatedAt", "LastModified", "IsAcceptableSender", "IsExemptRecipient", "IsRegex", "IsTrustedSender", "Pattern", "PatternType", "VerifySender"}
	blockFields    = []string{"ID", "CreatedAt", "LastModified", "IsRegex", "Pattern", "PatternType"}
	trustedFields  = []string{"ID", "CreatedAt", "LastModified", "IsRecent", "IsRegex", "IsSimilarity", "Pattern"}
	registryFields = []string{"ID", "CreatedAt", "LastModified", "Email", "IsEmailRegex", "Name"}
	domainFields   = []string{"ID", "CreatedAt", "LastModified", "AllowedDeliveryModes", "Domain", "DropDispositions", "IPRestrictions", "LookbackHops", "Regions", "Transport"}
)

func TestSDKAllowPolicies(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	svc := sdkClient(e, 0).EmailSecurity.Settings.AllowPolicies
	acct := cloudflare.F(strconv.FormatInt(e.acct, 10))
	var ids []int64
	for i := range 3 {
		r, err := svc.New(ctx, es.SettingAllowPolicyNewParams{AccountID: acct,
			Pattern: cloudflare.F(fmt.Sprintf("partner%d.example", i)), PatternType: cloudflare.F(es.SettingAllowPolicyNewParamsPatternTypeDomain),
			IsAcceptableSender: cloudflare.F(true), IsExemptRecipient: cloudflare.F(false), IsRegex: cloudflare.F(false),
			IsTrustedSender: cloudflare.F(false), VerifySender: cloudflare.F(true), Comments: cloudflare.F("partner"), IsSpoof: cloudflare.F(true)})
		if err != nil {
			t.Fatal(err)
		}
		present(t, "New", r.JSON, append(allowFields, "Comments", "IsSpoof")...)
		if !r.PatternType.IsKnown() || !r.IsAcceptableSender || !r.VerifySender || !r.IsSpoof || r.Comments != "partner" || r.CreatedAt.IsZero() {
			t.Fatalf("New: %+v", r)
		}
		ids = append(ids, r.ID)
	}
	page, err := svc.List(ctx, es.SettingAllowPolicyListParams{AccountID: acct, PerPage: cloudflare.F(int64(2)),
		Order: cloudflare.F(es.SettingAllowPolicyListParamsOrderPattern), Direction: cloudflare.F(es.SettingAllowPolicyListParamsDirectionDesc),
		IsAcceptableSender: cloudflare.F(true)})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Result) != 2 || page.Result[0].Pattern != "partner2.example" || page.ResultInfo.PerPage != 2 || page.ResultInfo.Page != 1 {
		t.Fatalf("List: %+v %+v", page.Result, page.ResultInfo)
	}
	present(t, "List", page.Result[0].JSON, allowFields...)
	var all []int64
	iter := svc.ListAutoPaging(ctx, es.SettingAllowPolicyListParams{AccountID: acct, PerPage: cloudflare.F(int64(2))})
	for iter.Next() {
		all = append(all, iter.Current().ID)
	}
	if err := iter.Err(); err != nil || fmt.Sprint(all) != fmt.Sprint(ids) {
		t.Fatalf("ListAutoPaging: %v %v, want %v", all, err, ids)
	}
	g, err := svc.Get(ctx, ids[1], es.SettingAllowPolicyGetParams{AccountID: acct})
	if err != nil {
		t.Fatal(err)
	}
	present(t, "Get", g.JSON, allowFields...)
	ed, err := svc.Edit(ctx, ids[1], es.SettingAllowPolicyEditParams{AccountID: acct, IsTrustedSender: cloudflare.F(true)})
	if err != nil {
		t.Fatal(err)
	}
	present(t, "Edit", ed.JSON, allowFields...)
	if !ed.IsTrustedSender || !ed.IsAcceptableSender || ed.Pattern != "partner1.example" || ed.Comments != "partner" {
		t.Fatalf("Edit changed more than sent: %+v", ed)
	}
	d, err := svc.Delete(ctx, ids[1], es.SettingAllowPolicyDeleteParams{AccountID: acct})
	if err != nil {
		t.Fatal(err)
	}
	present(t, "Delete", d.JSON, "ID")
	if d.ID != ids[1] {
		t.Fatalf("Delete: %+v", d)
	}
	_, err = svc.Get(ctx, ids[1], es.SettingAllowPolicyGetParams{AccountID: acct})
	notFound(t, "Get after Delete", err)
}

func TestSDKBlockSenders(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	svc := sdkClient(e, 0).EmailSecurity.Settings.BlockSenders
	acct := cloudflare.F(strconv.FormatInt(e.acct, 10))
	var ids []int64
	for i := range 5 {
		r, err := svc.New(ctx, es.SettingBlockSenderNewParams{AccountID: acct, Pattern: cloudflare.F(fmt.Sprintf("bad%d@evil.example", i)),
			PatternType: cloudflare.F(es.SettingBlockSenderNewParamsPatternTypeEmail), IsRegex: cloudflare.F(false)})
		if err != nil {
			t.Fatal(err)
		}
		present(t, "New", r.JSON, blockFields...)
		if r.JSON.Comments.IsMissing() {
			t.Error("New: comments missing (want null)")
		}
		ids = append(ids, r.ID)
	}
	var all []int64
	iter := svc.ListAutoPaging(ctx, es.SettingBlockSenderListParams{AccountID: acct, PerPage: cloudflare.F(int64(2)),
		PatternType: cloudflare.F(es.SettingBlockSenderListParamsPatternTypeEmail), Search: cloudflare.F("evil")})
	for iter.Next() {
		present(t, "ListAutoPaging", iter.Current().JSON, blockFields...)
		all = append(all, iter.Current().ID)
	}
	if err := iter.Err(); err != nil || fmt.Sprint(all) != fmt.Sprint(ids) {
		t.Fatalf("ListAutoPaging: %v %v, want %v", all, err, ids)
	}
	page, err := svc.List(ctx, es.SettingBlockSenderListParams{AccountID: acct, Pattern: cloudflare.F("bad3@evil.example")})
	if err != nil || len(page.Result) != 1 || page.Result[0].ID != ids[3] {
		t.Fatalf("List by pattern: %v %v", page, err)
	}
	g, err := svc.Get(ctx, ids[0], es.SettingBlockSenderGetParams{AccountID: acct})
	if err != nil {
		t.Fatal(err)
	}
	present(t, "Get", g.JSON, blockFields...)
	ed, err := svc.Edit(ctx, ids[0], es.SettingBlockSenderEditParams{AccountID: acct, Comments: cloudflare.F("campaign 7")})
	if err != nil {
		t.Fatal(err)
	}
	present(t, "Edit", ed.JSON, blockFields...)
	if ed.Comments != "campaign 7" || ed.Pattern != "bad0@evil.example" || ed.PatternType != es.SettingBlockSenderEditResponsePatternTypeEmail {
		t.Fatalf("Edit: %+v", ed)
	}
	d, err := svc.Delete(ctx, ids[0], es.SettingBlockSenderDeleteParams{AccountID: acct})
	if err != nil || d.ID != ids[0] {
		t.Fatalf("Delete: %+v %v", d, err)
	}
	present(t, "Delete", d.JSON, "ID")

	// A duplicate is a 400 the SDK does not retry, even with its default retries.
	start := time.Now()
	_, err = sdkClient(e, 10).EmailSecurity.Settings.BlockSenders.New(ctx, es.SettingBlockSenderNewParams{AccountID: acct,
		Pattern: cloudflare.F("bad1@evil.example"), PatternType: cloudflare.F(es.SettingBlockSenderNewParamsPatternTypeEmail), IsRegex: cloudflare.F(false)})
	var cf *cloudflare.Error
	if !errors.As(err, &cf) || cf.StatusCode != http.StatusBadRequest {
		t.Fatalf("duplicate: %v", err)
	}
	if time.Since(start) > time.Second {
		t.Errorf("duplicate took %v: retried?", time.Since(start))
	}
}

func TestSDKTrustedDomains(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	svc := sdkClient(e, 0).EmailSecurity.Settings.TrustedDomains
	acct := cloudflare.F(strconv.FormatInt(e.acct, 10))
	var ids []int64
	for i := range 3 {
		r, err := svc.New(ctx, es.SettingTrustedDomainNewParams{AccountID: acct, Body: es.SettingTrustedDomainNewParamsBodyEmailSecurityCreateTrustedDomain{
			Pattern: cloudflare.F(fmt.Sprintf("sister%d.example", i)), IsRecent: cloudflare.F(true), IsRegex: cloudflare.F(false), IsSimilarity: cloudflare.F(false)}})
		if err != nil {
			t.Fatal(err)
		}
		one, ok := (*r).(es.SettingTrustedDomainNewResponseEmailSecurityTrustedDomain)
		if !ok {
			t.Fatalf("New decoded as %T", *r)
		}
		present(t, "New", one.JSON, trustedFields...)
		if one.ID == 0 || !one.IsRecent {
			t.Fatalf("New: %+v", one)
		}
		ids = append(ids, one.ID)
	}
	var all []int64
	iter := svc.ListAutoPaging(ctx, es.SettingTrustedDomainListParams{AccountID: acct, PerPage: cloudflare.F(int64(1)), IsRecent: cloudflare.F(true)})
	for iter.Next() {
		present(t, "ListAutoPaging", iter.Current().JSON, trustedFields...)
		all = append(all, iter.Current().ID)
	}
	if err := iter.Err(); err != nil || fmt.Sprint(all) != fmt.Sprint(ids) {
		t.Fatalf("ListAutoPaging: %v %v, want %v", all, err, ids)
	}
	page, err := svc.List(ctx, es.SettingTrustedDomainListParams{AccountID: acct, IsSimilarity: cloudflare.F(true)})
	if err != nil || len(page.Result) != 0 {
		t.Fatalf("List is_similarity: %v %v", page, err)
	}
	g, err := svc.Get(ctx, ids[2], es.SettingTrustedDomainGetParams{AccountID: acct})
	if err != nil {
		t.Fatal(err)
	}
	present(t, "Get", g.JSON, trustedFields...)
	ed, err := svc.Edit(ctx, ids[2], es.SettingTrustedDomainEditParams{AccountID: acct, IsSimilarity: cloudflare.F(true)})
	if err != nil {
		t.Fatal(err)
	}
	present(t, "Edit", ed.JSON, trustedFields...)
	if !ed.IsSimilarity || !ed.IsRecent || ed.Pattern != "sister2.example" {
		t.Fatalf("Edit: %+v", ed)
	}
	d, err := svc.Delete(ctx, ids[2], es.SettingTrustedDomainDeleteParams{AccountID: acct})
	if err != nil || d.ID != ids[2] {
		t.Fatalf("Delete: %+v %v", d, err)
	}
	present(t, "Delete", d.JSON, "ID")
	_, err = svc.Get(ctx, ids[2], es.SettingTrustedDomainGetParams{AccountID: acct})
	notFound(t, "Get after Delete", err)
}

func TestSDKImpersonationRegistry(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	svc := sdkClient(e, 0).EmailSecurity.Settings.ImpersonationRegistry
	acct := cloudflare.F(strconv.FormatInt(e.acct, 10))
	var ids []int64
	for i, name := range []string{"Carol Chief", "Alice Boss", "Bob Head"} {
		r, err := svc.New(ctx, es.SettingImpersonationRegistryNewParams{AccountID: acct, Name: cloudflare.F(name),
			Email: cloudflare.F(fmt.Sprintf("p%d@corp.example", i)), IsEmailRegex: cloudflare.F(false)})
		if err != nil {
			t.Fatal(err)
		}
		present(t, "New", r.JSON, registryFields...)
		ids = append(ids, r.ID)
	}
	page, err := svc.List(ctx, es.SettingImpersonationRegistryListParams{AccountID: acct, Order: cloudflare.F(es.SettingImpersonationRegistryListParamsOrderName)})
	if err != nil || len(page.Result) != 3 || page.Result[0].Name != "Alice Boss" {
		t.Fatalf("List by name: %v %v", page, err)
	}
	present(t, "List", page.Result[0].JSON, registryFields...)
	var all []int64
	iter := svc.ListAutoPaging(ctx, es.SettingImpersonationRegistryListParams{AccountID: acct, PerPage: cloudflare.F(int64(2))})
	for iter.Next() {
		all = append(all, iter.Current().ID)
	}
	if err := iter.Err(); err != nil || fmt.Sprint(all) != fmt.Sprint(ids) {
		t.Fatalf("ListAutoPaging: %v %v, want %v", all, err, ids)
	}
	g, err := svc.Get(ctx, ids[0], es.SettingImpersonationRegistryGetParams{AccountID: acct})
	if err != nil {
		t.Fatal(err)
	}
	present(t, "Get", g.JSON, registryFields...)
	ed, err := svc.Edit(ctx, ids[0], es.SettingImpersonationRegistryEditParams{AccountID: acct, Email: cloudflare.F(`carol\..*@corp\.example`), IsEmailRegex: cloudflare.F(true)})
	if err != nil {
		t.Fatal(err)
	}
	present(t, "Edit", ed.JSON, registryFields...)
	if ed.Name != "Carol Chief" || !ed.IsEmailRegex {
		t.Fatalf("Edit: %+v", ed)
	}
	d, err := svc.Delete(ctx, ids[0], es.SettingImpersonationRegistryDeleteParams{AccountID: acct})
	if err != nil || d.ID != ids[0] {
		t.Fatalf("Delete: %+v %v", d, err)
	}
	present(t, "Delete", d.JSON, "ID")
}

// The SDK has no call creating a domain: it is created through the API, then
// listed, read, edited and deleted through the SDK.
func TestSDKDomains(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	var ids []int64
	for _, d := range []string{"b.example", "a.example", "c.example"} {
		var created struct{ ID int64 }
		e.ok(t, "POST", "domains", fmt.Sprintf(`{"domain":%q,"drop_dispositions":["MALICIOUS","SPOOF"]}`, d), &created)
		ids = append(ids, created.ID)
	}
	svc := sdkClient(e, 0).EmailSecurity.Settings.Domains
	acct := cloudflare.F(strconv.FormatInt(e.acct, 10))
	page, err := svc.List(ctx, es.SettingDomainListParams{AccountID: acct, Order: cloudflare.F(es.SettingDomainListParamsOrderDomain),
		Domain: cloudflare.F([]string{"a.example", "c.example"})})
	if err != nil || len(page.Result) != 2 || page.Result[0].Domain != "a.example" {
		t.Fatalf("List: %v %v", page, err)
	}
	present(t, "List", page.Result[0].JSON, domainFields...)
	var all []int64
	iter := svc.ListAutoPaging(ctx, es.SettingDomainListParams{AccountID: acct, PerPage: cloudflare.F(int64(2))})
	for iter.Next() {
		all = append(all, iter.Current().ID)
	}
	if err := iter.Err(); err != nil || fmt.Sprint(all) != fmt.Sprint(ids) {
		t.Fatalf("ListAutoPaging: %v %v, want %v", all, err, ids)
	}
	g, err := svc.Get(ctx, ids[0], es.SettingDomainGetParams{AccountID: acct})
	if err != nil {
		t.Fatal(err)
	}
	present(t, "Get", g.JSON, domainFields...)
	if len(g.DropDispositions) != 2 || !g.DropDispositions[1].IsKnown() || !g.AllowedDeliveryModes[0].IsKnown() || !g.Regions[0].IsKnown() {
		t.Fatalf("Get: %+v", g)
	}
	ed, err := svc.Edit(ctx, ids[0], es.SettingDomainEditParams{AccountID: acct, IPRestrictions: cloudflare.F([]string{"192.0.2.0/24"}),
		DropDispositions: cloudflare.F([]es.SettingDomainEditParamsDropDisposition{es.SettingDomainEditParamsDropDispositionBulk}),
		Folder:           cloudflare.F(es.SettingDomainEditParamsFolderInbox), RequireTLSInbound: cloudflare.F(true)})
	if err != nil {
		t.Fatal(err)
	}
	present(t, "Edit", ed.JSON, domainFields...)
	if ed.Domain != "b.example" || len(ed.DropDispositions) != 1 || ed.DropDispositions[0] != es.SettingDomainEditResponseDropDispositionBulk ||
		ed.Folder != es.SettingDomainEditResponseFolderInbox || !ed.RequireTLSInbound || len(ed.IPRestrictions) != 1 {
		t.Fatalf("Edit: %+v", ed)
	}
	d, err := svc.Delete(ctx, ids[0], es.SettingDomainDeleteParams{AccountID: acct})
	if err != nil || d.ID != ids[0] {
		t.Fatalf("Delete: %+v %v", d, err)
	}
	present(t, "Delete", d.JSON, "ID")
	_, err = svc.Get(ctx, ids[0], es.SettingDomainGetParams{AccountID: acct})
	notFound(t, "Get after Delete", err)
}
