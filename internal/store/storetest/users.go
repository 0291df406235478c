package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/store"
)

// testUsers covers console users (unique emails over all accounts, compared
// case-insensitively) and their sessions (expiry, disabled users, password
// changes ending sessions).
func testUsers(t *testing.T, st store.Store) {
	ctx := context.Background()
	a, _ := st.CreateAccount(ctx, "a")
	b, _ := st.CreateAccount(ctx, "b")
	if n, err := st.CountUsers(ctx); err != nil || n != 0 {
		t.Fatalf("empty store counts %d users, %v", n, err)
	}
	ann := store.User{AccountID: a.ID, Email: "  Ann@Example.ORG ", Role: store.RoleAnalyst, PasswordHash: "h1"}
	if err := st.CreateUser(ctx, &ann); err != nil {
		t.Fatal(err)
	}
	if ann.ID == 0 || ann.Email != "ann@example.org" || ann.CreatedAt.IsZero() {
		t.Fatalf("created: %+v", ann)
	}
	for _, u := range []store.User{
		{AccountID: a.ID, Email: "ANN@example.org", Role: store.RoleViewer, PasswordHash: "x"},
		{AccountID: b.ID, Email: "ann@example.org", Role: store.RoleViewer, PasswordHash: "x"}, // unique over all accounts
	} {
		if err := st.CreateUser(ctx, &u); !errors.Is(err, store.ErrConflict) {
			t.Errorf("duplicate %s in account %d: %v, want ErrConflict", u.Email, u.AccountID, err)
		}
	}
	if err := st.CreateUser(ctx, &store.User{AccountID: a.ID, Email: "x@example.org", Role: "root"}); err == nil {
		t.Error("unknown role accepted")
	}
	bob := store.User{AccountID: a.ID, Email: "bob@example.org", Role: store.RoleViewer, PasswordHash: "h2", Disabled: true}
	aaron := store.User{AccountID: a.ID, Email: "aaron@example.org", Role: store.RoleAdmin, PasswordHash: "h3"}
	zed := store.User{AccountID: b.ID, Email: "zed@example.org", Role: store.RoleAdmin, PasswordHash: "h4"}
	for _, u := range []*store.User{&bob, &aaron, &zed} {
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}

	got, err := st.UserByEmail(ctx, "ANN@example.org ")
	if err != nil || got.ID != ann.ID || got.Role != store.RoleAnalyst || got.PasswordHash != "h1" || !got.LastLoginAt.IsZero() || got.Disabled {
		t.Errorf("by email: %+v %v", got, err)
	}
	if _, err := st.UserByEmail(ctx, "nobody@example.org"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown email: %v", err)
	}
	if got, err := st.UserByID(ctx, bob.ID); err != nil || got.Email != "bob@example.org" || !got.Disabled || got.AccountID != a.ID {
		t.Errorf("by id: %+v %v", got, err)
	}
	if _, err := st.UserByID(ctx, 999999); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
	list, err := st.ListUsers(ctx, a.ID)
	if err != nil || len(list) != 3 || list[0].Email != "aaron@example.org" || list[1].Email != "ann@example.org" || list[2].Email != "bob@example.org" {
		t.Errorf("list of account a: %+v %v", list, err)
	}
	if list, _ := st.ListUsers(ctx, b.ID); len(list) != 1 || list[0].ID != zed.ID {
		t.Errorf("list of account b: %+v", list)
	}
	if n, _ := st.CountUsers(ctx); n != 4 {
		t.Errorf("count %d, want 4", n)
	}
	login := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	if err := st.TouchLogin(ctx, ann.ID, login); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.UserByID(ctx, ann.ID); !got.LastLoginAt.Equal(login) {
		t.Errorf("last login %v, want %v", got.LastLoginAt, login)
	}

	// Sessions.
	now := time.Now().Truncate(time.Millisecond)
	sess := store.Session{TokenHash: "hash-ann", UserID: ann.ID, AccountID: a.ID, CSRF: "csrf1", CreatedAt: now, ExpiresAt: now.Add(time.Hour),
		IP: "192.0.2.1", UserAgent: "test"}
	for _, s := range []store.Session{
		sess,
		{TokenHash: "hash-old", UserID: ann.ID, AccountID: a.ID, CSRF: "c", CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)},
		{TokenHash: "hash-bob", UserID: bob.ID, AccountID: a.ID, CSRF: "c", CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
		{TokenHash: "hash-zed", UserID: zed.ID, AccountID: a.ID, CSRF: "c", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}, // not zed's account
		{TokenHash: "hash-aaron", UserID: aaron.ID, AccountID: a.ID, CSRF: "c", CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
	} {
		if err := st.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.CreateSession(ctx, sess); err == nil {
		t.Error("a session token stored twice")
	}
	se, u, err := st.SessionByHash(ctx, "hash-ann", now)
	if err != nil || se.UserID != ann.ID || se.CSRF != "csrf1" || se.IP != "192.0.2.1" || se.UserAgent != "test" ||
		!se.ExpiresAt.Equal(now.Add(time.Hour)) || !se.CreatedAt.Equal(now) || u.ID != ann.ID || u.Email != "ann@example.org" {
		t.Errorf("session: %+v %+v %v", se, u, err)
	}
	for _, c := range []struct{ hash, why string }{
		{"hash-old", "expired"}, {"hash-bob", "user disabled"}, {"hash-zed", "user of another account"}, {"hash-none", "unknown"},
	} {
		if _, _, err := st.SessionByHash(ctx, c.hash, now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("session %s (%s): %v, want ErrNotFound", c.hash, c.why, err)
		}
	}
	if _, _, err := st.SessionByHash(ctx, "hash-ann", now.Add(2*time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("session past its expiry: %v", err)
	}
	if err := st.DeleteSession(ctx, "hash-aaron"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.SessionByHash(ctx, "hash-aaron", now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted session: %v", err)
	}
	// A new password ends the user's sessions.
	if err := st.SetPassword(ctx, ann.ID, "h1-new"); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.UserByID(ctx, ann.ID); got.PasswordHash != "h1-new" {
		t.Errorf("password hash %q", got.PasswordHash)
	}
	if _, _, err := st.SessionByHash(ctx, "hash-ann", now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("session survived a password change: %v", err)
	}
	if err := st.SetPassword(ctx, 999999, "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("password of an unknown user: %v", err)
	}
	// Expired sessions are removed; live ones stay.
	if err := st.CreateSession(ctx, store.Session{TokenHash: "hash-ann2", UserID: ann.ID, AccountID: a.ID, CSRF: "c", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteExpiredSessions(ctx, now.Add(30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.SessionByHash(ctx, "hash-ann2", now); err != nil {
		t.Errorf("live session removed: %v", err)
	}
	if err := st.DeleteExpiredSessions(ctx, now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.SessionByHash(ctx, "hash-ann2", now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("session expired at the cleanup time kept: %v", err)
	}
}
