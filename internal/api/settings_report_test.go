package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/mailwarden/mailwarden/internal/api"
	"github.com/mailwarden/mailwarden/internal/store"
)

func (a subAnswer) addresses(t *testing.T) api.ReportAddresses {
	t.Helper()
	var r api.ReportAddresses
	if err := json.Unmarshal(a.Result, &r); err != nil {
		t.Fatalf("%s: %v", a.Result, err)
	}
	return r
}

func TestReportAddressesAPI(t *testing.T) {
	e := newSubEnv(t)
	ctx := context.Background()
	e.svc.DefaultAccount = e.acct.ID
	const path = "settings/report_addresses"

	got := e.call(t, e.viewer, "GET", path, "")
	r := got.addresses(t)
	if got.status != 200 || r.TeamSpam == nil || *r.TeamSpam != "team-spam@mx.test" || *r.TeamClean != "team-clean@mx.test" || len(r.Defaults) != 7 {
		t.Fatalf("defaults: %d %s", got.status, got.Result)
	}
	for _, tok := range []string{e.viewer, e.analyst, e.reporter} {
		if a := e.call(t, tok, "PATCH", path, `{"team_spam":"x@corp.test"}`); a.status != 403 {
			t.Errorf("a non-admin changed the addresses: %d", a.status)
		}
	}
	for body, field := range map[string]string{
		`{"team_spam":"not an address"}`:    "team_spam",
		`{"report":"Bob <bob@corp.test>"}`:  "report",
		`{"team_bulk":"bulk@localhost"}`:    "team_bulk",
		`{"team_none":"x@corp.test"}`:       "team_none",
		`{"team_spam":12}`:                  "team_spam",
		`{"team_spam":"team-bulk@mx.test"}`: "team_spam", // the account's own BULK address
		`{}`:                                "body",
	} {
		a := e.call(t, e.admin, "PATCH", path, body)
		if a.status != 400 || len(a.Errors) != 1 || a.Errors[0].Source == nil || a.Errors[0].Source.Pointer != field {
			t.Errorf("%s: %d %+v, want 400 naming %s", body, a.status, a.Errors, field)
		}
	}
	// Another account's address: 409, since an address routes to one account only.
	if err := e.svc.SetAddresses(ctx, e.acct.ID+1, map[string]string{store.AddrReport: "phish@two.test"}); err != nil {
		t.Fatal(err)
	}
	if a := e.call(t, e.admin, "PATCH", path, `{"report":"PHISH@two.test"}`); a.status != http.StatusConflict || a.Errors[0].Source.Pointer != "report" {
		t.Errorf("another account's address: %d %+v", a.status, a.Errors)
	}

	a := e.call(t, e.admin, "PATCH", path, `{"team_spam":"Spam-Desk@Corp.test","report":null}`)
	r = a.addresses(t)
	if a.status != 200 || *r.TeamSpam != "spam-desk@corp.test" || *r.Report != "report@mx.test" || len(r.Defaults) != 6 || strings.Contains(strings.Join(r.Defaults, ","), "team_spam") {
		t.Fatalf("edit: %d %s", a.status, a.Result)
	}
	if r := e.call(t, e.viewer, "GET", path, "").addresses(t); *r.TeamSpam != "spam-desk@corp.test" {
		t.Errorf("read back: %+v", r)
	}
	entries, _ := e.st.AuditLog(ctx, e.acct.ID, 10)
	if len(entries) == 0 || entries[0].Action != "settings.report_addresses.edit" || !strings.Contains(entries[0].Detail, "spam-desk@corp.test") ||
		!strings.Contains(entries[0].Detail, "team-spam@mx.test") || !strings.HasPrefix(entries[0].Actor, "token:") {
		t.Errorf("audit: %+v", entries)
	}
	// Refused changes were not audited: that is the only edit.
	n := 0
	for _, en := range entries {
		if en.Action == "settings.report_addresses.edit" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d audit entries, want 1", n)
	}
}
