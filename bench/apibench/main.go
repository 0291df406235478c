// Command apibench measures the investigation API on a large store: it seeds N
// synthetic messages (default 1,000,000) into a SQLite store (or the PostgreSQL
// database of -db), serves the real API over loopback HTTP, and reports latency
// percentiles of GET investigate with filters, full text and cursor paging;
// then it times a bulk RELEASE job over the quarantined messages (default
// 100,000), and a bulk RECLASSIFY job that makes them NONE (retrained,
// released), each as serve runs them: batched, one transaction per batch.
// -requeue quarantines the seeded held messages again before each job (setup,
// not timed), so both jobs see 100,000 held messages on a store reused from an
// earlier run.
//
//	go run ./bench/apibench -dir /tmp/apibench -n 1000000 -held 100000
//	go run ./bench/apibench -dir /tmp/h2 -requests 0 -requeue -bulk RECLASSIFY,RELEASE
//	go run ./bench/apibench -db 'postgres:///mailwarden_apibench?host=/var/run/postgresql' -bulk ""
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/mailwarden/mailwarden/internal/api"
	"github.com/mailwarden/mailwarden/internal/bayes"
	"github.com/mailwarden/mailwarden/internal/bulk"
	"github.com/mailwarden/mailwarden/internal/relay"
	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/store/postgres"
	"github.com/mailwarden/mailwarden/internal/store/sqlite"
	"github.com/mailwarden/mailwarden/internal/submission"
)

var words = []string{"invoice", "meeting", "report", "payment", "shipping", "password", "account", "update", "newsletter", "offer",
	"project", "review", "budget", "security", "alert", "delivery", "order", "ticket", "contract", "lunch"}
var domains = []string{"example.org", "example.com", "partner.test", "vendor.test", "mail.test", "news.test", "bank.test", "shop.test"}
var disps = []string{"NONE", "NONE", "NONE", "NONE", "NONE", "NONE", "BULK", "SPAM", "SUSPICIOUS", "MALICIOUS", "SPOOF"}

