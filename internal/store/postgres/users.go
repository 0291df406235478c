package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mailwarden/mailwarden/internal/store"
)

var _ store.Users = (*Store)(nil)

const userCols = `id, account_id, email, role, password_hash, disabled, created_at, coalesce(last_login_at, 0)`

func scanUser(row pgx.Row) (store.User, error) {
	var u store.User
	var created, last int64
	if err := row.Scan(&u.ID, &u.AccountID, &u.Email, &u.Role, &u.PasswordHash, &u.Disabled, &created, &last); err != nil {
		return u, notFound(err)
	}
	u.CreatedAt, u.LastLoginAt = fromMS(created), fromMS(last)
	return u, nil
}

// CreateUser adds a console user.
func (s *Store) CreateUser(ctx context.Context, u *store.User) error {
	if !store.ValidRole(u.Role) {
		return fmt.Errorf("postgres: unknown role %q", u.Role)
	}
	u.Email = strings.ToLower(strings.TrimSpace(u.Email))
	if u.CreatedAt.IsZero() {
		u.CreatedAt = time.Now()
	}
	err := s.db.QueryRow(ctx, `INSERT INTO users(account_id, email, role, password_hash, disabled, created_at) VALUES ($1,$2,$3,$4,$5,$6) RETURNING id`,
		u.AccountID, u.Email, u.Role, u.PasswordHash, u.Disabled, ms(u.CreatedAt)).Scan(&u.ID)
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
	return scanUser(s.db.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE lower(email) = $1`, strings.ToLower(strings.TrimSpace(email))))
}

// UserByID finds a user by id.
func (s *Store) UserByID(ctx context.Context, id int64) (store.User, error) {
	return scanUser(s.db.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
}

// ListUsers lists an account's users.
func (s *Store) ListUsers(ctx context.Context, accountID int64) ([]store.User, error) {
	rows, err := s.db.Query(ctx, `SELECT `+userCols+` FROM users WHERE account_id = $1 ORDER BY lower(email) COLLATE "C"`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
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
	_, err := s.db.Exec(ctx, `UPDATE users SET last_login_at = $1 WHERE id = $2`, ms(at), userID)
	return err
}

// CreateSession stores a session.
func (s *Store) CreateSession(ctx context.Context, se store.Session) error {
	_, err := s.db.Exec(ctx, `INSERT INTO sessions(token_hash, user_id, account_id, csrf, ip, user_agent, created_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
		se.TokenHash, se.UserID, se.AccountID, se.CSRF, se.IP, se.UserAgent, ms(se.CreatedAt), ms(se.ExpiresAt))
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
		tokenHash, ms(now)).Scan(&se.TokenHash, &se.UserID, &se.AccountID, &se.CSRF, &se.IP, &se.UserAgent, &created, &expires)
	if err != nil {
		return se, store.User{}, notFound(err)
	}
	se.CreatedAt, se.ExpiresAt = fromMS(created), fromMS(expires)
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
	_, err := s.db.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, ms(now))
	return err
}
