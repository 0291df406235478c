package main

import (
	"context"
	"log/slog"

	"github.com/mailwarden/mailwarden/internal/detect"
	"github.com/mailwarden/mailwarden/internal/store"
)

// openModel loads the account content models from the store. TEMPORARY: wired to bayes when it lands.
func openModel(ctx context.Context, st store.Store, log *slog.Logger) (detect.BayesScorer, error) {
	return nil, nil
}

func cmdLearn(args []string) { fatalf("learn: not wired yet") }
