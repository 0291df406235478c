// Command mailwarden is a self-hosted email security gateway: an inline MX that
// scans every message (SPF, DKIM, DMARC, phishing, spam, bulk), quarantines or
// delivers it, and serves a Cloudflare-shaped investigation API.
//
//	mailwarden serve                     run the gateway (SQLite in ./data)
//	mailwarden scan FILE|DIR...          verdicts as JSON lines, offline
//	mailwarden import FILE.mbox|DIR      store mail as journaled (scan only)
//	mailwarden learn --disposition D ... train the content model
//	mailwarden token create --role R     make an API token
//	mailwarden user create --email E ... add a console user
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/mailwarden/mailwarden/internal/auth"
	"github.com/mailwarden/mailwarden/internal/bayes"
	"github.com/mailwarden/mailwarden/internal/detect"
	"github.com/mailwarden/mailwarden/internal/dnsx"
	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/internal/pipeline"
	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/store/postgres"
	"github.com/mailwarden/mailwarden/internal/store/sqlite"
)

const usage = `mailwarden: a self-hosted email security gateway

usage:
  mailwarden serve [flags]                     run SMTP, API and workers (see serve -h)
  mailwarden scan [flags] FILE|DIR...          scan offline; one JSON line per message
  mailwarden import [flags] FILE.mbox|DIR      store mail as journaled (scan only, never delivered)
  mailwarden learn [flags] --disposition D FILE|DIR...
                                               train the content model as a team submission would
  mailwarden token create [flags] --role admin|analyst|viewer|reporter [--account ID]
                                               print a new API token as one JSON line
  mailwarden user create [flags] --email E --role admin|analyst|viewer [--password-stdin]
                                               add a console user (a password is generated without --password-stdin)
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "serve":
		cmdServe(args)
	case "scan":
		os.Exit(cmdScan(args, os.Stdout))
	case "import":
		cmdImport(args)
	case "learn":
		cmdLearn(args)
	case "token":
		if len(args) == 0 || args[0] != "create" {
			fatalf("usage: mailwarden token create --role ROLE [--account ID] [--data DIR] [--db DSN]")
		}
		cmdTokenCreate(args[1:])
	case "user":
		if len(args) == 0 || args[0] != "create" {
			fatalf("usage: mailwarden user create --email E --role admin|analyst|viewer [--password-stdin] [--data DIR] [--db DSN]")
		}
		cmdUserCreate(args[1:], os.Stdin)
	case "-h", "--help", "help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "mailwarden: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// openStore opens the configured database.
func openStore(ctx context.Context, cfg Config) (store.Store, error) {
	dsn := cfg.DSN()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		st, err := postgres.Open(ctx, dsn)
		if err != nil {
			return nil, fmt.Errorf("database %s: %w", redact(dsn), err)
		}
		return st, nil
	}
	return sqlite.Open(ctx, strings.TrimPrefix(dsn, "sqlite:"))
}

// redact hides the password of a PostgreSQL DSN (in its user info or its
// password parameter), for logs and errors.
func redact(dsn string) string {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://…"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// resolver returns the zone-file resolver when a zone is configured, else the system resolver.
func resolver(cfg Config) (dnsx.Resolver, error) {
	if cfg.DNSZone != "" {
		z, err := dnsx.LoadZone(cfg.DNSZone)
		if err != nil {
			return nil, fmt.Errorf("dns zone %s: %w", cfg.DNSZone, err)
		}
		return z, nil
	}
	return dnsx.NewSystem(envDuration("MAILWARDEN_DNS_TIMEOUT", 5*time.Second)), nil
}

func loadOrg(cfg Config) (*detect.Policy, error) {
	if cfg.Org == "" {
		return nil, nil
	}
	p, err := detect.LoadOrgFile(cfg.Org)
	if err != nil {
		return nil, fmt.Errorf("org file %s: %w", cfg.Org, err)
	}
	return p, nil
}

// newPipeline builds the one pipeline every entry point uses.
func newPipeline(cfg Config, res dnsx.Resolver, st store.Store, models *bayes.Models, log *slog.Logger) *pipeline.Pipeline {
	var scorer detect.BayesScorer
	if models != nil {
		scorer = models
	}
	det := detect.New(detect.Config{Thresholds: cfg.Thresholds}, scorer)
	det.Logger = log
	return &pipeline.Pipeline{
		Auth:     &auth.Checker{Resolver: res, AuthServID: cfg.Hostname},
		Detector: det,
		Store:    st,
		Limits:   message.Limits{MaxSize: cfg.MaxSize},
		Log:      log,
	}
}

// openAccount opens the store and the account with this id (0: the first
// account, created when there is none), or exits with the reason.
func openAccount(ctx context.Context, cfg Config, id int64) (store.Store, store.Account) {
	st, err := openStore(ctx, cfg)
	if err != nil {
		fatalf("%v", err)
	}
	var acct store.Account
	if id != 0 {
		acct, err = st.Account(ctx, id)
	} else {
		acct, _, err = firstAccount(ctx, st)
	}
	if err != nil {
		st.Close()
		fatalf("account: %v", err)
	}
	return st, acct
}

// firstAccount returns the first account, creating it (and saying so) when there is none.
func firstAccount(ctx context.Context, st store.Store) (store.Account, bool, error) {
	return st.FirstAccountOrCreate(ctx, "default")
}
