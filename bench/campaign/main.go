// Command campaign measures how long after a team submission the other
// messages of its campaign have moved. It starts the real server (`mailwarden
// serve` on loopback, a fresh data directory, a discarding relay), sends N
// campaigns of K personalised messages over SMTP, then for one campaign at a
// time reclassifies one message as SPAM through the API (POST
// investigate/{id}/reclassify) and polls GET investigate until every other
// message of the campaign is SPAM. It reports the median and p95 seconds from
// the request to the last sibling moved, and the server's CPU seconds.
//
//	go build -o /tmp/mailwarden ./cmd/mailwarden
//	go run ./bench/campaign -bin /tmp/mailwarden -campaigns 20 -size 50
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

var vocab = strings.Fields("invoice payment account security update verify password delivery package parcel offer discount " +
	"winner prize claim bonus reward credit loan bitcoin wallet transfer urgent action required confirm details login portal " +
	"shipment tracking customs fee refund tax rebate pharmacy pills replica watches casino jackpot lottery investment income " +
	"guaranteed exclusive limited today only click here now free gift card voucher survey membership renewal subscription")

func main() {
	bin := flag.String("bin", "", "the mailwarden binary (go build -o /tmp/mailwarden ./cmd/mailwarden)")
	n := flag.Int("campaigns", 20, "campaigns")
	k := flag.Int("size", 50, "messages per campaign")
	dir := flag.String("dir", "", "data directory (default: a new temporary one)")
	flag.Parse()
	if *bin == "" {
		log.Fatal("-bin is required")
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "campaignbench")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	relay := discardRelay()
	// An empty DNS zone: no lookups leave the machine, every domain answers NXDOMAIN at once.
	zone := *dir + "/empty.zone"
	if err := os.WriteFile(zone, []byte("$ORIGIN bench.test.\n$TTL 300\n@ IN TXT \"bench\"\n"), 0o644); err != nil {
		log.Fatal(err)
	}
	srv := start(*bin, *dir, relay, zone)
	defer func() { srv.cmd.Process.Kill(); srv.cmd.Wait() }()

	// Send every campaign.
	rng := rand.New(rand.NewPCG(6, 6))
	t0 := time.Now()
	for c := 0; c < *n; c++ {
		// Words of the campaign's own (random letters): what the model
		// learns from one campaign never makes another SPAM before its turn.
		words := make([]string, 80)
		for i := range words {
			if i%4 == 3 {
				words[i] = vocab[rng.IntN(len(vocab))]
				continue
			}
			w := make([]byte, 4+rng.IntN(6))
			for j := range w {
				w[j] = byte('a' + rng.IntN(26))
			}
			words[i] = string(w)
		}
		body := strings.Join(words, " ")
		conn, err := smtp.Dial(srv.smtp)
		if err != nil {
			log.Fatal(err)
		}
		for i := 0; i < *k; i++ {
			to := fmt.Sprintf("staff%d@corp.test", i)
			msg := fmt.Sprintf("From: Promotions %d <news@promo%d.example.net>\r\nTo: %s\r\nSubject: cmp%04d your %s %s\r\nMessage-ID: <c%d.%d@promo%d.example.net>\r\n\r\n"+
				"Dear staff%d,\r\n%s\r\nReference %d-%d.\r\n", c, c, to, c, words[0], words[1], c, i, c, i, body, c, i)
			if err := conn.SendMail(fmt.Sprintf("news@promo%d.example.net", c), []string{to}, strings.NewReader(msg)); err != nil {
				log.Fatalf("send: %v", err)
			}
		}
		conn.Quit()
	}
	fmt.Fprintf(os.Stderr, "sent %d messages in %.1f s\n", *n**k, time.Since(t0).Seconds())

	var lat []float64
	split, skipped := 0, 0
	cpu0 := cpuSeconds(srv.cmd.Process.Pid)
	for c := 0; c < *n; c++ {
		items := srv.list(fmt.Sprintf("query=cmp%04d&per_page=1000", c))
		if len(items) != *k {
			log.Fatalf("campaign %d: %d messages listed, want %d", c, len(items), *k)
		}
		edf := map[any]int{}
		for _, it := range items {
			edf[it["edf_hash"]]++
		}
		if len(edf) != 1 {
			split++ // the detector split the campaign: only the named message's part can move
		}
		oldest := items[len(items)-1]
		target := oldest["id"].(string)
		siblings, already := 0, 0
		for _, it := range items {
			if it["id"] != target && it["edf_hash"] == oldest["edf_hash"] {
				siblings++
				if it["final_disposition"] == "SPAM" {
					already++
				}
			}
		}
		if already > 0 {
			// Nothing to measure: the model learned enough to score them SPAM on arrival.
			fmt.Fprintf(os.Stderr, "campaign %d: %d siblings were SPAM already; left out\n", c, already)
			skipped++
			continue
		}
		start := time.Now()
		srv.post("/investigate/"+target+"/reclassify", `{"expected_disposition":"SPAM"}`)
		for {
			moved := len(srv.list(fmt.Sprintf("query=cmp%04d&final_disposition=SPAM&per_page=1000", c)))
			if moved >= siblings+1 {
				break
			}
			if time.Since(start) > 5*time.Minute {
				log.Fatalf("campaign %d: %d of %d moved after 5 minutes", c, moved, siblings+1)
			}
			time.Sleep(20 * time.Millisecond)
		}
		lat = append(lat, time.Since(start).Seconds())
		fmt.Fprintf(os.Stderr, "campaign %d: %d siblings moved in %.2f s\n", c, siblings, lat[len(lat)-1])
	}
	cpu := cpuSeconds(srv.cmd.Process.Pid) - cpu0
	if len(lat) == 0 {
		log.Fatal("no campaign measured")
	}
	sort.Float64s(lat)
	var sum float64
	for _, l := range lat {
		sum += l
	}
	fmt.Printf("campaigns: %d of %d messages (%d split by the detector, %d left out: siblings SPAM on arrival)\n", *n, *k, split, skipped)
	fmt.Printf("submission → last sibling moved: median %.2f s, p95 %.2f s, max %.2f s, mean %.2f s\n",
		lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*95/100)], lat[len(lat)-1], sum/float64(len(lat)))
	fmt.Printf("server CPU during the reclassifications: %.1f s (%.2f s per campaign)\n", cpu, cpu/float64(*n))
}

