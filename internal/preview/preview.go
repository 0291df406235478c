// Package preview renders a message as a PNG picture of its text (what the API's
// investigate/{id}/preview returns as Cloudflare's "screenshot"). Only the
// decoded text is drawn: no HTML is interpreted and nothing remote is fetched, so
// hostile mail cannot do anything while it is being looked at. Links are shown
// defanged (hxxp://, [.]).
package preview

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"strings"
	"unicode"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/mailwarden/mailwarden/internal/message"
)

// Limits of the picture.
const (
	Cols     = 100 // characters per line
	MaxLines = 80  // lines drawn; the rest is cut with a note
	margin   = 12
)

// Defang makes a URL unclickable and unmistakable as text.
func Defang(s string) string {
	r := strings.NewReplacer("http://", "hxxp://", "https://", "hxxps://", "HTTP://", "hxxp://", "HTTPS://", "hxxps://", ".", "[.]")
	return r.Replace(s)
}

// Lines lays out the header summary and body text of m, wrapped at Cols.
func Lines(m *message.Message) []string {
	var out []string
	add := func(s string) {
		for _, l := range wrap(s, Cols) {
			if len(out) < MaxLines {
				out = append(out, l)
			}
		}
	}
	add("From:    " + m.From.Name + " <" + m.From.Addr + ">")
	var to []string
	for _, a := range m.To {
		to = append(to, a.Addr)
	}
	add("To:      " + strings.Join(to, ", "))
	add("Subject: " + m.Subject)
	if !m.Date.IsZero() {
		add("Date:    " + m.Date.UTC().Format("Mon, 2 Jan 2006 15:04 MST"))
	}
	add(strings.Repeat("-", Cols))
	text := m.Text
	for _, l := range m.Links {
		if l.Href != "" {
			text = strings.ReplaceAll(text, l.Href, Defang(l.Href))
		}
	}
	for _, para := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		add(para)
	}
	if len(m.Attachments) > 0 {
		add(strings.Repeat("-", Cols))
		for _, a := range m.Attachments {
			add("Attachment: " + a.Name + " (" + a.SniffedType + ")")
		}
	}
	if len(out) == MaxLines {
		out[MaxLines-1] = "[… cut: the raw source has the rest]"
	}
	return out
}

// wrap splits s into lines of at most n printable characters.
func wrap(s string, n int) []string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\t':
			return ' '
		case !unicode.IsPrint(r):
			return -1
		}
		return r
	}, s)
	if s == "" {
		return []string{""}
	}
	var out []string
	for len([]rune(s)) > n {
		rs := []rune(s)
		cut := n
		for i := n; i > n/2; i-- {
			if rs[i] == ' ' {
				cut = i
				break
			}
		}
		out = append(out, string(rs[:cut]))
		s = strings.TrimLeft(string(rs[cut:]), " ")
	}
	return append(out, s)
}

// PNG draws the lines as a PNG image.
func PNG(lines []string) []byte {
	face := basicfont.Face7x13
	w := margin*2 + Cols*7
	h := margin*2 + len(lines)*15
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	d := &font.Drawer{Dst: img, Src: image.NewUniform(color.RGBA{0x20, 0x20, 0x28, 0xff}), Face: face}
	for i, l := range lines {
		d.Dot = fixed.P(margin, margin+13+i*15)
		// basicfont draws ASCII only; others become '?'.
		d.DrawString(strings.Map(func(r rune) rune {
			if r > 126 {
				return '?'
			}
			return r
		}, l))
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}
