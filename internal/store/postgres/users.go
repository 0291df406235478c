package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/store/sqlcommon"
)

var _ store.Users = (*Store)(nil)

func scanUser(row pgx.Row) (store.User, error) {
	v, err := sqlcommon.ScanUser(row)
	return v, notFound(err)
}

// CreateUser adds a console user.
func (s *Store) CreateUser(ctx context.Context, u *store.User) error {
	if err := sqlcommon.PrepareUser(u); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	err := s.db.QueryRow(ctx, `INSERT INTO users(account_id, email, role, password_hash, disabled, created_at) VALUES ($1,$2,$3,$4,$5,$6) RETURNING id`,
		u.AccountID, u.Email, u.Role, u.PasswordHash, u.Disabled, sqlcommon.MS(u.CreatedAt)).Scan(&u.ID)
	if isUnique(err) {
		return fmt.Errorf("postgres: user %s: %w", u.Email, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("postgres: create user: %w", err)
	}
	return nil
}

// UserByEmail finds a user by email.
func (s *Store) UserByEmail(ctx context.Context, email string) (store.User, error) {
	return scanUser(s.db.QueryRow(ctx, `SELECT `+sqlcommon.UserCols+` FROM users WHERE lower(email) = $1`, sqlcommon.NormEmail(email)))
}

// UserByID finds a user by id.
func (s *Store) UserByID(ctx context.Context, id int64) (store.User, error) {
	return scanUser(s.db.QueryRow(ctx, `SELECT `+sqlcommon.UserCols+` FROM users WHERE id = $1`, id))
}

// ListUsers lists an account's users.
func (s *Store) ListUsers(ctx context.Context, accountID int64) ([]store.User, error) {
	rows, err := s.db.Query(ctx, `SELECT `+sqlcommon.UserCols+` FROM users WHERE account_id = $1 ORDER BY lower(email) COLLATE "C"`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return sqlcommon.Collect(rows, sqlcommon.ScanUser)
}

// CountUsers counts every user.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, err
}

// SetPassword replaces a password hash and ends the user's sessions.
func (s *Store) SetPassword(ctx context.Context, userID int64, hash string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2`, hash, userID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		_, err = tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
		return err
	})
}

// TouchLogin records a login time.
func (s *Store) TouchLogin(ctx context.Context, userID int64, at time.Time) error {
	_, err := s.db.Exec(ctx, `UPDATE users SET last_login_at = $1 WHERE id = $2`, sqlcommon.MS(at), userID)
	return err
}

// CreateSession stores a session.
func (s *Store) CreateSession(ctx context.Context, se store.Session) error {
	_, err := s.db.Exec(ctx, `INSERT INTO sessions(token_hash, user_id, account_id, csrf, ip, user_agent, created_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
		se.TokenHash, se.UserID, se.AccountID, se.CSRF, se.IP, se.UserAgent, sqlcommon.MS(se.CreatedAt), sqlcommon.MS(se.ExpiresAt))
	if err != nil {
		return fmt.Errorf("postgres: create session: %w", err)
	}
	return nil
}

// SessionByHash returns a live session and its enabled user.
func (s *Store) SessionByHash(ctx context.Context, tokenHash string, now time.Time) (store.Session, store.User, error) {
	var se store.Session
	var created, expires int64
	err := s.db.QueryRow(ctx, `SELECT token_hash, user_id, account_id, csrf, ip, user_agent, created_at, expires_at FROM sessions WHERE token_hash = $1 AND expires_at > $2`,
		tokenHash, sqlcommon.MS(now)).Scan(&se.TokenHash, &se.UserID, &se.AccountID, &se.CSRF, &se.IP, &se.UserAgent, &created, &expires)
	if err != nil {
		return se, store.User{}, notFound(err)
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
	_, err := s.db.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, tokenHash)
	return err
}

// DeleteExpiredSessions removes expired sessions.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) error {
	_, err := s.db.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, sqlcommon.MS(now))
	return err
}
