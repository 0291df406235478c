package bayes

import (
	"context"
	"sync"
)

// MemStore is a Store in memory: for tests and offline scans.
type MemStore struct {
	mu       sync.Mutex
	accounts map[int64]*memAccount
}

type memAccount struct {
	msgs    Counts
	tokens  map[string]Counts
	trained map[string]Class
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{accounts: map[int64]*memAccount{}} }

func (s *MemStore) account(a int64) *memAccount {
	if s.accounts == nil {
		s.accounts = map[int64]*memAccount{}
	}
	acc, ok := s.accounts[a]
	if !ok {
		acc = &memAccount{tokens: map[string]Counts{}, trained: map[string]Class{}}
		s.accounts[a] = acc
	}
	return acc
}

// LoadBayes implements Store.
func (s *MemStore) LoadBayes(ctx context.Context, account int64, each func(string, Counts)) (Counts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	acc := s.account(account)
	for tok, c := range acc.tokens {
		each(tok, c)
	}
	return acc.msgs, ctx.Err()
}

// BayesTrainedAs implements Store.
func (s *MemStore) BayesTrainedAs(ctx context.Context, account int64, key string) (Class, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.account(account).trained[key], ctx.Err()
}

// ApplyBayes implements Store.
func (s *MemStore) ApplyBayes(ctx context.Context, account int64, ds ...Delta) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	acc := s.account(account)
	for _, d := range ds {
		if acc.trained[d.Key] != d.From {
			return ErrConflict
		}
	}
	for _, d := range ds {
		acc.apply(d)
	}
	return nil
}

func (acc *memAccount) apply(d Delta) {
	if d.To == Untrained {
		delete(acc.trained, d.Key)
	} else {
		acc.trained[d.Key] = d.To
	}
	acc.msgs.Add(d.From, -1)
	acc.msgs.Add(d.To, 1)
	for _, tok := range d.Tokens {
		c := acc.tokens[tok]
		c.Add(d.From, -1)
		c.Add(d.To, 1)
		if c == (Counts{}) {
			delete(acc.tokens, tok)
		} else {
			acc.tokens[tok] = c
		}
	}
}
