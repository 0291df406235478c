// Package access is who may use the console: console users with bcrypt password
// hashes, login sessions in HttpOnly SameSite=Strict cookies, CSRF tokens for
// every state-changing request (synchronizer token pattern, OWASP CSRF
// Prevention Cheat Sheet), and login rate limiting. API tokens stay in store.
package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/mailwarden/mailwarden/internal/store"
)

// Errors of this package.
var (
	ErrBadLogin     = errors.New("access: wrong email or password")
	ErrRateLimited  = errors.New("access: too many failed logins; try again later")
	ErrNoSession    = errors.New("access: not logged in")
	ErrWeakPassword = errors.New("access: password too short")
	ErrBadEmail     = errors.New("access: not an email address")
	ErrBadRole      = errors.New("access: role must be admin, analyst or viewer")
)

// Cookie names. The session cookie is HttpOnly and SameSite=Strict; it is
// Secure when the console is served over TLS.
const (
	SessionCookie    = "mw_session"
	LoginCSRFCookie  = "mw_login_csrf"
	CSRFHeader       = "X-CSRF-Token"
	CSRFField        = "csrf_token"
	MinPasswordLen   = 10
	DefaultTTL       = 12 * time.Hour
	bcryptCost       = 12
	maxPasswordBytes = 72 // bcrypt reads no further
)

// Auditor records state changes (store.Store has it).
type Auditor interface {
	Audit(ctx context.Context, e store.AuditEntry) error
}

// Manager logs users in and out and checks sessions and CSRF tokens.
type Manager struct {
	Users store.Users
	Audit Auditor
	Log   *slog.Logger
	// TTL is how long a session lives (default DefaultTTL).
	TTL time.Duration
	// Limiter limits failed logins (default NewLimiter(5, 20, 15*time.Minute)).
	Limiter *Limiter
	// Now is the clock (tests may set it).
	Now func() time.Time

	dummyHash []byte
}

// NewManager returns a Manager with defaults.
func NewManager(users store.Users, audit Auditor, log *slog.Logger) *Manager {
	return &Manager{Users: users, Audit: audit, Log: log, TTL: DefaultTTL, Limiter: NewLimiter(5, 20, 15*time.Minute)}
}

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// HashPassword returns the bcrypt hash of a password.
func HashPassword(pw string) (string, error) {
	if len(pw) < MinPasswordLen {
		return "", fmt.Errorf("%w: at least %d characters", ErrWeakPassword, MinPasswordLen)
	}
	if len(pw) > maxPasswordBytes {
		return "", fmt.Errorf("access: password longer than %d bytes", maxPasswordBytes)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcryptCost)
	return string(h), err
}

// GeneratePassword returns a random password (128 bits, URL-safe base64).
func GeneratePassword() string { return randomToken(16) }

func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashToken is what the store keeps of a session token.
func HashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// ConsoleRole reports whether r is a role a console user may have.
func ConsoleRole(r string) bool {
	return r == store.RoleAdmin || r == store.RoleAnalyst || r == store.RoleViewer
}

// CreateUser adds a console user to an account.
func CreateUser(ctx context.Context, users store.Users, accountID int64, email, role, password string) (store.User, error) {
	addr, err := mail.ParseAddress(strings.TrimSpace(email))
	if err != nil || addr.Name != "" || !strings.Contains(addr.Address, "@") {
		return store.User{}, fmt.Errorf("%w: %q", ErrBadEmail, email)
	}
	if !ConsoleRole(role) {
		return store.User{}, ErrBadRole
	}
	h, err := HashPassword(password)
	if err != nil {
		return store.User{}, err
	}
	u := store.User{AccountID: accountID, Email: strings.ToLower(addr.Address), Role: role, PasswordHash: h}
	if err := users.CreateUser(ctx, &u); err != nil {
		return u, err
	}
	return u, nil
}

// Principal is who a console user acts as in the API and audit log.
func Principal(u store.User) store.Principal {
	return store.Principal{AccountID: u.AccountID, Role: u.Role, Name: "user:" + u.Email}
}

