package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mailwarden/mailwarden/internal/access"
	"github.com/mailwarden/mailwarden/internal/api"
	"github.com/mailwarden/mailwarden/internal/auth"
	"github.com/mailwarden/mailwarden/internal/bulk"
	"github.com/mailwarden/mailwarden/internal/metrics"
	"github.com/mailwarden/mailwarden/internal/milter"
	"github.com/mailwarden/mailwarden/internal/policy"
	"github.com/mailwarden/mailwarden/internal/relay"
	"github.com/mailwarden/mailwarden/internal/smtpd"
	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/submission"
	"github.com/mailwarden/mailwarden/internal/web"
)

func cmdServe(args []string) {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	cfg.bind(fs, "data", "db", "smtp", "milter", "http", "relay", "dns-zone", "max-size", "hostname", "org", "log-level", "submission-rate", "autolearn", "thresholds", "demo")
	fs.Parse(args)
	log := newLogger(cfg.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := serve(ctx, cfg, log, nil); err != nil {
		fatalf("%v", err)
	}
}

// serve runs until ctx ends. ready, when set, receives the bound addresses.
func serve(ctx context.Context, cfg Config, log *slog.Logger, ready func(smtpAddr, httpAddr string)) error {
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	acct, created, err := firstAccount(ctx, st)
	if err != nil {
		return fmt.Errorf("first account: %w", err)
	}
	if created {
		tok, err := st.CreateToken(ctx, acct.ID, store.RoleAdmin)
		if err != nil {
			return fmt.Errorf("first token: %w", err)
		}
		fmt.Printf("mailwarden: created account %d and its admin API token (shown only this once):\n  account_id: %d\n  token:      %s\n", acct.ID, acct.ID, tok)
	}
	if email, pw, err := firstConsoleUser(ctx, st, acct, cfg.Hostname); err != nil {
		return fmt.Errorf("first console user: %w", err)
	} else if email != "" {
		fmt.Printf("mailwarden: created console admin (password shown only this once):\n  console_user: %s\n  password:     %s\n", email, pw)
	}
	res, err := resolver(cfg)
	if err != nil {
		return err
	}
	org, err := loadOrg(cfg)
	if err != nil {
		return err
	}
	models, err := openModel(ctx, st, log)
	if err != nil {
		return err
	}
	pipe := newPipeline(cfg, res, st, models, log)
	pipe.Policies = policy.New(st, org)
	checker := pipe.Auth
	worker := &relay.Worker{
		Store:    st,
		Addr:     cfg.Relay,
		Hostname: cfg.Hostname,
		Headers:  deliveryHeaders(checker),
		Log:      log,
	}
	pipe.Delivered = worker.Wake
	if cfg.AutoLearn {
		pipe.Learn = models
	}
	met := metrics.New(prometheus.DefaultRegisterer)
	pipe.Metrics, worker.Metrics = met, met
	subs := &submission.Service{Store: st, Pipe: pipe, Models: models, Mailer: worker, Hostname: cfg.Hostname, DefaultAccount: acct.ID, Log: log,
		Limits: submission.Limits{Rate: cfg.SubmissionRate}}
	if h, ok := pipe.Policies.(submission.Holder); ok {
		subs.Holder = h
	}

	smtpLn, err := net.Listen("tcp", cfg.SMTP)
	if err != nil {
		return fmt.Errorf("smtp listen: %w", err)
	}
	httpLn, err := net.Listen("tcp", cfg.HTTP)
	if err != nil {
		smtpLn.Close()
		return fmt.Errorf("http listen: %w", err)
	}
	accounts := func(ctx context.Context, rcpts []string) (store.Account, error) {
		return st.Account(ctx, acct.ID)
	}
	smtpSrv := smtpd.New(smtpd.Config{Hostname: cfg.Hostname, MaxMessageBytes: cfg.MaxSize}, pipe, accounts, log)
	smtpSrv.HandleAliases(subs) // every account's submission addresses, and any address at the hostname, are taken, never relayed
	var milterSrv *milter.Server
	if cfg.Milter != "" {
		mcfg := milter.Config{Addr: cfg.Milter, MaxMessageBytes: cfg.MaxSize}
		if path, ok := strings.CutPrefix(cfg.Milter, "unix:"); ok {
			mcfg.Network, mcfg.Addr = "unix", path
		}
		if milterSrv, err = milter.Listen(mcfg, pipe, accounts, log); err != nil {
			smtpLn.Close()
			httpLn.Close()
			return err
		}
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"status":"ok"}`)
	})
	mux.Handle("GET /metrics", promhttp.Handler())
	apiSrv := &api.Server{Store: st, Relay: worker, Log: log, Submissions: subs}
	subs.Release = func(ctx context.Context, p store.Principal, m store.Message) error {
		_, err := apiSrv.Release(ctx, p, m)
		return err
	}
	bulkWorker := bulk.New(st, map[string]bulk.Action{
		"RELEASE": func(ctx context.Context, j store.Job, m store.Message) error {
			_, err := apiSrv.ReleaseQueued(ctx, store.Principal{AccountID: j.AccountID, Name: j.RequestedBy + " (bulk " + j.ID + ")"}, m)
			return err
		},
		"RECLASSIFY": subs.BulkAction,
	}, log)
	apiSrv.BulkWake = bulkWorker.Wake
	// Batched: one transaction per batch of a job instead of several per message.
	bulkWorker.Batches = map[string]bulk.BatchAction{"RELEASE": apiSrv.ReleaseBatch, "RECLASSIFY": subs.BulkBatch}
	bulkWorker.Committed = func(store.Job) { worker.Wake() }
	apiSrv.Routes(mux)
	consoleSrv := &web.Server{Store: st, Access: access.NewManager(st, st, log), API: apiSrv,
		Submitter: web.Submissions{Service: subs, Store: st, Limits: pipe.Limits}, Log: log, Limits: pipe.Limits}
	consoleSrv.Routes(mux)
	if cfg.Demo {
		if err := seedDemo(ctx, cfg, st, acct, pipe, subs, log); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	mux.HandleFunc("/client/v4/", func(w http.ResponseWriter, r *http.Request) { api.WriteNotFound(w) })
	httpSrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	var wg sync.WaitGroup
	wctx, cancelWorkers := context.WithCancel(context.Background())
	wg.Add(5)
	go func() { defer wg.Done(); worker.Run(wctx) }()
	go func() { defer wg.Done(); bulkWorker.Run(wctx) }()
	go func() { defer wg.Done(); subs.Run(wctx) }()
	errc := make(chan error, 2)
	go func() {
		defer wg.Done()
		if err := smtpSrv.Serve(smtpLn); err != nil {
			errc <- fmt.Errorf("smtp: %w", err)
		}
	}()
	go func() {
		defer wg.Done()
		if err := httpSrv.Serve(httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http: %w", err)
		}
	}()
	milterAddr := ""
	if milterSrv != nil {
		milterAddr = milterSrv.Addr().String()
	}
	log.Info("mailwarden serving", "smtp", smtpLn.Addr().String(), "http", httpLn.Addr().String(), "milter", milterAddr, "db", redact(cfg.DSN()), "relay", cfg.Relay, "account", acct.ID)
	if ready != nil {
		ready(smtpLn.Addr().String(), httpLn.Addr().String())
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	log.Info("mailwarden shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	smtpSrv.Shutdown(sctx)
	if milterSrv != nil {
		milterSrv.Shutdown(sctx)
	}
	httpSrv.Shutdown(sctx)
	cancelWorkers()
	wg.Wait()
	return runErr
}

// deliveryHeaders adds Authentication-Results and X-Mailwarden-Disposition to
// delivered mail and strips forged Authentication-Results with our authserv-id.
func deliveryHeaders(c *auth.Checker) relay.Headers {
	return func(m store.Message, raw []byte) ([]byte, []byte) {
		var a auth.Result
		jsonUnmarshal(m.Auth, &a)
		return relay.Prepend(relay.DeliveryFields(c.Header(a), m)...), auth.StripOwnAuthResults(raw, c.AuthServID)
	}
}
