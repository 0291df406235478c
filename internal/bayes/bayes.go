// Package bayes is mailwarden's trainable content model: a Bayesian token
// classifier in the manner of SpamBayes and bogofilter. Token probabilities
// follow Gary Robinson's "A Statistical Approach to the Spam Problem" (Linux
// Journal, 2003: f(w) with strength s and prior x), and the most significant
// tokens are combined with Fisher's chi-square method (inverse chi-square of
// -2 ln of the product, as SpamBayes's chi2_spamprob).
//
// The model has three classes. The main score is P(bad), bad being spam or
// phish against ham; a second score splits bad into phish vs spam so detection
// can tell a credential phish from an advertisement. Counts live in a Store per
// account; a Model keeps them in memory, loaded once and written through on
// training, so scoring never touches the database.
//
// Training is idempotent (DESIGN.md, "Reclassification"; mox store/train.go):
// each message is recorded by the SHA-256 of its raw bytes with the class it
// was trained as; training it as the same class again changes nothing, and a
// reclassification untrains the old class and trains the new one in one
// atomic store update.
package bayes

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
)

// Class is what a message is trained as.
type Class string

const (
	Ham   Class = "ham"   // wanted mail: clean and graymail (detect NONE, BULK)
	Spam  Class = "spam"  // unsolicited commercial mail (detect SPAM)
	Phish Class = "phish" // phishing, fraud and impersonation (detect MALICIOUS, SUSPICIOUS, SPOOF)
	// Untrained is the absence of a class: a message not (or no longer) trained.
	Untrained Class = ""
)

// Valid reports whether c is one of Ham, Spam, Phish.
func (c Class) Valid() bool { return c == Ham || c == Spam || c == Phish }

// Errors.
var (
	ErrClass    = errors.New("bayes: invalid class")
	ErrConflict = errors.New("bayes: message was trained concurrently") // Delta.From no longer matches the store
)

// Counts are per-class counts: of messages, or of messages containing a token.
type Counts struct {
	Ham   int64 `json:"ham"`
	Spam  int64 `json:"spam"`
	Phish int64 `json:"phish"`
}

// Get returns the count of class c.
func (c Counts) Get(cl Class) int64 {
	switch cl {
	case Ham:
		return c.Ham
	case Spam:
		return c.Spam
	case Phish:
		return c.Phish
	}
	return 0
}

// Add adds n to the count of class cl, never going below zero.
func (c *Counts) Add(cl Class, n int64) {
	var p *int64
	switch cl {
	case Ham:
		p = &c.Ham
	case Spam:
		p = &c.Spam
	case Phish:
		p = &c.Phish
	default:
		return
	}
	*p = max(*p+n, 0)
}

// Delta is one message's change to an account's model.
type Delta struct {
	// Key identifies the message: Key(raw).
	Key string
	// From is what the message is trained as now (Untrained if never). The store
	// applies the delta only if its record still says From, else ErrConflict.
	From Class
	// To is what the message becomes (Untrained removes the record).
	To Class
	// Tokens are the message's unique tokens: each loses one From count (not
	// below zero) and gains one To count. The message count moves the same way.
	Tokens []string
}

// Store keeps the counts of each account's model. Implementations: the SQLite
// and PostgreSQL stores, and MemStore.
type Store interface {
	// LoadBayes calls each for every token of the account with a non-zero count
	// and returns the account's message counts.
	LoadBayes(ctx context.Context, account int64, each func(token string, c Counts)) (messages Counts, err error)
	// BayesTrainedAs returns what the message with key was trained as, Untrained if never.
	BayesTrainedAs(ctx context.Context, account int64, key string) (Class, error)
	// ApplyBayes applies the deltas atomically: message counts, token counts and
	// the trained-as records, or nothing (ErrConflict when a record is not its d.From).
	ApplyBayes(ctx context.Context, account int64, ds ...Delta) error
}

// Key is the identity of a message for training: hex SHA-256 of its raw bytes.
func Key(raw []byte) string {
	h := sha256.Sum256(raw)
	return hex.EncodeToString(h[:])
}

// Score is the model's opinion of one message.
type Score struct {
	// Spam is P(bad) in [0,1]: spam or phish rather than ham; -1 when the model
	// has too little evidence (too few messages trained, or too few known
	// tokens in this message): no opinion.
	Spam float64 `json:"spam"`
	// Phish is, among bad mail, P(phish) rather than spam; -1 without evidence.
	Phish float64 `json:"phish"`
	// Tokens is the number of unique tokens in the message, Known how many of
	// them the model has seen.
	Tokens int `json:"tokens"`
	Known  int `json:"known"`
	// Clues are the most significant tokens, strongest first (at most 5).
	Clues []Clue `json:"clues,omitempty"`
}

// NoOpinion is the score of a model without enough evidence.
var NoOpinion = Score{Spam: -1, Phish: -1}

// Clue is one token and its probability of being bad.
type Clue struct {
	Token string  `json:"token"`
	Prob  float64 `json:"prob"`
}
