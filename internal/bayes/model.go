package bayes

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/mailwarden/mailwarden/internal/message"
)

// Config tunes the model. Zero fields take DefaultConfig's values.
type Config struct {
	// MinMessages is how many ham and how many bad (spam+phish) messages must be
	// trained before the model gives an opinion (default 50). The phish/spam
	// split needs as many of each of spam and phish.
	MinMessages int
	// MinKnownTokens is how many of a message's tokens the model must have seen
	// before it gives an opinion on that message (default 10). Structure tokens
	// (shape.go: Message-ID and Date shape, link and body statistics) do not
	// count: every message has them.
	MinKnownTokens int
	// MaxTokens caps the unique tokens taken from one message (default 1500).
	MaxTokens int
	// MaxClues is how many of the most significant tokens are combined (default 150,
	// SpamBayes's max_discriminators).
	MaxClues int
	// MinStrength is how far from 0.5 a token's probability must be to count
	// (default 0.1, SpamBayes's minimum_prob_strength).
	MinStrength float64
	// UnknownStrength and UnknownProb are Robinson's s and x: the weight and value
	// of the prior for rarely seen tokens (defaults 0.45 and 0.5).
	UnknownStrength float64
	UnknownProb     float64
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{MinMessages: 50, MinKnownTokens: 10, MaxTokens: 1500, MaxClues: 150, MinStrength: 0.1, UnknownStrength: 0.45, UnknownProb: 0.5}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.MinMessages == 0 {
		c.MinMessages = d.MinMessages
	}
	if c.MinKnownTokens == 0 {
		c.MinKnownTokens = d.MinKnownTokens
	}
	if c.MaxTokens == 0 {
		c.MaxTokens = d.MaxTokens
	}
	if c.MaxClues == 0 {
		c.MaxClues = d.MaxClues
	}
	if c.MinStrength == 0 {
		c.MinStrength = d.MinStrength
	}
	if c.UnknownStrength == 0 {
		c.UnknownStrength = d.UnknownStrength
	}
	if c.UnknownProb == 0 {
		c.UnknownProb = d.UnknownProb
	}
	return c
}

// counts is a token's in-memory counts.
type counts struct{ ham, spam, phish uint32 }

func (c *counts) add(cl Class, n int) {
	var p *uint32
	switch cl {
	case Ham:
		p = &c.ham
	case Spam:
		p = &c.spam
	case Phish:
		p = &c.phish
	default:
		return
	}
	*p = uint32(max(int64(*p)+int64(n), 0))
}

// Model is one account's content model: counts in memory, written through to
// the store. It is safe for concurrent use; scoring takes a read lock only.
//
// Several nodes sharing one database each keep their own copy: a node sees
// another node's training after Reload.
type Model struct {
	cfg     Config
	store   Store
	account int64

	trainMu sync.Mutex // serialises training (store round trip + memory update)

	mu     sync.RWMutex
	msgs   Counts
	tokens *table
}

