package detect

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Config is the detector's configuration: one struct, documented defaults
// (DefaultConfig), filled by flags and environment variables in cmd/.
type Config struct {
	Thresholds Thresholds
	// Now is the clock for sender-history ages; nil: time.Now.
	Now func() time.Time
}

// Thresholds are the per-category scores at which a disposition is given. A
// category's score is the sum of its triggers' scores (Verdict.Scores).
//
// The decision (Detector.Detect) in precedence order:
//
//	MALICIOUS  phish score >= MaliciousPhish and either at least MinMaliciousTriggers
//	           distinct phish triggers, or one trigger scoring >= MaliciousPhish alone;
//	           or a blocked sender (policy)
//	SPOOF      spoof score >= Spoof
//	SUSPICIOUS phish score >= SuspiciousPhish
//	SPAM       spam score >= Spam, with at least one signal besides the content
//	           model (the model alone gives BULK: see Spam)
//	BULK       bulk score >= Bulk, or the content model at or above BayesBulk
//	NONE       otherwise
type Thresholds struct {
	// MaliciousPhish is the phish score for MALICIOUS (default 8).
	MaliciousPhish float64
	// MinMaliciousTriggers is how many phish triggers MALICIOUS needs when no
	// single trigger reaches MaliciousPhish by itself (default 2). Each trigger
	// fires at most once per message part it points at (From, Reply-To, links...).
	MinMaliciousTriggers int
	// SuspiciousPhish is the phish score for SUSPICIOUS (default 4).
	SuspiciousPhish float64
	// Spoof is the spoof score for SPOOF (default 5): a DMARC fail under
	// p=quarantine or p=reject, or a protected domain arriving unauthenticated,
	// reaches it alone; SPF/DKIM failures and mismatches alone do not.
	Spoof float64
	// Spam is the spam score for SPAM (default 5): the content model at or above
	// BayesSpam reaches it; the spam wording heuristic only with four or more
	// classic phrases. A spam score reached by the content model alone, with no
	// other spam, phishing or malformation signal, gives BULK instead: word
	// statistics cannot tell a spammer from a legitimate newsletter that reads
	// like one (hard ham), and BULK files it away without calling it spam.
	Spam float64
	// Bulk is the bulk score for BULK (default 3): marketing headers from an ESP with
	// one-click unsubscribe, or list headers with an obscured unsubscribe link.
	Bulk float64
	// BayesSpam is the model probability at or above which bayes_spam (or
	// bayes_phish) fires (default 0.9).
	BayesSpam float64
	// BayesLeanSpam is the model probability at or above which (and below
	// BayesSpam) bayes_lean_spam fires (default 0.6): the model leans spam but is
	// unsure, so it scores half a point under Spam and needs one more spam signal
	// (spam wording, no visible recipients) to make SPAM. Below 0.6 ham and spam
	// overlap too much for that to be safe.
	BayesLeanSpam float64
	// BayesBulk is the model probability at or above which (and below BayesSpam)
	// a message with no spam signal is given BULK rather than NONE (default 0.5,
	// the model's own boundary: "more likely bad than good"). Unsure mail goes to
	// the bulk folder, not the inbox and not the spam quarantine.
	BayesBulk float64
	// BayesHam is the probability at or below which bayes_ham fires, lowering the
	// spam score, and soft phishing triggers are discounted fully (default 0.1).
	// Between BayesHam and BayesBulk (the model leans ham) they are discounted by
	// half (bayes_ham_phish).
	BayesHam float64
	// BayesPhish is the model's phish share (phish vs spam among bad mail) at or
	// above which a bad verdict from the model counts as phishing (default 0.5:
	// the model's own decision boundary, "more likely phish than spam"). A higher
	// value sends more phishing to SPAM; a lower one sends more spam to
	// SUSPICIOUS. Both are caught, but phishing delivered to a spam folder is
	// still clicked, while an advertisement held for review costs an analyst a
	// glance, so ties go to phishing.
	BayesPhish float64
}

