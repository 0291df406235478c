package preview

import (
	"bytes"
	"image/png"
	"strings"
	"testing"

	"github.com/mailwarden/mailwarden/internal/message"
)

func TestRender(t *testing.T) {
	raw := "From: Bank <x@bank.test>\r\nTo: bob@corp.test\r\nSubject: verify\r\nContent-Type: text/html\r\n\r\n" +
		"<script>alert(1)</script><p>Click <a href=\"https://evil.test/login\">here</a> now " + strings.Repeat("word ", 400) + "</p><img src=\"https://tracker.test/p.gif\">"
	m := message.Parse([]byte(raw), message.Limits{})
	lines := Lines(m)
	joined := strings.Join(lines, "\n")
	if strings.Contains(joined, "https://evil.test") || strings.Contains(joined, "alert(1)") {
		t.Errorf("preview shows a live link or script text:\n%s", joined)
	}
	if !strings.Contains(joined, "Subject: verify") {
		t.Errorf("no subject line")
	}
	for _, l := range lines {
		if len([]rune(l)) > Cols {
			t.Errorf("line longer than %d: %q", Cols, l)
		}
	}
	img, err := png.Decode(bytes.NewReader(PNG(lines)))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dy() < len(lines)*15 {
		t.Errorf("image too small: %v", img.Bounds())
	}
	if d := Defang("https://a.example/x"); d != "hxxps://a[.]example/x" {
		t.Errorf("defang: %s", d)
	}
}