// Load reads an account's counts from the store into a new Model.
func Load(ctx context.Context, st Store, account int64, cfg Config) (*Model, error) {
	m := &Model{cfg: cfg.withDefaults(), store: st, account: account}
	if err := m.Reload(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// Reload replaces the in-memory counts with the store's. A store that keeps
// snapshots (SnapshotStore) is read from its current snapshot when there is
// one; otherwise the counts are read token by token and, if no training
// happened meanwhile, saved as the snapshot for the next load.
func (m *Model) Reload(ctx context.Context) error {
	ss, _ := m.store.(SnapshotStore)
	if ss != nil {
		data, err := ss.LoadBayesSnapshot(ctx, m.account)
		if err != nil {
			return fmt.Errorf("bayes: load account %d: %w", m.account, err)
		}
		if data != nil {
			if msgs, toks, err := decodeSnapshot(data); err == nil {
				m.replace(msgs, toks)
				return nil
			}
			// Not a snapshot this version reads: rebuilt below.
		}
	}
	gen := int64(-1)
	if ss != nil {
		g, err := ss.BayesGeneration(ctx, m.account)
		if err != nil {
			return fmt.Errorf("bayes: load account %d: %w", m.account, err)
		}
		gen = g
	}
	toks := newTable(0)
	msgs, err := m.store.LoadBayes(ctx, m.account, func(token string, c Counts) {
		toks.set(hashString(token), counts{ham: clamp32(c.Ham), spam: clamp32(c.Spam), phish: clamp32(c.Phish)})
	})
	if err != nil {
		return fmt.Errorf("bayes: load account %d: %w", m.account, err)
	}
	m.replace(msgs, toks)
	if gen > 0 {
		// The generation is unchanged when no training committed during the
		// read: the counts read are then the model at gen.
		if g, err := ss.BayesGeneration(ctx, m.account); err == nil && g == gen {
			// A snapshot only saves the next load time: the model is loaded
			// even when it cannot be saved (a read-only database, say).
			_ = ss.SaveBayesSnapshot(ctx, m.account, gen, encodeSnapshot(msgs, toks))
		}
	}
	return nil
}

func (m *Model) replace(msgs Counts, toks *table) {
	m.mu.Lock()
	m.msgs, m.tokens = msgs, toks
	m.mu.Unlock()
}

func clamp32(n int64) uint32 {
	return uint32(min(max(n, 0), math.MaxUint32))
}

// Messages returns how many messages of each class are trained.
func (m *Model) Messages() Counts {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.msgs
}

// Train records msg as class c. Training a message again as the class it already
// has changes nothing (changed false); as another class it untrains the old
// class and trains the new one in one store update.
func (m *Model) Train(ctx context.Context, msg *message.Message, c Class) (changed bool, err error) {
	if !c.Valid() {
		return false, fmt.Errorf("%w: %q", ErrClass, c)
	}
	return m.set(ctx, msg, c)
}

// TrainMany records every message as class c in one store update (learning a
// corpus); messages already trained as c are left alone. It returns how many changed.
func (m *Model) TrainMany(ctx context.Context, msgs []*message.Message, c Class) (int, error) {
	if !c.Valid() {
		return 0, fmt.Errorf("%w: %q", ErrClass, c)
	}
	m.trainMu.Lock()
	defer m.trainMu.Unlock()
	for attempt := 0; ; attempt++ {
		var ds []Delta
		seen := map[string]bool{}
		for _, msg := range msgs {
			key := Key(msg.Raw)
			if seen[key] {
				continue
			}
			seen[key] = true
			from, err := m.store.BayesTrainedAs(ctx, m.account, key)
			if err != nil {
				return 0, fmt.Errorf("bayes: trained-as: %w", err)
			}
			if from != c {
				ds = append(ds, Delta{Key: key, From: from, To: c, Tokens: Tokenize(msg, m.cfg.MaxTokens)})
			}
		}
		if len(ds) == 0 {
			return 0, nil
		}
		err := m.store.ApplyBayes(ctx, m.account, ds...)
		if err == nil {
			for _, d := range ds {
				m.apply(d)
			}
			return len(ds), nil
		}
		if attempt >= 2 || !isConflict(err) {
			return 0, fmt.Errorf("bayes: apply: %w", err)
		}
		if err := m.Reload(ctx); err != nil {
			return 0, err
		}
	}
}

// Untrain removes msg from the model if it was trained; changed false otherwise.
func (m *Model) Untrain(ctx context.Context, msg *message.Message) (changed bool, err error) {
	return m.set(ctx, msg, Untrained)
}

// TrainedAs returns what msg is trained as, Untrained if never.
func (m *Model) TrainedAs(ctx context.Context, msg *message.Message) (Class, error) {
	return m.store.BayesTrainedAs(ctx, m.account, Key(msg.Raw))
}

func (m *Model) set(ctx context.Context, msg *message.Message, to Class) (bool, error) {
	key := Key(msg.Raw)
	m.trainMu.Lock()
	defer m.trainMu.Unlock()
	for attempt := 0; ; attempt++ {
		from, err := m.store.BayesTrainedAs(ctx, m.account, key)
		if err != nil {
			return false, fmt.Errorf("bayes: trained-as: %w", err)
		}
		if from == to {
			return false, nil
		}
		d := Delta{Key: key, From: from, To: to, Tokens: Tokenize(msg, m.cfg.MaxTokens)}
		err = m.store.ApplyBayes(ctx, m.account, d)
		if err == nil {
			m.apply(d)
			return true, nil
		}
		if attempt >= 2 || !isConflict(err) {
			return false, fmt.Errorf("bayes: apply: %w", err)
		}
		// Another node trained this message meanwhile: our copy is stale.
		if err := m.Reload(ctx); err != nil {
			return false, err
		}
	}
}

func isConflict(err error) bool { return err != nil && errorsIs(err, ErrConflict) }

// apply updates the in-memory counts as the store did.
func (m *Model) apply(d Delta) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs.Add(d.From, -1)
	m.msgs.Add(d.To, 1)
	for _, tok := range d.Tokens {
		h := hashString(tok)
		c, _ := m.tokens.get(h)
		c.add(d.From, -1)
		c.add(d.To, 1)
		m.tokens.set(h, c)
	}
}

// clue is a significant token during scoring.
type clue struct {
	idx  int32
	prob float64
	dist float64
}

var cluePool = sync.Pool{New: func() any { s := make([]clue, 0, 1024); return &s }}

// Score gives the model's opinion of msg. It reads memory only.
func (m *Model) Score(msg *message.Message) Score {
	t := getTokens(m.cfg.MaxTokens)
	defer t.release()
	t.message(msg)

	cp, sp := cluePool.Get().(*[]clue), cluePool.Get().(*[]clue)
	defer cluePool.Put(cp)
	defer cluePool.Put(sp)
	bad, split := (*cp)[:0], (*sp)[:0]

	m.mu.RLock()
	nham := float64(m.msgs.Ham)
	nspam, nphish := float64(m.msgs.Spam), float64(m.msgs.Phish)
	nbad := nspam + nphish
	minMsgs := float64(m.cfg.MinMessages)
	if nham < minMsgs || nbad < minMsgs {
		m.mu.RUnlock()
		return Score{Spam: -1, Phish: -1, Tokens: len(t.hashes)}
	}
	doSplit := nspam >= minMsgs && nphish >= minMsgs
	s, x := m.cfg.UnknownStrength, m.cfg.UnknownProb
	known, knownContent := 0, 0
	t.counts = m.tokens.getAll(t.hashes, t.counts)
	for i, c := range t.counts {
		if c == (counts{}) {
			continue // unknown token
		}
		known++
		if !t.shape[i] {
			knownContent++
		}
		hr := float64(c.ham) / nham
		br := float64(c.spam+c.phish) / nbad
		if hr+br > 0 {
			p := br / (hr + br)
			n := float64(c.ham + c.spam + c.phish)
			f := (s*x + n*p) / (s + n)
			if d := math.Abs(f - 0.5); d >= m.cfg.MinStrength {
				bad = append(bad, clue{idx: int32(i), prob: f, dist: d})
			}
		}
		if doSplit && c.spam+c.phish > 0 {
			sr := float64(c.spam) / nspam
			pr := float64(c.phish) / nphish
			p := pr / (sr + pr)
			n := float64(c.spam + c.phish)
			f := (s*x + n*p) / (s + n)
			if d := math.Abs(f - 0.5); d >= m.cfg.MinStrength {
				split = append(split, clue{idx: int32(i), prob: f, dist: d})
			}
		}
	}
	m.mu.RUnlock()

	out := Score{Spam: -1, Phish: -1, Tokens: len(t.hashes), Known: known}
	if knownContent < m.cfg.MinKnownTokens { // structure tokens are always known: they prove no familiarity
		*cp, *sp = bad[:0], split[:0]
		return out
	}
	bad = strongest(bad, m.cfg.MaxClues)
	out.Spam = chi2Combine(bad)
	if doSplit {
		out.Phish = chi2Combine(strongest(split, m.cfg.MaxClues))
	}
	for i := 0; i < len(bad) && i < 5; i++ {
		out.Clues = append(out.Clues, Clue{Token: t.text(int(bad[i].idx)), Prob: bad[i].prob})
	}
	*cp, *sp = bad[:0], split[:0]
	return out
}

// strongest sorts clues by distance from 0.5 (then token order, for
// determinism) and keeps the first n. The order is total (idx is unique), so
// selecting the first n and sorting only those gives the same clues in the
// same order as sorting all.
func strongest(c []clue, n int) []clue {
	if n > 0 && len(c) > n {
		selectFirst(c, n-1)
		c = c[:n]
	}
	sortClues(c)
	return c
}

// before reports whether a comes before b: farther from 0.5, then earlier.
func before(a, b *clue) bool {
	return a.dist > b.dist || a.dist == b.dist && a.idx < b.idx
}

// selectFirst reorders c so that c[k] is the element a full sort would put
// there, with every element before it ordered before it.
func selectFirst(c []clue, k int) {
	lo, hi := 0, len(c)-1
	for lo < hi {
		pivotMedian(c, lo, hi)
		store := partition(c, lo, hi)
		switch {
		case store == k:
			return
		case store < k:
			lo = store + 1
		default:
			hi = store - 1
		}
	}
}

// pivotMedian moves the median of c[lo], c[mid], c[hi] to c[hi].
func pivotMedian(c []clue, lo, hi int) {
	mid := lo + (hi-lo)/2
	if before(&c[mid], &c[lo]) {
		c[mid], c[lo] = c[lo], c[mid]
	}
	if before(&c[hi], &c[lo]) {
		c[hi], c[lo] = c[lo], c[hi]
	}
	if before(&c[mid], &c[hi]) {
		c[mid], c[hi] = c[hi], c[mid]
	}
}

// partition splits c[lo:hi+1] around the pivot c[hi] and returns where the
// pivot ends: everything before it is ordered before it.
func partition(c []clue, lo, hi int) int {
	pivot := c[hi]
	store := lo
	for i := lo; i < hi; i++ {
		if before(&c[i], &pivot) {
			c[i], c[store] = c[store], c[i]
			store++
		}
	}
	c[store], c[hi] = c[hi], c[store]
	return store
}

// sortClues sorts c in the order of before: quicksort on the median of three,
// insertion sort for short runs.
func sortClues(c []clue) {
	for len(c) > 12 {
		hi := len(c) - 1
		pivotMedian(c, 0, hi)
		p := partition(c, 0, hi)
		// Recurse into the shorter side, loop on the longer.
		if p < hi-p {
			sortClues(c[:p])
			c = c[p+1:]
		} else {
			sortClues(c[p+1:])
			c = c[:p]
		}
	}
	for i := 1; i < len(c); i++ {
		for j := i; j > 0 && before(&c[j], &c[j-1]); j-- {
			c[j], c[j-1] = c[j-1], c[j]
		}
	}
}

// chi2Combine is Fisher's method as in SpamBayes's chi2_spamprob: S and H are
// the chi-square confidences that the clues are not random under "all ham" and
// "all spam"; the result (S-H+1)/2 is near 1 for spam, near 0 for ham, and
// near 0.5 when the evidence is absent or mixed.
func chi2Combine(c []clue) float64 {
	if len(c) == 0 {
		return 0.5
	}
	var lnS, lnH float64
	for _, x := range c {
		lnS += math.Log(1 - x.prob)
		lnH += math.Log(x.prob)
	}
	n := len(c)
	S := 1 - chi2Q(-2*lnS, 2*n)
	H := 1 - chi2Q(-2*lnH, 2*n)
	return (S - H + 1) / 2
}

// chi2Q is the survival function of the chi-square distribution with v (even)
// degrees of freedom at x2.
func chi2Q(x2 float64, v int) float64 {
	m := x2 / 2
	sum := math.Exp(-m)
	term := sum
	for i := 1; i < v/2; i++ {
		term *= m / float64(i)
		sum += term
	}
	return min(sum, 1)
}
