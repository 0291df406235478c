package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailwarden/mailwarden/internal/api"
	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/store/sqlite"
)

type testEnv struct {
	srv                    *httptest.Server
	st                     *sqlite.Store
	acct, other            int64
	admin, analyst, viewer string
	otherAdmin             string
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "api.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &testEnv{st: st}
	a1, err := st.CreateAccount(ctx, "one")
	if err != nil {
		t.Fatal(err)
	}
	a2, err := st.CreateAccount(ctx, "two")
	if err != nil {
		t.Fatal(err)
	}
	e.acct, e.other = a1.ID, a2.ID
	tok := func(acct int64, role string) string {
		s, err := st.CreateToken(ctx, acct, role)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	e.admin, e.analyst, e.viewer = tok(a1.ID, store.RoleAdmin), tok(a1.ID, store.RoleAnalyst), tok(a1.ID, store.RoleViewer)
	e.otherAdmin = tok(a2.ID, store.RoleAdmin)
	mux := http.NewServeMux()
	(&api.Server{Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).SettingsRoutes(mux)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

type apiAnswer struct {
	status   int
	header   http.Header
	Success  bool `json:"success"`
	Errors   []api.Message
	Messages []api.Message
	Result   json.RawMessage
	Info     *api.ResultInfo `json:"result_info"`
}

// call sends a request for account acct; path is below settings/.
func (e *testEnv) call(t *testing.T, tok string, acct int64, method, path, body string) apiAnswer {
	t.Helper()
	url := fmt.Sprintf("%s/client/v4/accounts/%d/email-security/settings/%s", e.srv.URL, acct, path)
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a apiAnswer
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatalf("%s %s: %d %q: %v", method, path, resp.StatusCode, raw, err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: Content-Type %q", method, path, ct)
	}
	a.status, a.header = resp.StatusCode, resp.Header
	return a
}

func (e *testEnv) ok(t *testing.T, method, path, body string, into any) apiAnswer {
	t.Helper()
	a := e.call(t, e.admin, e.acct, method, path, body)
	if a.status != http.StatusOK || !a.Success {
		t.Fatalf("%s %s %s: %d %+v", method, path, body, a.status, a.Errors)
	}
	if into != nil {
		if err := json.Unmarshal(a.Result, into); err != nil {
			t.Fatalf("%s %s: result %s: %v", method, path, a.Result, err)
		}
	}
	return a
}

// TestSettingsCRUD drives every kind through create, get, list, edit and delete.
func TestSettingsCRUD(t *testing.T) {
	e := newTestEnv(t)
	kinds := []struct {
		kind, create, patch string
		check               func(t *testing.T, got map[string]any) // after the patch
	}{
		{"allow_policies", `{"pattern":"Partner.example","pattern_type":"domain","is_acceptable_sender":true,"is_trusted_sender":false,"is_exempt_recipient":false,"is_regex":false,"verify_sender":true,"comments":"partner","is_spoof":true}`,
			`{"is_trusted_sender":true}`,
			func(t *testing.T, got map[string]any) {
				want := map[string]any{"pattern": "partner.example", "pattern_type": "DOMAIN", "is_trusted_sender": true, "is_acceptable_sender": true, "verify_sender": true, "comments": "partner", "is_spoof": true}
				same(t, got, want)
			}},
		{"block_senders", `{"pattern":"bad@evil.example","pattern_type":"EMAIL","is_regex":false}`,
			`{"comments":"seen in a campaign","expires_at":"2099-01-02T03:04:05Z"}`,
			func(t *testing.T, got map[string]any) {
				same(t, got, map[string]any{"pattern": "bad@evil.example", "pattern_type": "EMAIL", "comments": "seen in a campaign", "expires_at": "2099-01-02T03:04:05Z"})
			}},
		{"trusted_domains", `{"pattern":"sister.example","is_recent":true,"is_similarity":false,"is_regex":false}`,
			`{"is_similarity":true}`,
			func(t *testing.T, got map[string]any) {
				same(t, got, map[string]any{"pattern": "sister.example", "is_recent": true, "is_similarity": true})
			}},
		{"impersonation_registry", `{"name":"Jane Doe","email":"jane@corp.example","is_email_regex":false}`,
			`{"name":"Jane Q. Doe","directory_id":7,"provenance":"A1S_INTERNAL"}`,
			func(t *testing.T, got map[string]any) {
				same(t, got, map[string]any{"name": "Jane Q. Doe", "email": "jane@corp.example", "directory_id": float64(7), "provenance": "A1S_INTERNAL"})
			}},
		{"domains", `{"domain":"corp.example","drop_dispositions":["MALICIOUS","SPAM"],"folder":"Inbox","require_tls_inbound":true}`,
			`{"drop_dispositions":["malicious"],"lookback_hops":2}`,
			func(t *testing.T, got map[string]any) {
				same(t, got, map[string]any{"domain": "corp.example", "drop_dispositions": []any{"MALICIOUS"}, "folder": "Inbox", "lookback_hops": float64(2),
					"require_tls_inbound": true, "allowed_delivery_modes": []any{"DIRECT"}, "regions": []any{"GLOBAL"}, "ip_restrictions": []any{}, "status": "active"})
			}},
	}
	for _, k := range kinds {
		t.Run(k.kind, func(t *testing.T) {
			var created map[string]any
			e.ok(t, "POST", k.kind, k.create, &created)
			id, ok := created["id"].(float64)
			if !ok || id <= 0 || id != float64(int64(id)) {
				t.Fatalf("id %v is not a JSON integer", created["id"])
			}
			for _, f := range []string{"created_at", "last_modified"} {
				if s, _ := created[f].(string); len(s) != len("2006-01-02T15:04:05Z") {
					t.Errorf("%s %q is not RFC 3339 UTC", f, created[f])
				}
			}
			if v, ok := created["expires_at"]; !ok || v != nil {
				t.Errorf("expires_at %v, want null", v)
			}
			path := fmt.Sprintf("%s/%d", k.kind, int64(id))

			var got map[string]any
			e.ok(t, "GET", path, "", &got)
			if got["id"] != created["id"] {
				t.Fatalf("get: %v", got)
			}
			var list []map[string]any
			a := e.ok(t, "GET", k.kind, "", &list)
			if len(list) != 1 || a.Info == nil || a.Info.TotalCount != 1 || a.Info.Page != 1 || a.Info.PerPage != api.DefaultPerPage {
				t.Fatalf("list: %v %+v", list, a.Info)
			}

			var patched map[string]any
			e.ok(t, "PATCH", path, k.patch, &patched)
			k.check(t, patched)
			e.ok(t, "GET", path, "", &got)
			k.check(t, got)

			var del map[string]any
			e.ok(t, "DELETE", path, "", &del)
			if len(del) != 1 || del["id"] != created["id"] {
				t.Fatalf("delete answered %v", del)
			}
			if a := e.call(t, e.admin, e.acct, "GET", path, ""); a.status != http.StatusNotFound {
				t.Fatalf("after delete: %d", a.status)
			}

			log, err := e.st.AuditLog(context.Background(), e.acct, 10)
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, l := range log {
				if l.Target == fmt.Sprint(int64(id)) && strings.HasPrefix(l.Action, "settings."+k.kind+".") {
					actions = append(actions, l.Action)
					if !strings.HasPrefix(l.Actor, "token:") || !json.Valid([]byte(l.Detail)) {
						t.Errorf("audit entry %+v", l)
					}
				}
			}
			if strings.Join(actions, ",") != "settings."+k.kind+".delete,settings."+k.kind+".edit,settings."+k.kind+".create" {
				t.Errorf("audit actions %v", actions)
			}
		})
	}
}

func same(t *testing.T, got, want map[string]any) {
	t.Helper()
	for k, w := range want {
		g, _ := json.Marshal(got[k])
		wj, _ := json.Marshal(w)
		if string(g) != string(wj) {
			t.Errorf("%s = %s, want %s", k, g, wj)
		}
	}
}

func TestSettingsValidation(t *testing.T) {
	e := newTestEnv(t)
	e.ok(t, "POST", "block_senders", `{"pattern":"dup@evil.example","pattern_type":"EMAIL","is_regex":false}`, nil)
	e.ok(t, "POST", "domains", `{"domain":"corp.example"}`, nil)
	tests := []struct {
		name, kind, body, field string
	}{
		{"bad json", "block_senders", `{"pattern":`, "body"},
		{"not an object", "block_senders", `["x"]`, "body"},
		{"empty body", "block_senders", ``, "body"},
		{"unknown pattern_type", "block_senders", `{"pattern":"a@b.example","pattern_type":"HOST","is_regex":false}`, "pattern_type"},
		{"no pattern_type", "allow_policies", `{"pattern":"a@b.example","is_trusted_sender":true}`, "pattern_type"},
		{"no pattern", "block_senders", `{"pattern_type":"EMAIL"}`, "pattern"},
		{"invalid regex", "block_senders", `{"pattern":"(unclosed","pattern_type":"EMAIL","is_regex":true}`, "pattern"},
		{"malformed email", "block_senders", `{"pattern":"not-an-address","pattern_type":"EMAIL","is_regex":false}`, "pattern"},
		{"display name", "allow_policies", `{"pattern":"Eve <eve@x.example>","pattern_type":"EMAIL"}`, "pattern"},
		{"malformed domain", "allow_policies", `{"pattern":"exa mple..com","pattern_type":"DOMAIN"}`, "pattern"},
		{"ip as domain", "trusted_domains", `{"pattern":"10.0.0.1"}`, "pattern"},
		{"malformed ip", "block_senders", `{"pattern":"300.1.1.1","pattern_type":"IP"}`, "pattern"},
		{"wrong type", "block_senders", `{"pattern":"a@b.example","pattern_type":"EMAIL","is_regex":"yes"}`, "is_regex"},
		{"unknown field", "block_senders", `{"pattern":"a@b.example","pattern_type":"EMAIL","colour":"red"}`, "colour"},
		{"bad expires_at", "block_senders", `{"pattern":"a@b.example","pattern_type":"EMAIL","expires_at":"tomorrow"}`, "expires_at"},
		{"past expires_at", "block_senders", `{"pattern":"a@b.example","pattern_type":"EMAIL","expires_at":"2001-01-01T00:00:00Z"}`, "expires_at"},
		{"duplicate", "block_senders", `{"pattern":"DUP@evil.example","pattern_type":"EMAIL","is_regex":false}`, "pattern"},
		{"registry without name", "impersonation_registry", `{"email":"a@b.example","is_email_regex":false}`, "name"},
		{"registry bad email", "impersonation_registry", `{"name":"A","email":"a@","is_email_regex":false}`, "email"},
		{"registry bad regex", "impersonation_registry", `{"name":"A","email":"a[","is_email_regex":true}`, "email"},
		{"domain malformed", "domains", `{"domain":"-corp.example"}`, "domain"},
		{"domain duplicate", "domains", `{"domain":"Corp.Example."}`, "domain"},
		{"domain bad disposition", "domains", `{"domain":"x.example","drop_dispositions":["MALICIOUS","EVIL"]}`, "drop_dispositions/1"},
		{"domain bad folder", "domains", `{"domain":"x.example","folder":"Spam"}`, "folder"},
		{"trusted array item", "trusted_domains", `[{"pattern":"ok.example"},{"pattern":"bad domain"}]`, "/1/pattern"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := e.call(t, e.admin, e.acct, "POST", tc.kind, tc.body)
			if a.status != http.StatusBadRequest || a.Success || len(a.Errors) != 1 {
				t.Fatalf("%d %+v", a.status, a.Errors)
			}
			if a.Errors[0].Source == nil || a.Errors[0].Source.Pointer != tc.field || a.Errors[0].Code != api.CodeBadRequest {
				t.Fatalf("error %+v, want the field %q", a.Errors[0], tc.field)
			}
			if a.header.Get("x-should-retry") != "false" {
				t.Errorf("x-should-retry %q", a.header.Get("x-should-retry"))
			}
		})
	}
	// Nothing of the failed array was created.
	var list []map[string]any
	e.ok(t, "GET", "trusted_domains", "", &list)
	if len(list) != 0 {
		t.Fatalf("trusted domains after a failed batch: %v", list)
	}
	// A PATCH is validated as well, and a PATCH onto another entry's pattern is a duplicate.
	var b map[string]any
	e.ok(t, "POST", "block_senders", `{"pattern":"other@evil.example","pattern_type":"EMAIL","is_regex":false}`, &b)
	path := fmt.Sprintf("block_senders/%d", int64(b["id"].(float64)))
	for body, field := range map[string]string{`{"is_regex":true,"pattern":"a(b"}`: "pattern", `{"pattern":"dup@evil.example"}`: "pattern", `{"pattern_type":"X"}`: "pattern_type"} {
		if a := e.call(t, e.admin, e.acct, "PATCH", path, body); a.status != http.StatusBadRequest || a.Errors[0].Source.Pointer != field {
			t.Errorf("PATCH %s: %d %+v", body, a.status, a.Errors)
		}
	}
	if a := e.call(t, e.admin, e.acct, "GET", "block_senders/abc", ""); a.status != http.StatusBadRequest {
		t.Errorf("non-integer id: %d", a.status)
	}
}

func TestSettingsRolesAndAccounts(t *testing.T) {
	e := newTestEnv(t)
	var b map[string]any
	e.ok(t, "POST", "block_senders", `{"pattern":"x@evil.example","pattern_type":"EMAIL","is_regex":false}`, &b)
	path := fmt.Sprintf("block_senders/%d", int64(b["id"].(float64)))
	for _, tok := range []string{e.analyst, e.viewer} {
		if a := e.call(t, tok, e.acct, "GET", "block_senders", ""); a.status != http.StatusOK {
			t.Errorf("read list: %d", a.status)
		}
		if a := e.call(t, tok, e.acct, "GET", path, ""); a.status != http.StatusOK {
			t.Errorf("read one: %d", a.status)
		}
		if a := e.call(t, tok, e.acct, "POST", "block_senders", `{"pattern":"y@evil.example","pattern_type":"EMAIL"}`); a.status != http.StatusForbidden {
			t.Errorf("create by a non-admin: %d", a.status)
		}
		if a := e.call(t, tok, e.acct, "PATCH", path, `{"comments":"x"}`); a.status != http.StatusForbidden {
			t.Errorf("edit by a non-admin: %d", a.status)
		}
		if a := e.call(t, tok, e.acct, "DELETE", path, ""); a.status != http.StatusForbidden {
			t.Errorf("delete by a non-admin: %d", a.status)
		}
	}
	if a := e.call(t, "", e.acct, "GET", "block_senders", ""); a.status != http.StatusUnauthorized {
		t.Errorf("no token: %d", a.status)
	}
	// Another account's admin: forbidden on our account's path, not found for our id on its own.
	if a := e.call(t, e.otherAdmin, e.acct, "GET", path, ""); a.status != http.StatusForbidden {
		t.Errorf("other account on our path: %d", a.status)
	}
	for _, m := range []string{"GET", "PATCH", "DELETE"} {
		body := ""
		if m == "PATCH" {
			body = `{"comments":"mine now"}`
		}
		if a := e.call(t, e.otherAdmin, e.other, m, path, body); a.status != http.StatusNotFound {
			t.Errorf("%s our id through the other account: %d", m, a.status)
		}
	}
	if a := e.call(t, e.otherAdmin, e.other, "GET", "block_senders", ""); a.status != http.StatusOK || string(a.Result) != "[]" {
		t.Errorf("other account's list: %d %s", a.status, a.Result)
	}
	// The same pattern is allowed in the other account.
	if a := e.call(t, e.otherAdmin, e.other, "POST", "block_senders", `{"pattern":"x@evil.example","pattern_type":"EMAIL","is_regex":false}`); a.status != http.StatusOK {
		t.Errorf("same pattern in the other account: %d %+v", a.status, a.Errors)
	}
}

func TestSettingsListing(t *testing.T) {
	e := newTestEnv(t)
	for i, p := range []string{"c@x.example", "a@x.example", "e@x.example", "b@x.example", "d@x.example"} {
		regex := "false"
		if i == 4 {
			regex, p = "true", `d.*@x\.example`
		}
		e.ok(t, "POST", "block_senders", fmt.Sprintf(`{"pattern":%q,"pattern_type":"EMAIL","is_regex":%s,"comments":"n%d"}`, p, regex, i), nil)
	}
	e.ok(t, "POST", "block_senders", `{"pattern":"10.0.0.0/8","pattern_type":"IP","is_regex":false}`, nil)
	patterns := func(query string) ([]string, *api.ResultInfo) {
		t.Helper()
		var list []api.BlockSender
		a := e.ok(t, "GET", "block_senders?"+query, "", &list)
		out := []string{}
		for _, b := range list {
			out = append(out, b.Pattern)
		}
		return out, a.Info
	}
	tests := []struct {
		query string
		want  string
	}{
		{"", `c@x.example a@x.example e@x.example b@x.example d.*@x\.example 10.0.0.0/8`},
		{"order=pattern", `10.0.0.0/8 a@x.example b@x.example c@x.example d.*@x\.example e@x.example`},
		{"order=pattern&direction=desc&per_page=2", `e@x.example d.*@x\.example`},
		{"order=pattern&per_page=2&page=3", `d.*@x\.example e@x.example`},
		{"per_page=2&page=4", ``},
		{"page=99", ``},
		{"pattern_type=ip", `10.0.0.0/8`},
		{"pattern=A@X.example", `a@x.example`},
		{"search=n3", `b@x.example`},
		{"search=@X&is_regex=true", `d.*@x\.example`},
		{"direction=DESC&per_page=1", `10.0.0.0/8`},
	}
	for _, tc := range tests {
		got, info := patterns(tc.query)
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%s: %v, want %s", tc.query, got, tc.want)
		}
		if info == nil || info.Count != len(got) {
			t.Errorf("%s: result_info %+v", tc.query, info)
		}
	}
	if _, info := patterns("per_page=2&page=4"); info.TotalCount != 6 || info.Page != 4 || info.PerPage != 2 {
		t.Errorf("past the end: %+v", info)
	}
	for _, q := range []string{"per_page=1001", "per_page=0", "page=0", "order=comments", "direction=up", "pattern_type=HOST", "is_regex=maybe", "is_trusted_sender=true", "colour=red"} {
		if a := e.call(t, e.admin, e.acct, "GET", "block_senders?"+q, ""); a.status != http.StatusBadRequest || a.Errors[0].Source == nil {
			t.Errorf("%s: %d %+v", q, a.status, a.Errors)
		}
	}
	var all []api.BlockSender
	e.ok(t, "GET", "block_senders?per_page=1000", "", &all)
	if len(all) != 6 {
		t.Errorf("per_page=1000: %d", len(all))
	}
}

func TestSettingsTrustedDomainsArray(t *testing.T) {
	e := newTestEnv(t)
	var one api.TrustedDomain
	e.ok(t, "POST", "trusted_domains", `{"pattern":"one.example","is_recent":true,"is_similarity":false,"is_regex":false}`, &one)
	if one.ID == 0 || one.Pattern != "one.example" {
		t.Fatalf("object body: %+v", one)
	}
	var many []api.TrustedDomain
	e.ok(t, "POST", "trusted_domains", `[{"pattern":"two.example","is_similarity":true},{"pattern":".*\\.three\\.example","is_regex":true}]`, &many)
	if len(many) != 2 || many[0].ID == 0 || many[1].ID == many[0].ID || !many[1].IsRegex {
		t.Fatalf("array body: %+v", many)
	}
	// A duplicate inside a batch leaves nothing behind.
	if a := e.call(t, e.admin, e.acct, "POST", "trusted_domains", `[{"pattern":"four.example"},{"pattern":"one.example"}]`); a.status != http.StatusBadRequest || a.Errors[0].Source.Pointer != "/1/pattern" {
		t.Fatalf("duplicate in batch: %d %+v", a.status, a.Errors)
	}
	var list []api.TrustedDomain
	e.ok(t, "GET", "trusted_domains", "", &list)
	if len(list) != 3 {
		t.Fatalf("after the failed batch: %d entries", len(list))
	}
}

func TestSettingsExpiry(t *testing.T) {
	e := newTestEnv(t)
	var b api.BlockSender
	e.ok(t, "POST", "block_senders", `{"pattern":"x@evil.example","pattern_type":"EMAIL","expires_at":"2099-01-01T00:00:00+02:00"}`, &b)
	if b.ExpiresAt == nil || *b.ExpiresAt != "2098-12-31T22:00:00Z" {
		t.Fatalf("expires_at %v", b.ExpiresAt)
	}
	path := fmt.Sprintf("block_senders/%d", b.ID)
	// An edit may expire an entry now; it is then listed but not active.
	e.ok(t, "PATCH", path, `{"expires_at":"2001-01-01T00:00:00Z"}`, &b)
	var list []api.BlockSender
	e.ok(t, "GET", "block_senders?active=true", "", &list)
	if len(list) != 0 {
		t.Fatalf("active list holds an expired entry: %+v", list)
	}
	e.ok(t, "GET", "block_senders", "", &list)
	if len(list) != 1 {
		t.Fatalf("full list: %+v", list)
	}
	// null clears the expiry; fields not sent stay.
	e.ok(t, "PATCH", path, `{"expires_at":null}`, &b)
	if b.ExpiresAt != nil || b.Pattern != "x@evil.example" || b.PatternType != "EMAIL" {
		t.Fatalf("after clearing: %+v", b)
	}
}