// DefaultConfig returns the defaults documented on each field.
func DefaultConfig() Config {
	return Config{Thresholds: Thresholds{
		MaliciousPhish:       8,
		MinMaliciousTriggers: 2,
		SuspiciousPhish:      4,
		Spoof:                5,
		Spam:                 5,
		Bulk:                 3,
		BayesSpam:            0.9,
		BayesLeanSpam:        0.6,
		BayesBulk:            0.5,
		BayesHam:             0.1,
		BayesPhish:           0.5,
	}}
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig().Thresholds
	t := &c.Thresholds
	if t.MaliciousPhish == 0 {
		t.MaliciousPhish = d.MaliciousPhish
	}
	if t.MinMaliciousTriggers == 0 {
		t.MinMaliciousTriggers = d.MinMaliciousTriggers
	}
	if t.SuspiciousPhish == 0 {
		t.SuspiciousPhish = d.SuspiciousPhish
	}
	if t.Spoof == 0 {
		t.Spoof = d.Spoof
	}
	if t.Spam == 0 {
		t.Spam = d.Spam
	}
	if t.Bulk == 0 {
		t.Bulk = d.Bulk
	}
	if t.BayesSpam == 0 {
		t.BayesSpam = d.BayesSpam
	}
	if t.BayesLeanSpam == 0 {
		t.BayesLeanSpam = d.BayesLeanSpam
	}
	if t.BayesBulk == 0 {
		t.BayesBulk = d.BayesBulk
	}
	if t.BayesHam == 0 {
		t.BayesHam = d.BayesHam
	}
	if t.BayesPhish == 0 {
		t.BayesPhish = d.BayesPhish
	}
	return c
}

// fields names each threshold for Set and String (flag and
// environment syntax "spam=5,bulk=3").
func (t *Thresholds) fields() []struct {
	name string
	f    *float64
} {
	return []struct {
		name string
		f    *float64
	}{
		{"malicious", &t.MaliciousPhish}, {"suspicious", &t.SuspiciousPhish}, {"spoof", &t.Spoof},
		{"spam", &t.Spam}, {"bulk", &t.Bulk}, {"bayes-spam", &t.BayesSpam}, {"bayes-lean-spam", &t.BayesLeanSpam},
		{"bayes-bulk", &t.BayesBulk}, {"bayes-ham", &t.BayesHam}, {"bayes-phish", &t.BayesPhish},
	}
}

// String lists every threshold as name=value, comma-separated (the syntax Set reads).
func (t *Thresholds) String() string {
	if t == nil {
		return ""
	}
	parts := []string{fmt.Sprintf("min-malicious-triggers=%d", t.MinMaliciousTriggers)}
	for _, f := range t.fields() {
		parts = append(parts, f.name+"="+strconv.FormatFloat(*f.f, 'g', -1, 64))
	}
	return strings.Join(parts, ",")
}

// Set reads "name=value,..." and changes the thresholds named; the others keep
// their values. Names: malicious, min-malicious-triggers, suspicious, spoof,
// spam, bulk, bayes-spam, bayes-lean-spam, bayes-bulk, bayes-ham, bayes-phish.
// Scores must be positive; probabilities within [0,1].
func (t *Thresholds) Set(s string) error {
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		name, val, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("detect: threshold %q: want name=value", kv)
		}
		name = strings.TrimSpace(name)
		if name == "min-malicious-triggers" {
			n, err := strconv.Atoi(strings.TrimSpace(val))
			if err != nil || n < 1 {
				return fmt.Errorf("detect: threshold %s=%q: want a whole number of at least 1", name, val)
			}
			t.MinMaliciousTriggers = n
			continue
		}
		var dst *float64
		for _, f := range t.fields() {
			if f.name == name {
				dst = f.f
			}
		}
		if dst == nil {
			return fmt.Errorf("detect: unknown threshold %q (known: %s)", name, knownThresholds())
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		probability := strings.HasPrefix(name, "bayes-")
		switch {
		case err != nil || v <= 0:
			return fmt.Errorf("detect: threshold %s=%q: want a number above 0", name, val)
		case probability && v > 1:
			return fmt.Errorf("detect: threshold %s=%q: a probability, at most 1", name, val)
		}
		*dst = v
	}
	return nil
}

func knownThresholds() string {
	var t Thresholds
	names := []string{"min-malicious-triggers"}
	for _, f := range t.fields() {
		names = append(names, f.name)
	}
	return strings.Join(names, ", ")
}

func (c Config) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}
