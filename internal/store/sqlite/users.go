package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/store/sqlcommon"
)

var _ store.Users = (*Store)(nil)

func scanUser(row interface{ Scan(...any) error }) (store.User, error) {
	v, err := sqlcommon.ScanUser(row)
	return v, notFound(err)
}

// CreateUser adds a console user.
func (s *Store) CreateUser(ctx context.Context, u *store.User) error {
	if err := sqlcommon.PrepareUser(u); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO users(account_id, email, role, password_hash, disabled, created_at) VALUES (?,?,?,?,?,?)`,
		u.AccountID, u.Email, u.Role, u.PasswordHash, u.Disabled, sqlcommon.MS(u.CreatedAt))
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return fmt.Errorf("sqlite: user %s: %w", u.Email, store.ErrConflict)
		}
		return fmt.Errorf("sqlite: create user: %w", err)
	}
	u.ID, _ = res.LastInsertId()
	return nil
}

// UserByEmail finds a user by email.
func (s *Store) UserByEmail(ctx context.Context, email string) (store.User, error) {
	return scanUser(s.db.QueryRowContext(ctx, `SELECT `+sqlcommon.UserCols+` FROM users WHERE email = ?`, sqlcommon.NormEmail(email)))
}

// UserByID finds a user by id.
func (s *Store) UserByID(ctx context.Context, id int64) (store.User, error) {
	return scanUser(s.db.QueryRowContext(ctx, `SELECT `+sqlcommon.UserCols+` FROM users WHERE id = ?`, id))
}

// ListUsers lists an account's users.
func (s *Store) ListUsers(ctx context.Context, accountID int64) ([]store.User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+sqlcommon.UserCols+` FROM users WHERE account_id = ? ORDER BY email`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return sqlcommon.Collect(rows, sqlcommon.ScanUser)
}

// CountUsers counts every user.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, err
}

// SetPassword replaces a password hash and ends the user's sessions.
func (s *Store) SetPassword(ctx context.Context, userID int64, hash string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, hash, userID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID); err != nil {
		return err
	}
	return tx.Commit()
}

// TouchLogin records a login time.
func (s *Store) TouchLogin(ctx context.Context, userID int64, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE users SET last_login_at = ? WHERE id = ?`, sqlcommon.MS(at), userID)
	return err
}

// CreateSession stores a session.
func (s *Store) CreateSession(ctx context.Context, se store.Session) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO sessions(token_hash, user_id, account_id, csrf, ip, user_agent, created_at, expires_at) VALUES (?,?,?,?,?,?,?,?)`,
		se.TokenHash, se.UserID, se.AccountID, se.CSRF, se.IP, se.UserAgent, sqlcommon.MS(se.CreatedAt), sqlcommon.MS(se.ExpiresAt))
	if err != nil {
		return fmt.Errorf("sqlite: create session: %w", err)
	}
	return nil
}

// SessionByHash returns a live session and its enabled user.
func (s *Store) SessionByHash(ctx context.Context, tokenHash string, now time.Time) (store.Session, store.User, error) {
	var se store.Session
	var created, expires int64
	err := s.db.QueryRowContext(ctx, `SELECT token_hash, user_id, account_id, csrf, ip, user_agent, created_at, expires_at FROM sessions WHERE token_hash = ? AND expires_at > ?`,
		tokenHash, sqlcommon.MS(now)).Scan(&se.TokenHash, &se.UserID, &se.AccountID, &se.CSRF, &se.IP, &se.UserAgent, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return se, store.User{}, store.ErrNotFound
	}
	if err != nil {
		return se, store.User{}, err
	}
	se.CreatedAt, se.ExpiresAt = sqlcommon.FromMS(created), sqlcommon.FromMS(expires)
	u, err := s.UserByID(ctx, se.UserID)
	if err != nil {
		return se, u, err
	}
	if u.Disabled || u.AccountID != se.AccountID {
		return se, u, store.ErrNotFound
	}
	return se, u, nil
}

// DeleteSession ends a session.
func (s *Store) DeleteSession(ctx context.Context, tokenHash string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash)
	return err
}

// DeleteExpiredSessions removes expired sessions.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, sqlcommon.MS(now))
	return err
}
