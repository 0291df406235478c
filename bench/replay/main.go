// Command replay measures the feedback loop: it replays ../shared/corpus through a
// running mailwarden (SMTP in, investigate API out) in a fixed order (sorted by
// sha1 of the path, as bench/peers/replay.py does for the peers), with detection
// starting untrained. With -feedback, each time a message's disposition is wrong a
// scripted analyst reclassifies it through the API (POST investigate/{id}/reclassify),
// as a team would; without it nothing is corrected. It prints the error rate per
// block of 500 messages.
//
// Wrong means: ham given anything but NONE or BULK; spam not given SPAM, BULK,
// SUSPICIOUS, MALICIOUS or SPOOF; phish not given MALICIOUS, SUSPICIOUS or SPOOF.
//
//	go run ./bench/replay -smtp 127.0.0.1:2525 -api http://127.0.0.1:8080 -account 1 -token T [-feedback]
package main

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

type item struct {
	class, path, key string
}

func main() {
	corpus := flag.String("corpus", "../shared/corpus", "corpus directory with labels.tsv")
	smtpAddr := flag.String("smtp", "127.0.0.1:2525", "mailwarden SMTP address")
	apiURL := flag.String("api", "http://127.0.0.1:8080", "mailwarden HTTP base")
	account := flag.String("account", "1", "account id")
	token := flag.String("token", "", "analyst or admin API token")
	feedback := flag.Bool("feedback", false, "reclassify every wrong verdict through the API")
	limit := flag.Int("n", 0, "replay only the first n messages (0: all)")
	block := flag.Int("block", 500, "messages per reported block")
	flag.Parse()
	items := load(*corpus)
	if *limit > 0 && *limit < len(items) {
		items = items[:*limit]
	}
	base := strings.TrimRight(*apiURL, "/") + "/client/v4/accounts/" + *account + "/email-security"
	mode := "static"
	if *feedback {
		mode = "feedback"
	}
	fmt.Printf("| block | %s errors | ham FP | spam missed | phish missed |\n|---|---:|---:|---:|---:|\n", mode)
	var errs, hamFP, spamMiss, phishMiss, n, total int
	lastID := ""
	t0 := time.Now()
	for i, it := range items {
		raw, err := os.ReadFile(filepath.Join(*corpus, it.path))
		if err != nil {
			log.Fatal(err)
		}
		if bytes.HasPrefix(raw, []byte("From ")) {
			raw = raw[bytes.IndexByte(raw, '\n')+1:]
		}
		if err := send(*smtpAddr, raw); err != nil {
			log.Printf("%s: %v (skipped)", it.path, err)
			continue
		}
		id, disp := newest(base, *token, lastID)
		lastID = id
		wrong, want := judge(it.class, disp)
		if wrong {
			errs++
			switch it.class {
			case "ham":
				hamFP++
			case "spam":
				spamMiss++
			default:
				phishMiss++
			}
			if *feedback {
				post(base+"/investigate/"+id+"/reclassify", *token, fmt.Sprintf(`{"expected_disposition":%q}`, want))
			}
		}
		n++
		total++
		if n == *block || i == len(items)-1 {
			fmt.Printf("| %d | %.1f%% (%d/%d) | %d | %d | %d |\n", (total-1) / *block, 100*float64(errs)/float64(n), errs, n, hamFP, spamMiss, phishMiss)
			errs, hamFP, spamMiss, phishMiss, n = 0, 0, 0, 0, 0
		}
	}
	fmt.Printf("\n%d messages in %.0f s\n", total, time.Since(t0).Seconds())
}

func load(corpus string) []item {
	f, err := os.Open(filepath.Join(corpus, "labels.tsv"))
	if err != nil {
		log.Fatalf("corpus: %v", err)
	}
	defer f.Close()
	var items []item
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cls, path, ok := strings.Cut(sc.Text(), "\t")
		if !ok || cls == "class" {
			continue
		}
		h := sha1.Sum([]byte(path))
		items = append(items, item{cls, path, hex.EncodeToString(h[:])})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].key < items[j].key })
	return items
}

func send(addr string, raw []byte) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("replay.bench"); err != nil {
		return err
	}
	return c.SendMail(returnPath(raw), []string{"user@corp.test"}, bytes.NewReader(raw))
}

// returnPath is the envelope sender the message was delivered with, from its
// Return-Path header ("" when absent: the null sender), so the replay keeps the
// original envelope instead of one of ours.
func returnPath(raw []byte) string {
	end := bytes.Index(raw, []byte("\n\n"))
	if end < 0 {
		end = len(raw)
	}
	for _, line := range strings.Split(string(raw[:end]), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(strings.TrimSpace(name), "Return-Path") {
			v := strings.Trim(strings.TrimSpace(value), "<>")
			if strings.Count(v, "@") == 1 && !strings.ContainsAny(v, " \t\r<>") {
				return v
			}
			return ""
		}
	}
	return ""
}

// newest returns the id and disposition of the newest message (the one just sent).
func newest(base, token, last string) (string, string) {
	for tries := 0; ; tries++ {
		var env struct {
			Result []struct {
				ID               string `json:"id"`
				FinalDisposition string `json:"final_disposition"`
			} `json:"result"`
		}
		get(base+"/investigate?per_page=1", token, &env)
		if len(env.Result) == 1 && env.Result[0].ID != last {
			return env.Result[0].ID, env.Result[0].FinalDisposition
		}
		if tries > 100 {
			log.Fatal("the message just sent is not listed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// judge says whether a disposition is wrong for a class, and what it should be.
func judge(class, disp string) (bool, string) {
	switch class {
	case "ham":
		return disp != "NONE" && disp != "BULK", "NONE"
	case "spam":
		return disp == "NONE", "SPAM"
	default:
		return disp != "MALICIOUS" && disp != "SUSPICIOUS" && disp != "SPOOF", "MALICIOUS"
	}
}

func get(url, token string, v any) {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		log.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	json.NewDecoder(resp.Body).Decode(v)
}

func post(url, token, body string) {
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		log.Printf("POST %s: %d", url, resp.StatusCode)
	}
}
