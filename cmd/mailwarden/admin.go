package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mailwarden/mailwarden/internal/detect"
	"github.com/mailwarden/mailwarden/internal/pipeline"
	"github.com/mailwarden/mailwarden/internal/policy"
	"github.com/mailwarden/mailwarden/internal/store"
)

func cmdTokenCreate(args []string) {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("token create", flag.ExitOnError)
	cfg.bind(fs, "data", "db")
	role := fs.String("role", "", "admin, analyst, viewer or reporter")
	account := fs.Int64("account", 0, "account id (default: the first account, created when there is none)")
	email := fs.String("email", "", "address for submission outcome mail (and, for admin or analyst, allowed to mail the team aliases)")
	fs.Parse(args)
	if !store.ValidRole(*role) {
		fatalf("--role must be admin, analyst, viewer or reporter, got %q", *role)
	}
	ctx := context.Background()
	st, acct := openAccount(ctx, cfg, *account)
	defer st.Close()
	tok, err := st.CreateToken(ctx, acct.ID, *role)
	if err != nil {
		fatalf("%v", err)
	}
	if *email != "" {
		p, err := st.Authenticate(ctx, tok)
		if err == nil {
			err = st.SetSubmissionContact(ctx, acct.ID, p.Name, *role, strings.ToLower(*email))
		}
		if err != nil {
			fatalf("token email: %v", err)
		}
	}
	st.Audit(ctx, store.AuditEntry{AccountID: acct.ID, Actor: "cli", Action: "token.create", Target: *role})
	json.NewEncoder(os.Stdout).Encode(map[string]any{"account_id": acct.ID, "token": tok, "role": *role})
}

// accountPolicy is the detection policy scan uses: the first account's, with the org file's.
func accountPolicy(ctx context.Context, st store.Store, org *detect.Policy) (*detect.Policy, error) {
	acct, err := st.FirstAccount(ctx)
	if err == store.ErrNotFound {
		return org, nil
	}
	if err != nil {
		return nil, err
	}
	return policy.New(st, org).Policy(ctx, acct.ID)
}

func cmdImport(args []string) {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("import", flag.ExitOnError)
	cfg.bind(fs, "data", "db", "dns-zone", "max-size", "org", "hostname", "log-level", "thresholds")
	account := fs.Int64("account", 0, "account id (default: the first account)")
	fs.Parse(args)
	if fs.NArg() == 0 {
		fatalf("usage: mailwarden import [flags] FILE.mbox|DIR...")
	}
	log := newLogger(cfg.LogLevel)
	ctx := context.Background()
	st, acct := openAccount(ctx, cfg, *account)
	defer st.Close()
	res, err := resolver(cfg)
	if err != nil {
		fatalf("%v", err)
	}
	org, err := loadOrg(cfg)
	if err != nil {
		fatalf("%v", err)
	}
	models, err := openModel(ctx, st, log)
	if err != nil {
		fatalf("%v", err)
	}
	pipe := newPipeline(cfg, res, st, models, log)
	pipe.Policies = policy.New(st, org)
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
	imported, failed := 0, 0
	for _, p := range paths {
		err := eachMessage(p, func(raw []byte) error {
			env := pipeline.Envelope{Mode: pipeline.ModeJournal, FromHeaders: true}
			_, _, err := pipe.Accept(ctx, acct, raw, env)
			if err == nil {
				imported++
			}
			return err
		})
		if err != nil {
			failed++
			fmt.Fprintf(os.Stderr, "\nmailwarden: %s: %v\n", p, err)
		}
		bar.step()
	}
	bar.done()
	fmt.Printf("imported %d message(s) into account %d; %d file(s) failed\n", imported, acct.ID, failed)
	if failed > 0 {
		os.Exit(1)
	}
}

// eachMessage calls fn for every message in a file: an mbox (messages separated by
// "From " lines, with >From unquoting) or a single message.
func eachMessage(path string, fn func(raw []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<16)
	first, err := br.Peek(5)
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if !bytes.Equal(first, []byte("From ")) {
		raw, err := io.ReadAll(br)
		if err != nil {
			return err
		}
		return fn(raw)
	}
	var cur bytes.Buffer
	started := false
	flush := func() error {
		if !started {
			return nil
		}
		b := bytes.Clone(cur.Bytes())
		cur.Reset()
		return fn(b)
	}
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			switch {
			case bytes.HasPrefix(line, []byte("From ")):
				if ferr := flush(); ferr != nil {
					return ferr
				}
				started = true
			case bytes.HasPrefix(line, []byte(">From ")) || bytes.HasPrefix(line, []byte(">>From ")):
				cur.Write(line[1:])
			default:
				cur.Write(line)
			}
		}
		if errors.Is(err, io.EOF) {
			return flush()
		}
		if err != nil {
			return err
		}
	}
}

// progress draws a bar on a terminal and nothing elsewhere.
type progress struct {
	w     *os.File
	total int
	n     int
	tty   bool
	last  time.Time
}

func newProgress(w *os.File, total int) *progress {
	fi, err := w.Stat()
	return &progress{w: w, total: total, tty: err == nil && fi.Mode()&os.ModeCharDevice != 0}
}

func (p *progress) step() {
	p.n++
	if !p.tty || (time.Since(p.last) < 100*time.Millisecond && p.n < p.total) {
		return
	}
	p.last = time.Now()
	width := 40
	filled := width
	if p.total > 0 {
		filled = width * p.n / p.total
	}
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d", string(bytes.Repeat([]byte("#"), filled)), string(bytes.Repeat([]byte("."), width-filled)), p.n, p.total)
}

func (p *progress) done() {
	if p.tty {
		fmt.Fprintln(p.w)
	}
}

var _ = strconv.Itoa
