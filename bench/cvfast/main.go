// Command cvfast is an in-process 5-fold cross-validation of detection over a
// labelled corpus (labels.tsv: class<TAB>path), with the same folds as
// bench/cv.sh and bench/peers: fold = crc32(path as in labels.tsv) % 5.
//
// It does what cv.sh does through the CLI (learn four folds, scan the fifth:
// parse, authenticate with an empty DNS zone, detect with the trained content
// model) but parses and authenticates each message once and keeps the model in
// memory, so one run takes seconds instead of minutes. Use it to iterate; confirm
// with bench/cv.sh.
//
//	go run ./bench/cvfast [-corpus DIR] [-v] [-dump FILE.jsonl]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mailwarden/mailwarden/internal/auth"
	"github.com/mailwarden/mailwarden/internal/bayes"
	"github.com/mailwarden/mailwarden/internal/detect"
	"github.com/mailwarden/mailwarden/internal/dnsx"
	"github.com/mailwarden/mailwarden/internal/message"
)

type item struct {
	class, path string
	fold        int
	m           *message.Message
	a           auth.Result
}

var classes = []string{"ham", "spam", "phish"}
var disps = []detect.Disposition{detect.Malicious, detect.Suspicious, detect.Spoof, detect.Spam, detect.Bulk, detect.None}