func main() {
	dir := flag.String("dir", "/tmp/apibench", "data directory (reused when seeded)")
	dsn := flag.String("db", "", "PostgreSQL DSN (postgres://…) to bench instead of the SQLite store in -dir (reused when seeded)")
	n := flag.Int("n", 1_000_000, "messages to seed")
	held := flag.Int("held", 100_000, "quarantined messages released by the bulk job")
	reqs := flag.Int("requests", 200, "requests per query kind (0: no queries)")
	jobs := flag.String("bulk", "RELEASE", "bulk jobs to time, in order: RELEASE, RECLASSIFY (comma-separated; empty for none)")
	requeue := flag.Bool("requeue", false, "quarantine the seeded held messages again before each bulk job")
	flag.Parse()
	ctx := context.Background()
	st, db, err := open(ctx, *dir, *dsn)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	acct, err := st.FirstAccount(ctx)
	if err == store.ErrNotFound {
		acct, _ = st.CreateAccount(ctx, "bench")
	}
	tok, _ := st.CreateToken(ctx, acct.ID, store.RoleAdmin)
	var have int
	db.QueryRow(`SELECT count(*) FROM messages WHERE account_id = `+db.arg(1), acct.ID).Scan(&have)
	if have < *n {
		seed(ctx, db, acct.ID, have, *n, *held)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := &api.Server{Store: st, Log: quiet, Relay: &relay.Worker{Store: st, Log: quiet}}
	mux := http.NewServeMux()
	srv.Routes(mux)
	hs := httptest.NewServer(mux)
	defer hs.Close()
	base := fmt.Sprintf("%s/client/v4/accounts/%d/email-security/investigate", hs.URL, acct.ID)
	fmt.Printf("store: %d messages; %d requests per query; GOMAXPROCS default\n\n", max(have, *n), *reqs)
	if *reqs > 0 {
		fmt.Println("| query | p50 ms | p95 ms | max ms |")
		fmt.Println("|---|---:|---:|---:|")
	}
	queries := []struct{ name, q string }{
		{"newest page (per_page=20, total_count)", "?per_page=20"},
		{"final_disposition=MALICIOUS", "?final_disposition=MALICIOUS&per_page=20"},
		{"domain=bank.test", "?domain=bank.test&per_page=20"},
		{"full text query=WORD", "?query=%s&per_page=20"},
		{"full text query=WORD&final_disposition=SPAM", "?query=%s&final_disposition=SPAM&per_page=20"},
		{"sender=userN@ (words, via FTS)", "?sender=user%d@&per_page=20"},
		{"start/end one day", "?start=%s&end=%s&per_page=20"},
		{"cursor paging, 1000 per page", "?cursor=&per_page=1000"},
	}
	client := &http.Client{}
	for _, q := range queries {
		if *reqs <= 0 {
			break
		}
		var lat []time.Duration
		for i := 0; i < *reqs; i++ {
			path := q.q
			switch q.name {
			case "full text query=WORD", "full text query=WORD&final_disposition=SPAM":
				path = fmt.Sprintf(q.q, words[rand.IntN(len(words))])
			case "sender=userN@ (words, via FTS)":
				path = fmt.Sprintf(q.q, rand.IntN(5000))
			case "start/end one day":
				day := time.Now().Add(-time.Duration(rand.IntN(25)) * 24 * time.Hour)
				path = fmt.Sprintf(q.q, day.UTC().Format(time.RFC3339), day.Add(24*time.Hour).UTC().Format(time.RFC3339))
			}
			t0 := time.Now()
			req, _ := http.NewRequest("GET", base+path, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := client.Do(req)
			if err != nil {
				log.Fatal(err)
			}
			var env api.Envelope
			json.NewDecoder(resp.Body).Decode(&env)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				log.Fatalf("%s: %d %v", path, resp.StatusCode, env.Errors)
			}
			lat = append(lat, time.Since(t0))
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		fmt.Printf("| %s | %.1f | %.1f | %.1f |\n", q.name, ms(lat[len(lat)/2]), ms(lat[len(lat)*95/100]), ms(lat[len(lat)-1]))
	}
	models := bayes.NewModels(st, bayes.DefaultConfig())
	subs := &submission.Service{Store: st, Models: models, Log: quiet}
	for _, action := range strings.Split(*jobs, ",") {
		action = strings.ToUpper(strings.TrimSpace(action))
		if action == "" {
			continue
		}
		if *requeue {
			requeueHeld(ctx, db, acct.ID, *held)
		}
		var j store.Job
		switch action {
		case "RELEASE":
			// Bulk release of every quarantined message.
			j = store.Job{Action: "RELEASE", SearchParams: []byte(`{"delivery_status":"quarantined"}`)}
		case "RECLASSIFY":
			// The held SPAM is clean after all: reclassified NONE, retrained, released.
			j = store.Job{Action: "RECLASSIFY", SearchParams: []byte(`{"final_disposition":"SPAM","delivery_status":"quarantined"}`), ExpectedDisposition: "NONE"}
		default:
			log.Fatalf("unknown bulk action %q", action)
		}
		runJob(ctx, st, acct.ID, j, map[string]bulk.BatchAction{"RELEASE": srv.ReleaseBatch, "RECLASSIFY": subs.BulkBatch}, quiet)
	}
}

// runJob runs one bulk job with the batched actions serve uses and prints its duration.
func runJob(ctx context.Context, st store.Store, acct int64, j store.Job, batches map[string]bulk.BatchAction, quiet *slog.Logger) {
	j.ID, j.AccountID, j.RequestedBy = fmt.Sprintf("bench%d", time.Now().UnixNano()), acct, "bench"
	if err := st.CreateJob(ctx, &j); err != nil {
		log.Fatal(err)
	}
	w := bulk.New(st, nil, quiet)
	w.Batches = batches
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var ru0 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	go w.Run(wctx)
	t0 := time.Now()
	last := time.Now()
	for {
		cur, _ := st.GetJob(ctx, acct, j.ID)
		if time.Since(last) > 10*time.Second {
			fmt.Fprintf(os.Stderr, "job %s %s: discovered %d, done %d\n", j.Action, cur.Status, cur.Discovered, cur.Successful+cur.Failed)
			last = time.Now()
		}
		if store.JobFinished(cur.Status) {
			var ru1 syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
			cpu := time.Duration(ru1.Utime.Nano()+ru1.Stime.Nano()-ru0.Utime.Nano()-ru0.Stime.Nano()) * time.Nanosecond
			el := time.Since(t0).Seconds()
			fmt.Printf("\nbulk %s job: %d messages discovered, %d done, %d failed, status %s, in %.1f s wall (%.0f messages/s), %.1f s CPU (process)\n",
				j.Action, cur.Discovered, cur.Successful, cur.Failed, cur.Status, el, float64(cur.Successful)/el, cpu.Seconds())
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// requeueHeld puts the first held seeded messages (seq 1..held, seeded as
// quarantined SPAM) back in quarantine as SPAM, with no deliveries queued.
func requeueHeld(ctx context.Context, db setupDB, acct int64, held int) {
	t0 := time.Now()
	if _, err := db.ExecContext(ctx, `DELETE FROM deliveries WHERE message_seq <= `+db.arg(1), held); err != nil {
		log.Fatal(err)
	}
	// Through SetDisposition, so the store's derived data stay right.
	rows, err := db.QueryContext(ctx, `SELECT seq FROM messages WHERE account_id = `+db.arg(1)+` AND seq <= `+db.arg(2)+` AND disposition <> 'SPAM'`, acct, held)
	if err != nil {
		log.Fatal(err)
	}
	var seqs []int64
	for rows.Next() {
		var seq int64
		rows.Scan(&seq)
		seqs = append(seqs, seq)
	}
	rows.Close()
	st, done := db.unsynced(ctx)
	for _, seq := range seqs {
		if _, err := st.SetDisposition(ctx, seq, "SPAM", []byte("[]")); err != nil {
			log.Fatal(err)
		}
	}
	done()
	if _, err := db.ExecContext(ctx, `UPDATE messages SET is_quarantined = TRUE, delivery_status = 'quarantined' WHERE account_id = `+db.arg(1)+` AND seq <= `+db.arg(2), acct, held); err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "requeued %d held messages in %.1f s\n", held, time.Since(t0).Seconds())
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// seed inserts synthetic messages from index from to n; the first held of them
// are quarantined SPAM. Messages are made in order by one generator and stored
// by db.writers goroutines, each InsertMessage its own transaction as in serve;
// the held ones are all stored before the others, so they keep seq 1..held.
func seed(ctx context.Context, db setupDB, acct int64, from, n, held int) {
	st, done := db.unsynced(ctx)
	defer done()
	t0 := time.Now()
	now := time.Now()
	r := rand.New(rand.NewPCG(1, uint64(from)))
	phase := func(lo, hi int) {
		msgs := make(chan *store.Message, 64)
		var wg sync.WaitGroup
		for range db.writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for m := range msgs {
					if err := st.InsertMessage(ctx, m, []byte("Subject: "+m.Subject+"\r\n\r\nbody\r\n"), nil, nil); err != nil {
						log.Fatal(err)
					}
				}
			}()
		}
		for i := lo; i < hi; i++ {
			d := disps[r.IntN(len(disps))]
			status, q := store.StatusDelivered, false
			if i < held {
				d, status, q = "SPAM", store.StatusQuarantined, true
			}
			dom := domains[r.IntN(len(domains))]
			sender := fmt.Sprintf("user%d@%s", r.IntN(5000), dom)
			to := fmt.Sprintf("staff%d@corp.test", r.IntN(2000))
			subj := words[r.IntN(len(words))] + " " + words[r.IntN(len(words))] + fmt.Sprintf(" #%d", i)
			msgs <- &store.Message{ID: fmt.Sprintf("b%09d", i), AccountID: acct, MessageID: fmt.Sprintf("%d@%s", i, dom), Subject: subj,
				FromAddr: sender, FromDomain: dom, To: []string{to}, EnvelopeFrom: sender, EnvelopeTo: []string{to},
				ScannedAt: now.Add(-time.Duration(r.IntN(30*24*3600)) * time.Second), Disposition: d, DeliveryMode: "DIRECT",
				DeliveryStatus: status, IsQuarantined: q, CampaignID: fmt.Sprintf("c%d", i), SimHash: r.Uint64()}
			if i%100000 == 0 && i > from {
				fmt.Fprintf(os.Stderr, "seeded %d (%.0f/s)\n", i, float64(i-from)/time.Since(t0).Seconds())
			}
		}
		close(msgs)
		wg.Wait()
	}
	phase(from, max(from, min(held, n)))
	phase(max(from, held), n)
	fmt.Fprintf(os.Stderr, "seeded %d messages in %.1f s (writers: %d)\n", n-from, time.Since(t0).Seconds(), db.writers)
}

// benchStore is either store: RECLASSIFY retrains the content model it keeps.
type benchStore interface {
	store.Store
	bayes.Store
}

// setupDB is the database under the store, for the setup store.Store has no
// method for (counting, requeueing held messages), and the way to write setup
// data fast: seeding and requeueing are not what is measured.
type setupDB struct {
	*sql.DB
	st  store.Store
	dsn string // PostgreSQL's; "" for SQLite
	// writers is how many goroutines seed: SQLite takes one writer at a time,
	// PostgreSQL commits concurrent transactions in parallel.
	writers int
}

// open opens the PostgreSQL store of dsn, or the SQLite store in dir when dsn is empty.
func open(ctx context.Context, dir, dsn string) (benchStore, setupDB, error) {
	if dsn == "" {
		st, err := sqlite.Open(ctx, filepath.Join(dir, "mailwarden.db"))
		if err != nil {
			return nil, setupDB{}, err
		}
		return st, setupDB{DB: st.DB(), st: st, writers: 1}, nil
	}
	st, err := postgres.Open(ctx, dsn)
	if err != nil {
		return nil, setupDB{}, err
	}
	return st, setupDB{DB: stdlib.OpenDBFromPool(st.Pool()), st: st, dsn: dsn, writers: 4}, nil
}

// arg is the placeholder of the nth query argument: ? in SQLite, $n in PostgreSQL.
func (d setupDB) arg(n int) string {
	if d.dsn == "" {
		return "?"
	}
	return "$" + strconv.Itoa(n)
}

// unsynced returns a store whose commits do not wait for the disk, and the
// function that ends its use. SQLite's handle is switched to synchronous=OFF and
// back; PostgreSQL gets a second pool with synchronous_commit off, so the store
// measured keeps the server's durable commits.
func (d setupDB) unsynced(ctx context.Context) (store.Store, func()) {
	if d.dsn == "" {
		d.Exec("PRAGMA synchronous=OFF")
		return d.st, func() { d.Exec("PRAGMA synchronous=FULL") }
	}
	u, err := url.Parse(d.dsn)
	if err != nil {
		log.Fatal(err)
	}
	q := u.Query()
	q.Set("synchronous_commit", "off")
	u.RawQuery = q.Encode()
	st, err := postgres.Open(ctx, u.String())
	if err != nil {
		log.Fatal(err)
	}
	return st, func() { st.Close() }
}
