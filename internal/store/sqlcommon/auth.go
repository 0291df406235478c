package sqlcommon

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/mailwarden/mailwarden/internal/store"
)

// HashToken is the stored form of an API token: its SHA-256 in hex.
func HashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// NewToken makes a random API token ("mw_" and 32 URL-safe characters) and
// the prefix kept to name it.
func NewToken() (tok, prefix string, err error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", err
	}
	tok = "mw_" + base64.RawURLEncoding.EncodeToString(b[:])
	return tok, tok[:9], nil
}

// CheckRole refuses a role that is not one of store.Role*.
func CheckRole(role string) error {
	if !store.ValidRole(role) {
		return fmt.Errorf("unknown role %q", role)
	}
	return nil
}

// NormEmail is the stored form of a user's email (the login name).
func NormEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// PrepareUser checks and normalises u before it is inserted: a known role, the
// email lowercased and trimmed, CreatedAt set to now when zero.
func PrepareUser(u *store.User) error {
	if err := CheckRole(u.Role); err != nil {
		return err
	}
	u.Email = NormEmail(u.Email)
	if u.CreatedAt.IsZero() {
		u.CreatedAt = time.Now()
	}
	return nil
}
