package detect

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mailwarden/mailwarden/internal/auth"
	"github.com/mailwarden/mailwarden/internal/bayes"
	"github.com/mailwarden/mailwarden/internal/message"
)

// TestCorpusCrossValidation measures detection on a labelled corpus (labels.tsv:
// class<TAB>path) with k-fold cross-validation of the content model. It runs
// only when MAILWARDEN_CORPUS names the corpus directory; it asserts nothing
// beyond running and reports rates with -v. No corpus mail is kept in the repo.
func TestCorpusCrossValidation(t *testing.T) {
	dir := os.Getenv("MAILWARDEN_CORPUS")
	if dir == "" {
		t.Skip("MAILWARDEN_CORPUS not set")
	}
	f, err := os.Open(filepath.Join(dir, "labels.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type item struct {
		class, path string
		m           *message.Message
	}
	var items []item
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		class, path, ok := strings.Cut(sc.Text(), "\t")
		if !ok || class == "class" {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, path))
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, item{class: class, path: path, m: message.Parse(raw, message.Limits{})})
	}
	const k = 5
	clsOf := map[string]bayes.Class{"ham": bayes.Ham, "spam": bayes.Spam, "phish": bayes.Phish}
	result := map[string]map[Disposition]int{}
	trig := map[string]map[string]int{}
	var fps []string
	ctx := context.Background()
	for fold := 0; fold < k; fold++ {
		var models *bayes.Models
		if os.Getenv("MAILWARDEN_NOBAYES") == "" {
			models = bayes.NewModels(bayes.NewMemStore(), bayes.Config{})
			for i, it := range items {
				if i%k != fold {
					if _, err := models.Train(ctx, 0, it.m, clsOf[it.class]); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		d := New(DefaultConfig(), nil)
		if models != nil {
			d.Bayes = models
		}
		for i, it := range items {
			if i%k != fold {
				continue
			}
			v := d.Detect(ctx, it.m, auth.Result{}, nil)
			if result[it.class] == nil {
				result[it.class] = map[Disposition]int{}
				trig[it.class] = map[string]int{}
			}
			result[it.class][v.Disposition]++
			for _, tr := range v.Triggers {
				trig[it.class][tr.Name]++
			}
			if it.class == "ham" && v.Disposition != None && v.Disposition != Bulk {
				var names []string
				for _, tr := range v.Triggers {
					names = append(names, fmt.Sprintf("%s(%.1f)", tr.Name, tr.Score))
				}
				fps = append(fps, fmt.Sprintf("%s %s %v", it.path, v.Disposition, names))
			}
		}
	}
	for _, c := range []string{"ham", "spam", "phish"} {
		t.Logf("%s: %v", c, result[c])
		var names []string
		for n, c := range trig[c] {
			names = append(names, fmt.Sprintf("%s=%d", n, c))
		}
		sort.Strings(names)
		t.Logf("  triggers: %s", strings.Join(names, " "))
	}
	for i, fp := range fps {
		if i < 40 {
			t.Logf("FP %s", fp)
		}
	}
}
