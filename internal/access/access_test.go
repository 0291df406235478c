package access

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/store/sqlite"
)

func setup(t *testing.T) (*Manager, *sqlite.Store, store.Account) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	acct, err := st.CreateAccount(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	return NewManager(st, st, slog.New(slog.DiscardHandler)), st, acct
}

func login(m *Manager, email, pw string) (*httptest.ResponseRecorder, error) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"email": {email}, "password": {pw}}.Encode()))
	r.RemoteAddr = "192.0.2.1:5555"
	_, _, err := m.Login(context.Background(), w, r, email, pw)
	return w, err
}

func TestLoginSessionCSRFLogout(t *testing.T) {
	m, st, acct := setup(t)
	ctx := context.Background()
	if _, err := CreateUser(ctx, st, acct.ID, "Ann@Example.org", store.RoleAnalyst, "short"); !errors.Is(err, ErrWeakPassword) {
		t.Fatalf("short password: %v", err)
	}
	if _, err := CreateUser(ctx, st, acct.ID, "ann@example.org", "reporter", "a long password"); !errors.Is(err, ErrBadRole) {
		t.Fatalf("reporter role: %v", err)
	}
	u, err := CreateUser(ctx, st, acct.ID, "Ann@Example.org", store.RoleAnalyst, "a long password")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(u.PasswordHash, "a long password") || !strings.HasPrefix(u.PasswordHash, "$2") {
		t.Fatalf("password not bcrypt-hashed: %q", u.PasswordHash)
	}
	if _, err := CreateUser(ctx, st, acct.ID, "ann@example.org", store.RoleViewer, "a long password"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate email: %v", err)
	}
	if _, err := login(m, "ann@example.org", "wrong password"); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("wrong password: %v", err)
	}
	w, err := login(m, "ANN@example.org", "a long password")
	if err != nil {
		t.Fatal(err)
	}
	var cookie *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == SessionCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" {
		t.Fatalf("session cookie: %+v", cookie)
	}
	r := httptest.NewRequest("GET", "/investigation", nil)
	r.AddCookie(cookie)
	se, su, err := m.Session(r)
	if err != nil || su.Email != "ann@example.org" || se.CSRF == "" {
		t.Fatalf("session: %v %+v", err, su)
	}
	post := httptest.NewRequest("POST", "/console/release", nil)
	if CheckCSRF(post, se) {
		t.Error("CSRF check passed without a token")
	}
	post.Header.Set(CSRFHeader, se.CSRF+"x")
	if CheckCSRF(post, se) {
		t.Error("CSRF check passed with a wrong token")
	}
	post.Header.Set(CSRFHeader, se.CSRF)
	if !CheckCSRF(post, se) {
		t.Error("CSRF check failed with the right token")
	}
	// The database keeps only a hash of the cookie's token.
	if _, _, err := st.SessionByHash(ctx, cookie.Value, time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Error("session found by the plaintext token")
	}
	lw := httptest.NewRecorder()
	m.Logout(lw, r)
	if _, _, err := m.Session(r); !errors.Is(err, ErrNoSession) {
		t.Errorf("session after logout: %v", err)
	}
	// Expiry.
	m.Now = func() time.Time { return time.Now().Add(DefaultTTL + time.Minute) }
	w, _ = login(m, "ann@example.org", "a long password")
	m.Now = nil
	r = httptest.NewRequest("GET", "/", nil)
	for _, c := range w.Result().Cookies() {
		r.AddCookie(c)
	}
	if _, _, err := m.Session(r); err != nil {
		t.Errorf("future session not valid now: %v", err)
	}
}

func TestLoginRateLimit(t *testing.T) {
	m, st, acct := setup(t)
	if _, err := CreateUser(context.Background(), st, acct.ID, "bob@example.org", store.RoleViewer, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := login(m, "bob@example.org", "guess"); !errors.Is(err, ErrBadLogin) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	// Past the limit even the right password is refused.
	if _, err := login(m, "bob@example.org", "correct horse battery"); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("after 5 failures: %v", err)
	}
	m.Now = func() time.Time { return time.Now().Add(16 * time.Minute) }
	if _, err := login(m, "bob@example.org", "correct horse battery"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	entries, _ := st.AuditLog(context.Background(), acct.ID, 50)
	var failed int
	for _, e := range entries {
		if e.Action == "login.failed" {
			failed++
		}
	}
	if failed != 5 {
		t.Errorf("audit has %d failed logins, want 5", failed)
	}
}
