package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/store/sqlite"
)

// Every registered route checks the token, the token's account and its role:
// no token 401; a token of another account 403 whether or not the account in the
// path exists; a role outside the route's roles 403; reporters never read
// investigate. The routes are the ones the server registered, so a new route is
// covered without editing this test.
func TestAuthorizationEveryRoute(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "authz.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a, _ := st.CreateAccount(ctx, "a")
	b, _ := st.CreateAccount(ctx, "b")
	tokens := map[string]string{}
	for _, role := range []string{store.RoleAdmin, store.RoleAnalyst, store.RoleViewer, store.RoleReporter} {
		tokens[role], _ = st.CreateToken(ctx, a.ID, role)
	}
	otherAdmin, _ := st.CreateToken(ctx, b.ID, store.RoleAdmin)
	srv := &Server{Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	mux := http.NewServeMux()
	srv.Routes(mux)
	if len(srv.routes) < 10 {
		t.Fatalf("only %d routes registered", len(srv.routes))
	}
	hs := httptest.NewServer(mux)
	defer hs.Close()

	do := func(method, path, tok string) int {
		var body io.Reader
		if method == "POST" || method == "PATCH" || method == "PUT" {
			body = strings.NewReader("{}")
		}
		req, _ := http.NewRequest(method, hs.URL+path, body)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: content type %q", method, path, ct)
		}
		return resp.StatusCode
	}
	fill := func(pattern string, acct string) (string, string) {
		method, path, _ := strings.Cut(pattern, " ")
		path = strings.ReplaceAll(path, "{account_id}", acct)
		for _, p := range []string{"{id}", "{job_id}", "{submission_id}", "{postfix_id}"} {
			path = strings.ReplaceAll(path, p, "1")
		}
		return method, path
	}
	for _, r := range srv.routes {
		method, path := fill(r.pattern, "1")
		if got := do(method, path, ""); got != 401 {
			t.Errorf("%s without a token: %d, want 401", r.pattern, got)
		}
		if got := do(method, path, "mw_not_a_token"); got != 401 {
			t.Errorf("%s with a bad token: %d, want 401", r.pattern, got)
		}
		// Another account's token: same 403 for an existing and a missing account.
		if got := do(method, path, otherAdmin); got != 403 {
			t.Errorf("%s with another account's token: %d, want 403", r.pattern, got)
		}
		_, missing := fill(r.pattern, "424242")
		if got := do(method, missing, tokens[store.RoleAdmin]); got != 403 {
			t.Errorf("%s for a missing account: %d, want 403", r.pattern, got)
		}
		for role, tok := range tokens {
			got := do(method, path, tok)
			allowed := slices.Contains(r.roles, role)
			if !allowed && got != 403 {
				t.Errorf("%s as %s: %d, want 403", r.pattern, role, got)
			}
			if allowed && (got == 401 || got == 403) {
				t.Errorf("%s as %s: %d, want it allowed", r.pattern, role, got)
			}
		}
	}
	// The rules the issue names, checked against the role sets themselves.
	for _, r := range srv.routes {
		method, path, _ := strings.Cut(r.pattern, " ")
		if strings.Contains(path, "/investigate") && method == "GET" && slices.Contains(r.roles, store.RoleReporter) {
			t.Errorf("reporter may read %s", r.pattern)
		}
		if strings.HasSuffix(path, "/release") && slices.Contains(r.roles, store.RoleViewer) {
			t.Errorf("viewer may release: %s", r.pattern)
		}
	}
}
