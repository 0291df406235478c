package store

import (
	"context"
	"time"
)

// User is a console user of one account. Only a bcrypt hash of the password is kept.
type User struct {
	ID           int64
	AccountID    int64
	Email        string // lowercased; unique over all accounts (it is the login name)
	Role         string // RoleAdmin, RoleAnalyst, RoleViewer
	PasswordHash string
	CreatedAt    time.Time
	LastLoginAt  time.Time // zero before the first login
	Disabled     bool
}

// Session is a logged-in console session. The cookie holds a random token; only
// its SHA-256 (TokenHash) is stored, so a copy of the database logs no one in.
type Session struct {
	TokenHash string
	UserID    int64
	AccountID int64
	// CSRF is the session's anti-forgery token: every state-changing request
	// carries it in a form field or the X-CSRF-Token header.
	CSRF      string
	CreatedAt time.Time
	ExpiresAt time.Time
	IP        string
	UserAgent string
}

// Users keeps console users and their sessions.
type Users interface {
	// CreateUser adds a user (ID and CreatedAt are set on u); ErrConflict when
	// the email is taken.
	CreateUser(ctx context.Context, u *User) error
	// UserByEmail finds a user by email, case-insensitively; ErrNotFound when none.
	UserByEmail(ctx context.Context, email string) (User, error)
	UserByID(ctx context.Context, id int64) (User, error)
	// ListUsers lists an account's users by email.
	ListUsers(ctx context.Context, accountID int64) ([]User, error)
	// CountUsers counts the users of every account.
	CountUsers(ctx context.Context) (int, error)
	// SetPassword replaces a user's password hash.
	SetPassword(ctx context.Context, userID int64, hash string) error
	// TouchLogin records a successful login.
	TouchLogin(ctx context.Context, userID int64, at time.Time) error

	CreateSession(ctx context.Context, s Session) error
	// SessionByHash returns an unexpired session (at now) and its user;
	// ErrNotFound when unknown, expired, or the user is disabled.
	SessionByHash(ctx context.Context, tokenHash string, now time.Time) (Session, User, error)
	DeleteSession(ctx context.Context, tokenHash string) error
	// DeleteExpiredSessions removes sessions expired at now.
	DeleteExpiredSessions(ctx context.Context, now time.Time) error
}
