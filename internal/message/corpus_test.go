package message

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	corpusDir    = "/work/shared/corpus"
	mimeSuiteDir = "/work/shared/suites/mime"
)

// corpusFiles lists the labelled corpus messages, every step-th one.
func corpusFiles(tb testing.TB, step int) []string {
	tb.Helper()
	f, err := os.Open(filepath.Join(corpusDir, "labels.tsv"))
	if err != nil {
		tb.Skipf("corpus not available: %v", err)
	}
	defer f.Close()
	var files []string
	sc := bufio.NewScanner(f)
	for i := 0; sc.Scan(); i++ {
		_, path, ok := strings.Cut(sc.Text(), "\t")
		if !ok || path == "path" || i%step != 0 {
			continue
		}
		files = append(files, filepath.Join(corpusDir, path))
	}
	return files
}

func TestParseCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("corpus test skipped in -short mode")
	}
	files := corpusFiles(t, 1)
	counts := map[string]int{}
	slowest, slowestName := time.Duration(0), ""
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		m := Parse(raw, Limits{})
		if d := time.Since(start); d > slowest {
			slowest, slowestName = d, name
		}
		checkInvariants(t, name, raw, m)
		for _, p := range m.Problems {
			counts[p.Code]++
			if p.Code == ProblemInternal {
				t.Errorf("%s: %s", name, p.Detail)
			}
		}
		if m.From.Addr == "" {
			counts["(no from addr)"]++
		}
		if m.Text == "" {
			counts["(no text)"]++
		}
	}
	t.Logf("%d messages; problems %v; slowest %v %s", len(files), counts, slowest, slowestName)
}

func TestParseMIMESuite(t *testing.T) {
	n := 0
	err := filepath.WalkDir(mimeSuiteDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		m := Parse(raw, Limits{})
		checkInvariants(t, path, raw, m)
		for _, p := range m.Problems {
			if p.Code == ProblemInternal {
				t.Errorf("%s: %s", path, p.Detail)
			}
		}
		n++
		return nil
	})
	if os.IsNotExist(err) || n == 0 {
		t.Skipf("MIME suite not available")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d files parsed", n)
}

func BenchmarkParse(b *testing.B) {
	files := corpusFiles(b, 17) // ~500 messages across every source
	var msgs [][]byte
	size := 0
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			b.Fatal(err)
		}
		msgs = append(msgs, raw)
		size += len(raw)
	}
	b.ReportAllocs()
	b.SetBytes(int64(size / len(msgs)))
	cpu0 := cpuTime()
	for i := 0; b.Loop(); i++ {
		Parse(msgs[i%len(msgs)], Limits{})
	}
	// Wall-clock msgs/s suffers when the machine is shared; CPU time is what one core spends.
	cpu := (cpuTime() - cpu0).Seconds()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	if cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu, "msgs/cpu-s")
	}
}

// cpuTime is the CPU time (user+system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestCompactEquivalent checks that taking leaf contents out of enmime's input
// (the pre-scan's placeholders) gives the same result as letting enmime read them.
func TestCompactEquivalent(t *testing.T) {
	var files []string
	_ = filepath.WalkDir(mimeSuiteDir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, path)
		}
		return nil
	})
	if !testing.Short() {
		files = append(files, corpusFiles(t, 1)...)
	}
	if len(files) == 0 {
		t.Skip("no MIME suite or corpus")
	}
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		a, b := parse(raw, Limits{}, false), parse(raw, Limits{}, true)
		if a.Text != b.Text || a.HTML != b.HTML {
			t.Errorf("%s: bodies differ", name)
		}
		if len(a.Attachments) != len(b.Attachments) {
			t.Errorf("%s: %d attachments, %d without compaction", name, len(a.Attachments), len(b.Attachments))
			continue
		}
		for i := range a.Attachments {
			if a.Attachments[i].SHA256 != b.Attachments[i].SHA256 {
				t.Errorf("%s: attachment %d differs", name, i)
			}
		}
		if len(a.Links) != len(b.Links) || a.StructureHash != b.StructureHash || a.SimHash != b.SimHash {
			t.Errorf("%s: links or fingerprints differ", name)
		}
	}
}