// ClientIP is the remote address of a request, without the port.
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Login checks a password and, when right, starts a session and sets its cookie.
func (m *Manager) Login(ctx context.Context, w http.ResponseWriter, r *http.Request, email, password string) (store.Session, store.User, error) {
	ip := ClientIP(r)
	email = strings.ToLower(strings.TrimSpace(email))
	now := m.now()
	if m.Limiter != nil && !m.Limiter.Allow(now, ip, email) {
		m.audit(ctx, 0, email, "login.rate_limited", ip)
		return store.Session{}, store.User{}, ErrRateLimited
	}
	u, err := m.Users.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.Session{}, u, err
	}
	hash := []byte(u.PasswordHash)
	if err != nil || u.Disabled {
		// Spend the same time on unknown users as on known ones.
		hash = m.dummy()
	}
	if len(password) > maxPasswordBytes || bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || err != nil || u.Disabled {
		if m.Limiter != nil {
			m.Limiter.Fail(now, ip, email)
		}
		m.audit(ctx, u.AccountID, email, "login.failed", ip)
		return store.Session{}, store.User{}, ErrBadLogin
	}
	if m.Limiter != nil {
		m.Limiter.Reset(email)
	}
	tok := randomToken(32)
	ttl := m.TTL
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	se := store.Session{TokenHash: HashToken(tok), UserID: u.ID, AccountID: u.AccountID, CSRF: randomToken(32),
		CreatedAt: now, ExpiresAt: now.Add(ttl), IP: ip, UserAgent: truncate(r.UserAgent(), 200)}
	if err := m.Users.CreateSession(ctx, se); err != nil {
		return se, u, err
	}
	m.Users.TouchLogin(ctx, u.ID, now)
	m.Users.DeleteExpiredSessions(ctx, now)
	setCookie(w, r, SessionCookie, tok, se.ExpiresAt)
	m.audit(ctx, u.AccountID, "user:"+u.Email, "login", ip)
	return se, u, nil
}

func (m *Manager) dummy() []byte {
	if m.dummyHash == nil {
		m.dummyHash, _ = bcrypt.GenerateFromPassword([]byte(randomToken(12)), bcryptCost)
	}
	return m.dummyHash
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func (m *Manager) audit(ctx context.Context, acct int64, actor, action, target string) {
	if m.Audit == nil {
		return
	}
	if err := m.Audit.Audit(ctx, store.AuditEntry{AccountID: acct, Actor: actor, Action: action, Target: target}); err != nil && m.Log != nil {
		m.Log.Error("access: audit", "err", err)
	}
}

// Session returns the request's session and user; ErrNoSession when there is none.
func (m *Manager) Session(r *http.Request) (store.Session, store.User, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return store.Session{}, store.User{}, ErrNoSession
	}
	se, u, err := m.Users.SessionByHash(r.Context(), HashToken(c.Value), m.now())
	if errors.Is(err, store.ErrNotFound) {
		return se, u, ErrNoSession
	}
	return se, u, err
}

// Logout ends the request's session and clears its cookie.
func (m *Manager) Logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		if se, u, err := m.Users.SessionByHash(r.Context(), HashToken(c.Value), m.now()); err == nil {
			m.audit(r.Context(), se.AccountID, "user:"+u.Email, "logout", ClientIP(r))
		}
		m.Users.DeleteSession(r.Context(), HashToken(c.Value))
	}
	setCookie(w, r, SessionCookie, "", time.Unix(1, 0))
}

func setCookie(w http.ResponseWriter, r *http.Request, name, value string, expires time.Time) {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil, Expires: expires}
	if value == "" {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// CheckCSRF reports whether a state-changing request carries the session's CSRF
// token, in the X-CSRF-Token header (fetch) or the csrf_token form field.
// Call it before reading a multipart body only through r.FormValue.
func CheckCSRF(r *http.Request, se store.Session) bool {
	got := r.Header.Get(CSRFHeader)
	if got == "" {
		got = r.FormValue(CSRFField)
	}
	return got != "" && se.CSRF != "" && subtle.ConstantTimeCompare([]byte(got), []byte(se.CSRF)) == 1
}

// LoginCSRF returns the login form's CSRF token: before there is a session, a
// random value in a SameSite=Strict cookie that the form must echo (double submit).
func LoginCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(LoginCSRFCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	tok := randomToken(32)
	setCookie(w, r, LoginCSRFCookie, tok, time.Now().Add(time.Hour))
	return tok
}

// CheckLoginCSRF reports whether the login form echoed its cookie.
func CheckLoginCSRF(r *http.Request) bool {
	c, err := r.Cookie(LoginCSRFCookie)
	got := r.FormValue(CSRFField)
	return err == nil && len(c.Value) >= 32 && subtle.ConstantTimeCompare([]byte(got), []byte(c.Value)) == 1
}
