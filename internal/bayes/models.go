package bayes

import (
	"context"
	"log/slog"
	"sync"

	"github.com/mailwarden/mailwarden/internal/message"
)

// Models holds the loaded model of each account, loading each on first use. It
// implements detect.BayesScorer.
type Models struct {
	Store  Store
	Config Config
	Logger *slog.Logger // may be nil

	mu     sync.Mutex
	models map[int64]*Model
}

// NewModels returns an empty registry over st.
func NewModels(st Store, cfg Config) *Models {
	return &Models{Store: st, Config: cfg, models: map[int64]*Model{}}
}

// Get returns the account's model, loading it from the store the first time.
func (ms *Models) Get(ctx context.Context, account int64) (*Model, error) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if m, ok := ms.models[account]; ok {
		return m, nil
	}
	if ms.models == nil {
		ms.models = map[int64]*Model{}
	}
	m, err := Load(ctx, ms.Store, account, ms.Config)
	if err != nil {
		return nil, err
	}
	ms.models[account] = m
	return m, nil
}

// Score scores msg with the account's model; no opinion when it cannot be loaded.
func (ms *Models) Score(ctx context.Context, account int64, msg *message.Message) Score {
	m, err := ms.Get(ctx, account)
	if err != nil {
		if ms.Logger != nil {
			ms.Logger.ErrorContext(ctx, "bayes: load model", "account", account, "err", err)
		}
		return NoOpinion
	}
	return m.Score(msg)
}

// Train trains msg as c in the account's model (see Model.Train).
func (ms *Models) Train(ctx context.Context, account int64, msg *message.Message, c Class) (bool, error) {
	m, err := ms.Get(ctx, account)
	if err != nil {
		return false, err
	}
	return m.Train(ctx, msg, c)
}

// Untrain removes msg from the account's model (see Model.Untrain).
func (ms *Models) Untrain(ctx context.Context, account int64, msg *message.Message) (bool, error) {
	m, err := ms.Get(ctx, account)
	if err != nil {
		return false, err
	}
	return m.Untrain(ctx, msg)
}