type server struct {
	cmd            *exec.Cmd
	smtp, http     string
	account, token string
}

var (
	servingRe = regexp.MustCompile(`msg="mailwarden serving" smtp=(\S+) http=(\S+)`)
	accountRe = regexp.MustCompile(`account_id: (\d+)`)
	tokenRe   = regexp.MustCompile(`token:\s+(\S+)`)
)

func start(bin, dir, relay, zone string) *server {
	cmd := exec.Command(bin, "serve", "--data", dir, "--smtp", "127.0.0.1:0", "--http", "127.0.0.1:0", "--hostname", "mx.bench.test",
		"--relay", relay, "--dns-zone", zone, "--submission-rate", "100000")
	cmd.Env = append(os.Environ(), "MAILWARDEN_DNS_TIMEOUT=200ms")
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	s := &server{cmd: cmd}
	creds := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := accountRe.FindStringSubmatch(sc.Text()); m != nil {
				s.account = m[1]
			}
			if m := tokenRe.FindStringSubmatch(sc.Text()); m != nil {
				s.token = m[1]
				close(creds)
			}
		}
	}()
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := false
		for sc.Scan() {
			if m := servingRe.FindStringSubmatch(sc.Text()); m != nil && !once {
				s.smtp, s.http = m[1], m[2]
				once = true
				close(ready)
			}
		}
	}()
	for _, ch := range []chan struct{}{creds, ready} {
		select {
		case <-ch:
		case <-time.After(60 * time.Second):
			log.Fatal("the server did not start")
		}
	}
	return s
}

func (s *server) do(method, path, body string) map[string]any {
	u := "http://" + s.http + "/client/v4/accounts/" + s.account + "/email-security" + path
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil || resp.StatusCode != 200 {
		log.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return out
}

func (s *server) post(path, body string) map[string]any { return s.do("POST", path, body) }

func (s *server) list(query string) []map[string]any {
	q, _ := url.ParseQuery(query)
	res := s.do("GET", "/investigate?"+q.Encode(), "")["result"].([]any)
	out := make([]map[string]any, len(res))
	for i, r := range res {
		out[i] = r.(map[string]any)
	}
	return out
}

// cpuSeconds reads a process's user+system CPU time from /proc.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

// discardRelay is a next hop that accepts and drops every message.
func discardRelay() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := smtp.NewServer(discard{})
	srv.Domain = "relay.bench.test"
	go srv.Serve(ln)
	return ln.Addr().String()
}

type discard struct{}

func (discard) NewSession(*smtp.Conn) (smtp.Session, error) { return discardSession{}, nil }

type discardSession struct{}

func (discardSession) Reset()                               {}
func (discardSession) Logout() error                        { return nil }
func (discardSession) Mail(string, *smtp.MailOptions) error { return nil }
func (discardSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (discardSession) Data(r io.Reader) error               { _, err := io.Copy(io.Discard, r); return err }
