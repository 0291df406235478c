// Package detect decides a message's disposition from scored verdict triggers:
// authentication results, phishing indicators, bulk signals, the Bayesian content
// model and the account's policies. Every decision carries its triggers.
package detect

// Disposition is the verdict class of a message (DESIGN.md, "Dispositions").
type Disposition string

const (
	Malicious  Disposition = "MALICIOUS"  // several phishing triggers over the malicious threshold
	Suspicious Disposition = "SUSPICIOUS" // phishing indicators below the malicious threshold
	Spoof      Disposition = "SPOOF"      // fails the sender's authentication policy and looks like impersonation
	Spam       Disposition = "SPAM"       // unsolicited commercial mail
	Bulk       Disposition = "BULK"       // graymail: legitimate-looking marketing
	None       Disposition = "NONE"       // clean
)

// Dispositions lists every disposition, most severe first.
var Dispositions = []Disposition{Malicious, Suspicious, Spoof, Spam, Bulk, None}

// ParseDisposition accepts an API value (case-insensitive; "CLEAN" for NONE).
func ParseDisposition(s string) (Disposition, bool) {
	switch upper(s) {
	case "MALICIOUS":
		return Malicious, true
	case "SUSPICIOUS":
		return Suspicious, true
	case "SPOOF":
		return Spoof, true
	case "SPAM":
		return Spam, true
	case "BULK":
		return Bulk, true
	case "NONE", "CLEAN":
		return None, true
	}
	return "", false
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

// Category groups triggers by which disposition they push towards.
type Category string

const (
	CatPhish  Category = "phish"  // counts towards SUSPICIOUS / MALICIOUS
	CatSpoof  Category = "spoof"  // counts towards SPOOF
	CatSpam   Category = "spam"   // counts towards SPAM
	CatBulk   Category = "bulk"   // counts towards BULK
	CatPolicy Category = "policy" // account policy decided (blocked sender, allow)
	CatInfo   Category = "info"   // recorded, no score (malformed input, notes)
)

// Trigger is one reason for a verdict.
type Trigger struct {
	Name     string   `json:"name"`              // stable reason code, e.g. lookalike_domain
	Score    float64  `json:"score"`             // contribution to its category's score
	Detail   string   `json:"detail"`            // human-readable explanation
	Category Category `json:"category"`          // which disposition it pushes towards
	Field    string   `json:"field,omitempty"`   // the part of the message it points at: header name, "body", "link", "attachment"
	Portion  string   `json:"portion,omitempty"` // the exact value pointed at (a URL, a file name, a header value)
}

// Verdict is the result of detection.
type Verdict struct {
	Disposition Disposition          `json:"disposition"`
	Triggers    []Trigger            `json:"triggers"`
	Scores      map[Category]float64 `json:"scores"`
	BayesSpam   float64              `json:"bayes_spam"` // probability from the content model, -1 when it had too little evidence
}
