package detect

import (
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailwarden/mailwarden/internal/message"
)

func allPhrases() []phrase {
	all := []phrase{paymentRe, urgencyRe}
	for _, g := range credentialGroups {
		all = append(all, g.re)
	}
	for _, g := range advanceFeeGroups {
		all = append(all, g.re)
	}
	return append(all, spamPhrases...)
}

func checkPhrases(t *testing.T, text string) {
	t.Helper()
	sc := phraseScanner.scan(text)
	for _, p := range allPhrases() {
		if got, want := p.find(sc), p.FindString(text); got != want {
			t.Fatalf("phrase %d on %q: scan %q, regexp %q", p.id, text, got, want)
		}
	}
}

// The one-pass scan finds exactly what each expression finds on the whole text.
func TestPhraseScanSameMatches(t *testing.T) {
	var frags []string
	for _, p := range allPhrases() {
		frags = append(frags, p.any...)
		frags = append(frags, p.anch.prefixes...)
	}
	frags = append(frags, " ", " ", " ", "\n", "x", "s", "ed", "_", "-", ".", ",", "000", "1", "12", "$", "€", "£", "é", "\xff", "\xe2\x82",
		"gift card", "wire transfer", "urgent", "account has been suspended", "verify your account", "unusual sign-in",
		"password expired", "mailbox is full", "click here to verify", "pending messages are held", "5 million dollars",
		"$1,000,000", "next of kin", "strictly confidential", "10% of the sum", "act now", "100% free", "dear friend",
		"you have been selected", "lowest rates", "remove me from our list", "make $", "change your bank details",
		"payment is overdue", "send the urgent payment", "bitcoin wallet", "within 24 hours", "are you available")
	rng := rand.New(rand.NewSource(1))
	for range 20000 {
		var b strings.Builder
		for range 1 + rng.Intn(12) {
			f := frags[rng.Intn(len(frags))]
			if rng.Intn(4) == 0 && len(f) > 1 {
				f = f[:1+rng.Intn(len(f)-1)]
			}
			b.WriteString(f)
		}
		checkPhrases(t, b.String())
	}
	dir := os.Getenv("MAILWARDEN_CORPUS")
	if dir == "" {
		return
	}
	labels, err := os.ReadFile(filepath.Join(dir, "labels.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(labels)), "\n")[1:] {
		_, path, _ := strings.Cut(line, "\t")
		raw, err := os.ReadFile(filepath.Join(dir, path))
		if err != nil {
			t.Fatal(err)
		}
		checkPhrases(t, lowerText(message.Parse(raw, message.Limits{})))
	}
}
