package web

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/mailwarden/mailwarden/internal/detect"
	"github.com/mailwarden/mailwarden/internal/store"
)

// dispLabels are the console's names of dispositions (DESIGN.md).
var dispLabels = map[string]string{
	"MALICIOUS": "Malicious", "SUSPICIOUS": "Suspicious", "SPOOF": "Spoof",
	"SPAM": "Spam", "BULK": "Bulk", "NONE": "Clean",
}

func dispLabel(d string) string {
	if l, ok := dispLabels[d]; ok {
		return l
	}
	if d == "" {
		return "—"
	}
	return d
}

func dispClass(d string) string {
	if _, ok := dispLabels[d]; ok {
		return "badge d-" + strings.ToLower(d)
	}
	return "badge d-unknown"
}

// dispositionOption is one disposition for pickers.
type dispositionOption struct{ Value, Label string }

func dispositionOptions() []dispositionOption {
	var out []dispositionOption
	for _, d := range detect.Dispositions {
		out = append(out, dispositionOption{string(d), dispLabel(string(d))})
	}
	return out
}

func stateLabel(m store.Message) string {
	if m.IsQuarantined {
		return "Quarantined"
	}
	switch m.DeliveryStatus {
	case "":
		return "—"
	case store.StatusJournaled:
		return "Journaled"
	}
	return strings.ToUpper(m.DeliveryStatus[:1]) + m.DeliveryStatus[1:]
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func fmtSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// defang makes a URL unclickable and unmistakable as text: hxxp, [.] in the host.
func defang(u string) string {
	r := strings.NewReplacer("http://", "hxxp://", "https://", "hxxps://", "HTTP://", "hxxp://", "HTTPS://", "hxxps://")
	u = r.Replace(u)
	if i := strings.Index(u, "://"); i >= 0 {
		rest := u[i+3:]
		host, path, _ := strings.Cut(rest, "/")
		host = strings.ReplaceAll(host, ".", "[.]")
		if path != "" || strings.Contains(rest, "/") {
			host += "/" + path
		}
		u = u[:i+3] + host
	}
	return u
}

var funcs = template.FuncMap{
	"dispLabel": dispLabel,
	"dispClass": dispClass,
	"time":      fmtTime,
	"size":      fmtSize,
	"join":      strings.Join,
	"defang":    defang,
	"lower":     strings.ToLower,
	"add":       func(a, b int) int { return a + b },
	"sub":       func(a, b int) int { return a - b },
	"pct": func(a, b float64) string {
		if b == 0 {
			return "0"
		}
		return fmt.Sprintf("%.1f", 100*a/b)
	},
	"score": func(f float64) string { return fmt.Sprintf("%.2f", f) },
	"deleteArgs": func(kind string, id int64, csrf string, admin bool) map[string]any {
		return map[string]any{"Kind": kind, "ID": id, "CSRF": csrf, "Admin": admin}
	},
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"ok": false, "error": msg})
}
