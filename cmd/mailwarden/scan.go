package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sort"

	"github.com/mailwarden/mailwarden/internal/auth"
	"github.com/mailwarden/mailwarden/internal/bayes"
	"github.com/mailwarden/mailwarden/internal/pipeline"
)

// scanLine is one line of scan output.
type scanLine struct {
	File        string             `json:"file"`
	Error       string             `json:"error,omitempty"`
	Disposition string             `json:"disposition,omitempty"`
	Triggers    []scanTrigger      `json:"triggers,omitempty"`
	Validation  *scanValidation    `json:"validation,omitempty"`
	Auth        *auth.Result       `json:"auth,omitempty"`
	Scores      map[string]float64 `json:"scores,omitempty"`
}

type scanTrigger struct {
	Name    string  `json:"name"`
	Score   float64 `json:"score"`
	Detail  string  `json:"detail"`
	Field   string  `json:"field,omitempty"`
	Portion string  `json:"portion,omitempty"`
}

// scanValidation holds RFC 8601 result names.
type scanValidation struct {
	SPF   string `json:"spf"`
	DKIM  string `json:"dkim"`
	DMARC string `json:"dmarc"`
}

func cmdScan(args []string, out io.Writer) int {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("scan", flag.ExitOnError)
	cfg.bind(fs, "data", "db", "dns-zone", "max-size", "org", "hostname", "log-level", "thresholds")
	clientIP := fs.String("client-ip", "", "connecting client IP (default: from the topmost Received header)")
	helo := fs.String("helo", "", "HELO name (default: from the topmost Received header)")
	mailFrom := fs.String("mail-from", "", "envelope sender (default: Return-Path)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: mailwarden scan [flags] FILE|DIR...")
		fs.PrintDefaults()
	}
	fs.Parse(args)
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	var ip net.IP
	if *clientIP != "" {
		if ip = net.ParseIP(*clientIP); ip == nil {
			fatalf("--client-ip %q is not an IP address", *clientIP)
		}
	}
	log := newLogger(cfg.LogLevel)
	ctx := context.Background()
	res, err := resolver(cfg)
	if err != nil {
		fatalf("%v", err)
	}
	org, err := loadOrg(cfg)
	if err != nil {
		fatalf("%v", err)
	}
	// The model and policies of --data are used when a database is there; scan never creates one.
	var models *bayes.Models
	pol := org
	if _, err := os.Stat(cfg.DSN()); err == nil || cfg.DB != "" {
		st, err := openStore(ctx, cfg)
		if err != nil {
			fatalf("%v", err)
		}
		defer st.Close()
		if models, err = openModel(ctx, st, log); err != nil {
			fatalf("%v", err)
		}
		if pol, err = accountPolicy(ctx, st, org); err != nil {
			fatalf("%v", err)
		}
	}
	pipe := newPipeline(cfg, res, nil, models, log)
	env := pipeline.Envelope{ClientIP: ip, Helo: *helo, MailFrom: *mailFrom, FromHeaders: true, Mode: pipeline.ModeAPI}

	files := make(chan string, 64)
	go func() {
		defer close(files)
		for _, root := range fs.Args() {
			walkFiles(root, func(path string, err error) {
				if err != nil {
					files <- "\x00" + path + "\x00" + err.Error()
					return
				}
				files <- path
			})
		}
	}()
	w := bufio.NewWriterSize(out, 1<<16)
	defer w.Flush()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	failed := 0
	orderedParallel(files, runtime.GOMAXPROCS(0), func(path string) scanLine {
		if len(path) > 0 && path[0] == 0 {
			parts := bytes.SplitN([]byte(path[1:]), []byte{0}, 2)
			return scanLine{File: string(parts[0]), Error: string(parts[1])}
		}
		raw, err := readMessageFile(path)
		if err != nil {
			return scanLine{File: path, Error: err.Error()}
		}
		an := pipe.Analyze(ctx, raw, env, pol)
		return toScanLine(path, an)
	}, func(l scanLine) {
		if l.Error != "" {
			failed++
		}
		enc.Encode(l)
	})
	if failed > 0 {
		return 1
	}
	return 0
}

func toScanLine(path string, an pipeline.Analysis) scanLine {
	l := scanLine{File: path, Disposition: string(an.Verdict.Disposition), Triggers: []scanTrigger{}, Auth: &an.Auth}
	for _, t := range an.Verdict.Triggers {
		l.Triggers = append(l.Triggers, scanTrigger{Name: t.Name, Score: t.Score, Detail: t.Detail, Field: t.Field, Portion: t.Portion})
	}
	l.Validation = &scanValidation{SPF: an.Auth.SPF.Result, DKIM: an.Auth.DKIMSummary(), DMARC: an.Auth.DMARC.Result}
	if len(an.Verdict.Scores) > 0 {
		l.Scores = map[string]float64{}
		for k, v := range an.Verdict.Scores {
			l.Scores[string(k)] = v
		}
	}
	return l
}

// orderedParallel runs fn on every input with n workers and emits results in input order.
func orderedParallel[T any](in <-chan string, n int, fn func(string) T, emit func(T)) {
	if n < 1 {
		n = 1
	}
	type job struct {
		i    int
		path string
	}
	type result struct {
		i int
		v T
	}
	jobs := make(chan job, n*4)
	results := make(chan result, n*4)
	go func() {
		i := 0
		for p := range in {
			jobs <- job{i, p}
			i++
		}
		close(jobs)
	}()
	done := make(chan struct{})
	for w := 0; w < n; w++ {
		go func() {
			for j := range jobs {
				results <- result{j.i, fn(j.path)}
			}
			done <- struct{}{}
		}()
	}
	go func() {
		for w := 0; w < n; w++ {
			<-done
		}
		close(results)
	}()
	pending := map[int]T{}
	next := 0
	for r := range results {
		pending[r.i] = r.v
		for {
			v, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			emit(v)
			next++
		}
	}
}

// walkFiles calls fn for every regular file under root (root itself if a file), sorted.
func walkFiles(root string, fn func(path string, err error)) {
	info, err := os.Stat(root)
	if err != nil {
		fn(root, err)
		return
	}
	if !info.IsDir() {
		fn(root, nil)
		return
	}
	var paths []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			fn(p, err)
			return nil
		}
		if d.Type().IsRegular() {
			paths = append(paths, p)
		}
		return nil
	})
	sort.Strings(paths)
	for _, p := range paths {
		fn(p, nil)
	}
}

// readMessageFile reads one message; a leading mbox "From " line is dropped.
func readMessageFile(path string) ([]byte, error) {
	raw, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return stripMboxFrom(raw), nil
}

// readFile is os.ReadFile with one read for a regular file: the size it has
// when opened, without a second read to see the end (a scan reads thousands
// of small files, and each system call counts).
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() == 0 || st.Size() > 1<<30 {
		return io.ReadAll(f)
	}
	b := make([]byte, st.Size())
	n, err := io.ReadFull(f, b)
	if err == io.ErrUnexpectedEOF {
		err = nil // shrank since: what is there
	}
	return b[:n], err
}

func stripMboxFrom(raw []byte) []byte {
	if bytes.HasPrefix(raw, []byte("From ")) {
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			return raw[i+1:]
		}
	}
	return raw
}

func jsonUnmarshal(b []byte, v any) { json.Unmarshal(b, v) }
