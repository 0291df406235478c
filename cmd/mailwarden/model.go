package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/mailwarden/mailwarden/internal/bayes"
	"github.com/mailwarden/mailwarden/internal/detect"
	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/internal/store"
)

// modelStore is a store that also keeps content-model counts.
type modelStore interface {
	store.Store
	bayes.Store
}

// openModel returns the per-account content models kept in the store.
func openModel(ctx context.Context, st store.Store, log *slog.Logger) (*bayes.Models, error) {
	ms, ok := st.(modelStore)
	if !ok {
		return nil, fmt.Errorf("this store keeps no content model")
	}
	m := bayes.NewModels(ms, bayes.DefaultConfig())
	m.Logger = log
	return m, nil
}

// cmdLearn trains the content model with messages as a team submission of the
// given disposition would: idempotent per message, a changed disposition retrains.
func cmdLearn(args []string) {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("learn", flag.ExitOnError)
	cfg.bind(fs, "data", "db", "max-size", "log-level")
	disp := fs.String("disposition", "", "MALICIOUS, SUSPICIOUS, SPOOF, SPAM, BULK or NONE")
	account := fs.Int64("account", 0, "account id (default: the first account)")
	fs.Parse(args)
	d, ok := detect.ParseDisposition(*disp)
	if !ok || fs.NArg() == 0 {
		fatalf("usage: mailwarden learn [--data DIR] --disposition MALICIOUS|SUSPICIOUS|SPOOF|SPAM|BULK|NONE FILE|DIR...")
	}
	class := detect.TrainingClass(d)
	log := newLogger(cfg.LogLevel)
	ctx := context.Background()
	st, acct := openAccount(ctx, cfg, *account)
	defer st.Close()
	models, err := openModel(ctx, st, log)
	if err != nil {
		fatalf("%v", err)
	}
	model, err := models.Get(ctx, acct.ID)
	if err != nil {
		fatalf("%v", err)
	}
	var paths []string
	for _, root := range fs.Args() {
		walkFiles(root, func(p string, err error) {
			if err != nil {
				fmt.Fprintf(os.Stderr, "mailwarden: %s: %v\n", p, err)
				return
			}
			paths = append(paths, p)
		})
	}
	bar := newProgress(os.Stderr, len(paths))
	lim := message.Limits{MaxSize: cfg.MaxSize}
	trained, failed := 0, 0
	// Messages are applied in batches, one store transaction each.
	var batch []*message.Message
	flush := func() {
		if len(batch) == 0 {
			return
		}
		n, err := model.TrainMany(ctx, batch, class)
		if err != nil {
			failed += len(batch)
			fmt.Fprintf(os.Stderr, "\nmailwarden: learn: %v\n", err)
		}
		trained += n
		batch = batch[:0]
	}
	for _, p := range paths {
		raw, err := readMessageFile(p)
		if err != nil {
			failed++
			fmt.Fprintf(os.Stderr, "\nmailwarden: %s: %v\n", p, err)
		} else if batch = append(batch, message.Parse(raw, lim)); len(batch) >= 500 {
			flush()
		}
		bar.step()
	}
	flush()
	unchanged := len(paths) - trained - failed
	bar.done()
	// Reloading saves the model's snapshot, so the next process to load it
	// (scan, serve) reads it in one go rather than token by token.
	if err := model.Reload(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "mailwarden: learn: %v\n", err)
	}
	n := model.Messages()
	fmt.Printf("learned %d message(s) as %s (%s) in account %d, %d already so, %d failed; model now holds ham %d, spam %d, phish %d\n",
		trained, d, class, acct.ID, unchanged, failed, n.Ham, n.Spam, n.Phish)
	if failed > 0 {
		os.Exit(1)
	}
}