func main() {
	corpus := flag.String("corpus", "../shared/corpus", "corpus directory with labels.tsv")
	verbose := flag.Bool("v", false, "list ham false positives and trigger counts per class")
	dump := flag.String("dump", "", "write one JSON line per message (path, class, disposition, triggers, bayes) to this file")
	bcfg, dcfg := bayes.DefaultConfig(), detect.DefaultConfig()
	flag.IntVar(&bcfg.MaxClues, "clues", bcfg.MaxClues, "bayes: most significant tokens combined")
	flag.Float64Var(&bcfg.MinStrength, "minstrength", bcfg.MinStrength, "bayes: minimum distance of a clue from 0.5")
	flag.Float64Var(&bcfg.UnknownStrength, "s", bcfg.UnknownStrength, "bayes: Robinson's s")
	flag.Float64Var(&dcfg.Thresholds.BayesSpam, "bayes-spam", dcfg.Thresholds.BayesSpam, "detect: BayesSpam threshold")
	flag.Float64Var(&dcfg.Thresholds.BayesHam, "bayes-ham", dcfg.Thresholds.BayesHam, "detect: BayesHam threshold")
	flag.Float64Var(&dcfg.Thresholds.BayesPhish, "bayes-phish", dcfg.Thresholds.BayesPhish, "detect: BayesPhish threshold")
	flag.Parse()
	ctx := context.Background()
	start := time.Now()

	labels, err := os.ReadFile(filepath.Join(*corpus, "labels.tsv"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var items []*item
	for _, line := range strings.Split(string(labels), "\n") {
		class, path, ok := strings.Cut(strings.TrimRight(line, "\r"), "\t")
		if !ok || class == "class" {
			continue
		}
		items = append(items, &item{class: class, path: path, fold: int(crc32.ChecksumIEEE([]byte(path)) % 5)})
	}
	zone, err := dnsx.ParseZone(strings.NewReader(""), ".")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	checker := &auth.Checker{Resolver: zone, AuthServID: "mailwarden.local"}
	parallel(len(items), func(i int) {
		it := items[i]
		raw, err := os.ReadFile(filepath.Join(*corpus, it.path))
		if err != nil {
			panic(err)
		}
		if bytes.HasPrefix(raw, []byte("From ")) { // mbox From_ line, as the CLI strips it
			if j := bytes.IndexByte(raw, '\n'); j >= 0 {
				raw = raw[j+1:]
			}
		}
		m := message.Parse(raw, message.Limits{})
		h := m.Envelope()
		in := auth.Input{ClientIP: h.ClientIP, Helo: h.Helo, MailFrom: h.MailFrom, Raw: raw, HeaderFrom: m.From.Addr}
		if len(m.ReplyTo) > 0 {
			in.ReplyTo = m.ReplyTo[0].Addr
		}
		it.m, it.a = m, checker.Check(ctx, in)
	})
	parsed := time.Since(start)

	clsOf := map[string]bayes.Class{"ham": bayes.Ham, "spam": bayes.Spam, "phish": bayes.Phish}
	verdicts := make([]detect.Verdict, len(items))
	scores := make([]bayes.Score, len(items))
	var scoreTime time.Duration
	for fold := 0; fold < 5; fold++ {
		model, err := bayes.Load(ctx, bayes.NewMemStore(), 0, bcfg)
		if err != nil {
			panic(err)
		}
		for _, c := range classes {
			var batch []*message.Message
			for _, it := range items {
				if it.fold != fold && it.class == c {
					batch = append(batch, it.m)
				}
			}
			if _, err := model.TrainMany(ctx, batch, clsOf[c]); err != nil {
				panic(err)
			}
		}
		det := detect.New(dcfg, modelScorer{model})
		t0 := time.Now()
		parallel(len(items), func(i int) {
			if it := items[i]; it.fold == fold {
				verdicts[i] = det.Detect(ctx, it.m, it.a, &detect.Policy{})
				if *dump != "" {
					scores[i] = model.Score(it.m)
				}
			}
		})
		scoreTime += time.Since(t0)
	}

	table := map[string]map[detect.Disposition]int{}
	trig := map[string]map[string]int{}
	n := map[string]int{}
	var fps []string
	var out *json.Encoder
	if *dump != "" {
		f, err := os.Create(*dump)
		if err != nil {
			panic(err)
		}
		defer f.Close()
		out = json.NewEncoder(f)
	}
	for i, it := range items {
		v := verdicts[i]
		if table[it.class] == nil {
			table[it.class], trig[it.class] = map[detect.Disposition]int{}, map[string]int{}
		}
		table[it.class][v.Disposition]++
		n[it.class]++
		var names []string
		for _, t := range v.Triggers {
			trig[it.class][t.Name]++
			names = append(names, fmt.Sprintf("%s(%.1f)", t.Name, t.Score))
		}
		if it.class == "ham" && v.Disposition != detect.None && v.Disposition != detect.Bulk {
			fps = append(fps, fmt.Sprintf("%s %s bayes=%.3f %s", it.path, v.Disposition, v.BayesSpam, strings.Join(names, " ")))
		}
		if out != nil {
			var hosts []string
			for _, l := range it.m.Links {
				hosts = append(hosts, l.Host)
			}
			out.Encode(map[string]any{"path": it.path, "class": it.class, "disposition": v.Disposition, "bayes": v.BayesSpam, "phishshare": scores[i].Phish, "clues": scores[i].Clues, "triggers": v.Triggers,
				"from": it.m.From.Domain(), "links": hosts})
		}
	}
	fmt.Println("| class | n | MALICIOUS | SUSPICIOUS | SPOOF | SPAM | BULK | NONE |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, c := range classes {
		fmt.Printf("| %s | %d |", c, n[c])
		for _, d := range disps {
			fmt.Printf(" %d |", table[c][d])
		}
		fmt.Println()
	}
	rate := func(c string, ds ...detect.Disposition) string {
		k := 0
		for _, d := range ds {
			k += table[c][d]
		}
		return fmt.Sprintf("%.3f%% (%d/%d)", 100*float64(k)/float64(max(n[c], 1)), k, n[c])
	}
	fmt.Printf("\nham FP %s  spam caught %s  phish flagged %s\n",
		rate("ham", detect.Malicious, detect.Suspicious, detect.Spoof, detect.Spam),
		rate("spam", detect.Malicious, detect.Suspicious, detect.Spoof, detect.Spam, detect.Bulk),
		rate("phish", detect.Malicious, detect.Suspicious, detect.Spoof))
	fmt.Printf("parse+auth %v, train+detect %v (detect %v, %.0fµs/msg wall on %d procs)\n", parsed.Round(time.Millisecond),
		(time.Since(start) - parsed).Round(time.Millisecond), scoreTime.Round(time.Millisecond),
		float64(scoreTime.Microseconds())/float64(len(items)), runtime.GOMAXPROCS(0))
	if *verbose {
		for _, c := range classes {
			var ks []string
			for k, v := range trig[c] {
				ks = append(ks, fmt.Sprintf("%s=%d", k, v))
			}
			sort.Strings(ks)
			fmt.Printf("%s triggers: %s\n", c, strings.Join(ks, " "))
		}
		for _, fp := range fps {
			fmt.Println("FP", fp)
		}
	}
}

// modelScorer scores with one in-memory model whatever the account.
type modelScorer struct{ m *bayes.Model }

func (s modelScorer) Score(_ context.Context, _ int64, m *message.Message) bayes.Score {
	return s.m.Score(m)
}

func parallel(n int, fn func(int)) {
	var wg sync.WaitGroup
	ch := make(chan int, 256)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ch {
				fn(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		ch <- i
	}
	close(ch)
	wg.Wait()
}
