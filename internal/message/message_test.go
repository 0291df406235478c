package message

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/rand"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// crlf turns the LF line endings of a test literal into CRLF.
func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

func hasProblem(m *Message, code string) bool {
	for _, p := range m.Problems {
		if p.Code == code {
			return true
		}
	}
	return false
}

func findLink(m *Message, href string) (Link, bool) {
	for _, l := range m.Links {
		if l.Href == href {
			return l, true
		}
	}
	return Link{}, false
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func b64Lines(b []byte) string {
	s := base64.StdEncoding.EncodeToString(b)
	var out strings.Builder
	for len(s) > 76 {
		out.WriteString(s[:76] + "\n")
		s = s[76:]
	}
	return out.String() + s + "\n"
}

func TestParseMessages(t *testing.T) {
	pdf := []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
	exe := append([]byte("MZ\x90\x00\x03\x00\x00\x00"), bytes.Repeat([]byte{0}, 120)...)
	docm := []byte("PK\x03\x04....[Content_Types].xml....word/document.xml....word/vbaProject.bin....")

	tests := []struct {
		name  string
		raw   []byte
		check func(t *testing.T, m *Message)
	}{
		{"alternative", crlf(`From: "Alice Example" <alice@Example.COM>
To: bob@example.org, "Carol" <carol@EXAMPLE.net>
Subject: Hello
Message-ID: <abc@example.com>
Date: Mon, 2 Jan 2006 15:04:05 -0700
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"

preamble
--b1
Content-Type: text/plain; charset=utf-8

Plain body see https://plain.example.com/x now.
--b1
Content-Type: text/html; charset=utf-8

<html><body><p>Hi <a href="https://Html.Example.com/a?b=1&amp;c=2">click here</a></p><script>var x="http://script.example"</script></body></html>
--b1--
`), func(t *testing.T, m *Message) {
			if m.From != (Address{Name: "Alice Example", Addr: "alice@example.com"}) {
				t.Errorf("From = %+v", m.From)
			}
			if len(m.To) != 2 || m.To[1].Addr != "carol@example.net" {
				t.Errorf("To = %+v", m.To)
			}
			if m.MessageID != "abc@example.com" || m.Subject != "Hello" {
				t.Errorf("MessageID %q Subject %q", m.MessageID, m.Subject)
			}
			if want := time.Date(2006, 1, 2, 22, 4, 5, 0, time.UTC); !m.Date.Equal(want) {
				t.Errorf("Date = %v", m.Date)
			}
			if !strings.Contains(m.Text, "Plain body") || !strings.Contains(m.HTML, "<a href") {
				t.Errorf("Text %q HTML %q", m.Text, m.HTML)
			}
			l, ok := findLink(m, "https://Html.Example.com/a?b=1&c=2")
			if !ok || l.Text != "click here" || l.Host != "html.example.com" || l.Source != "html" || l.Hidden {
				t.Errorf("html link %+v %v in %+v", l, ok, m.Links)
			}
			if l, ok := findLink(m, "https://plain.example.com/x"); !ok || l.Source != "text" {
				t.Errorf("text link %+v", m.Links)
			}
			if _, ok := findLink(m, "http://script.example"); ok {
				t.Error("URL inside <script> recorded")
			}
			if len(m.Attachments) != 0 || len(m.Problems) != 0 {
				t.Errorf("attachments %v problems %v", m.Attachments, m.Problems)
			}
		}},
		{"attachments", crlf(`From: a@example.com
Subject: files
Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: text/plain

see attached
--outer
Content-Type: application/pdf; name="r.pdf"
Content-Disposition: attachment; filename="report.pdf"
Content-Transfer-Encoding: base64

` + b64Lines(pdf) + `--outer
Content-Type: application/octet-stream; name="=?utf-8?q?inv=C3=B6ice.exe?="
Content-Transfer-Encoding: base64

` + b64Lines(exe) + `--outer
Content-Type: application/octet-stream
Content-Disposition: attachment; filename=doc.docm
Content-Transfer-Encoding: base64

` + b64Lines(docm) + `--outer--
`), func(t *testing.T, m *Message) {
			if len(m.Attachments) != 3 {
				t.Fatalf("attachments: %+v", m.Attachments)
			}
			want := []struct {
				name, sniff string
				data        []byte
			}{
				{"report.pdf", "application/pdf", pdf},
				{"invöice.exe", "application/vnd.microsoft.portable-executable", exe},
				{"doc.docm", "application/vnd.ms-word.document.macroEnabled.12", docm},
			}
			for i, w := range want {
				a := m.Attachments[i]
				if a.Name != w.name || a.SniffedType != w.sniff || a.SHA256 != sha256Hex(w.data) || a.Size != int64(len(w.data)) || !bytes.Equal(a.Data, w.data) {
					t.Errorf("attachment %d = %q %q %s %d", i, a.Name, a.SniffedType, a.SHA256, a.Size)
				}
			}
			if m.Attachments[0].ContentType != "application/pdf" {
				t.Errorf("declared type %q", m.Attachments[0].ContentType)
			}
			if m.Text != "see attached" {
				t.Errorf("Text %q", m.Text)
			}
		}},
		{"base64 and quoted-printable bodies", crlf(`From: a@example.com
Content-Type: multipart/alternative; boundary=x

--x
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Caf=E9 cr=E8me, soft=
 break =3D done
--x
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64

` + b64Lines([]byte("<p>Grüße <a href=\"http://b64.example/\">b64</a></p>")) + `--x--
`), func(t *testing.T, m *Message) {
			if m.Text != "Café crème, soft break = done" {
				t.Errorf("Text %q", m.Text)
			}
			if !strings.Contains(m.HTML, "Grüße") {
				t.Errorf("HTML %q", m.HTML)
			}
			if _, ok := findLink(m, "http://b64.example/"); !ok {
				t.Errorf("links %+v", m.Links)
			}
		}},
		{"RFC 2047 headers", crlf(`From: =?ISO-8859-1?Q?Andr=E9?= <andre@example.com>
Subject: =?UTF-8?B?w5xiZXJ3ZWlzdW5n?= =?UTF-8?Q?_f=C3=BCr_Sie?=
X-Raw: caf` + "\xe9" + `

body
`), func(t *testing.T, m *Message) {
			if m.Subject != "Überweisung für Sie" {
				t.Errorf("Subject %q", m.Subject)
			}
			if m.From.Name != "André" || m.From.Addr != "andre@example.com" {
				t.Errorf("From %+v", m.From)
			}
			if m.Header("x-raw") != "café" || !hasProblem(m, ProblemInvalidUTF8) {
				t.Errorf("X-Raw %q problems %v", m.Header("x-raw"), m.Problems)
			}
		}},
		{"hidden and image links", crlf(`From: a@example.com
Content-Type: text/html

<div style="display: none"><p><a href="http://hidden1.example/">unsubscribe</a></p></div>
<a href="http://tiny.example/" style="font-size:1px">tiny</a>
<a href="http://same.example/" style="color:#FFF; background-color: white">same</a>
<a href="http://shown.example/" style="font-size:12px;color:#000">shown</a>
<a href="http://img.example/"><img src="x.png" alt="Buy"></a>
<a href="#top">top</a>
<area href="http://area.example/" alt="map">
<form action="https://form.example/post"></form>
<p>visit http://bare.example/path today</p>
`), func(t *testing.T, m *Message) {
			for href, hidden := range map[string]bool{
				"http://hidden1.example/": true, "http://tiny.example/": true,
				"http://same.example/": true, "http://shown.example/": false,
			} {
				if l, ok := findLink(m, href); !ok || l.Hidden != hidden {
					t.Errorf("%s: %+v found %v", href, l, ok)
				}
			}
			if l, ok := findLink(m, "http://img.example/"); !ok || !l.Image || l.Text != "Buy" {
				t.Errorf("image link %+v", l)
			}
			for _, h := range []string{"http://area.example/", "https://form.example/post", "http://bare.example/path"} {
				if _, ok := findLink(m, h); !ok {
					t.Errorf("%s missing from %+v", h, m.Links)
				}
			}
			if _, ok := findLink(m, "#top"); ok {
				t.Error("in-page anchor recorded")
			}
			if !strings.Contains(m.Text, "visit http://bare.example/path today") || strings.Contains(m.Text, "<") {
				t.Errorf("derived Text %q", m.Text)
			}
		}},
		{"nested rfc822", crlf(`From: outer@example.com
Subject: fwd
Content-Type: multipart/mixed; boundary=o

--o
Content-Type: text/plain

forwarded
--o
Content-Type: message/rfc822

From: inner@example.net
Subject: inner
Content-Type: multipart/mixed; boundary=i

--i
Content-Type: text/html

<a href="https://inner.example/login">login</a>
--i
Content-Type: application/zip; name=a.zip
Content-Transfer-Encoding: base64

UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==
--i--
--o--
`), func(t *testing.T, m *Message) {
			if m.Subject != "fwd" || m.From.Addr != "outer@example.com" || m.Text != "forwarded" {
				t.Errorf("outer %q %+v %q", m.Subject, m.From, m.Text)
			}
			if len(m.Attachments) != 2 || m.Attachments[0].ContentType != "message/rfc822" ||
				m.Attachments[1].Name != "a.zip" || m.Attachments[1].SniffedType != "application/zip" {
				t.Fatalf("attachments %+v", m.Attachments)
			}
			if l, ok := findLink(m, "https://inner.example/login"); !ok || l.Source != "attachment" || l.Text != "login" {
				t.Errorf("inner link %+v", m.Links)
			}
		}},
		{"bare LF", []byte("From: lf@example.com\nSubject: lf\nContent-Type: multipart/mixed; boundary=z\n\n--z\nContent-Type: text/plain\n\nline one\nline two\n--z\nContent-Type: image/gif\nContent-Transfer-Encoding: base64\n\nR0lGODlhAQABAAAAACw=\n--z--\n"),
			func(t *testing.T, m *Message) {
				if m.Subject != "lf" || m.Text != "line one\nline two" || len(m.Attachments) != 1 || m.Attachments[0].SniffedType != "image/gif" {
					t.Errorf("%q %q %+v", m.Subject, m.Text, m.Attachments)
				}
			}},
		{"no headers", []byte("Just a line of text\nand another http://x.example/\n"), func(t *testing.T, m *Message) {
			if len(m.Headers) != 0 || !strings.HasPrefix(m.Text, "Just a line") || !hasProblem(m, ProblemNoFrom) {
				t.Errorf("headers %v text %q problems %v", m.Headers, m.Text, m.Problems)
			}
			if _, ok := findLink(m, "http://x.example/"); !ok {
				t.Errorf("links %v", m.Links)
			}
		}},
		{"empty", nil, func(t *testing.T, m *Message) {
			if !hasProblem(m, ProblemNoFrom) || m.Text != "" || m.Links == nil || m.Attachments == nil {
				t.Errorf("%+v", m)
			}
		}},
		{"mbox From line", crlf("From someone@example.com Thu Aug 22 12:36:23 2002\nFrom: real@example.com\n\nhi\n"), func(t *testing.T, m *Message) {
			if m.From.Addr != "real@example.com" || m.Text != "hi\r\n" {
				t.Errorf("From %+v Text %q", m.From, m.Text)
			}
		}},
		{"invalid UTF-8 body", crlf("From: a@example.com\nContent-Type: text/plain; charset=utf-8\n\nbad \xff\xfe bytes caf\xe9\n"), func(t *testing.T, m *Message) {
			if !hasProblem(m, ProblemInvalidUTF8) || !utf8.ValidString(m.Text) || !strings.Contains(m.Text, "café") {
				t.Errorf("Text %q problems %v", m.Text, m.Problems)
			}
		}},
		{"windows-1252 body", crlf("From: a@example.com\nContent-Type: text/plain; charset=windows-1252\n\n\x93quoted\x94 \x80 5\n"), func(t *testing.T, m *Message) {
			if m.Text != "“quoted” € 5\r\n" || hasProblem(m, ProblemInvalidUTF8) {
				t.Errorf("Text %q problems %v", m.Text, m.Problems)
			}
		}},
		{"malformed From", crlf("From: Microsoft account team ,_<no-reply@Access-Security.COM>\nReply-To: <<x@y.example\n\nhi\n"), func(t *testing.T, m *Message) {
			if m.From.Addr != "no-reply@access-security.com" || !strings.HasPrefix(m.From.Name, "Microsoft account team") {
				t.Errorf("From %+v", m.From)
			}
			if !hasProblem(m, ProblemBadHeader) || hasProblem(m, ProblemNoFrom) {
				t.Errorf("problems %v", m.Problems)
			}
		}},
		{"Bcc-only placeholders", crlf("From: a@example.com\nTo: <Undisclosed-Recipient:;>\nCc: undisclosed-recipients: ;\n\nhi\n"), func(t *testing.T, m *Message) {
			if len(m.To) != 0 || len(m.Cc) != 0 || hasProblem(m, ProblemBadHeader) {
				t.Errorf("To %v Cc %v problems %v", m.To, m.Cc, m.Problems)
			}
		}},
		{"bracketed group is only a placeholder when empty", crlf("From: a@example.com\nTo: <team:b@example.com;>\n\nhi\n"), func(t *testing.T, m *Message) {
			if !hasProblem(m, ProblemBadHeader) {
				t.Errorf("To %v problems %v", m.To, m.Problems)
			}
		}},
		{"unclosed boundary", crlf("From: a@example.com\nContent-Type: multipart/mixed; boundary=q\n\n--q\nContent-Type: text/plain\n\nnever closed\n"), func(t *testing.T, m *Message) {
			if m.Text != "never closed\r\n" || !hasProblem(m, ProblemMalformedMIME) {
				t.Errorf("Text %q problems %v", m.Text, m.Problems)
			}
		}},
		{"IDN link host", crlf("From: a@example.com\n\nsee https://bücher.example/x and mailto:Info@Shop.EXAMPLE\n"), func(t *testing.T, m *Message) {
			if l, ok := findLink(m, "https://bücher.example/x"); !ok || l.Host != "xn--bcher-kva.example" {
				t.Errorf("links %+v", m.Links)
			}
			if l, ok := findLink(m, "mailto:Info@Shop.EXAMPLE"); !ok || l.Host != "shop.example" {
				t.Errorf("links %+v", m.Links)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Parse(tt.raw, Limits{})
			checkInvariants(t, tt.name, tt.raw, m)
			if hasProblem(m, ProblemInternal) {
				t.Fatalf("internal error: %v", m.Problems)
			}
			tt.check(t, m)
		})
	}
}

func TestLimits(t *testing.T) {
	t.Run("truncated", func(t *testing.T) {
		raw := crlf("From: a@example.com\nSubject: big\n\n" + strings.Repeat("word ", 1000) + "\n")
		m := Parse(raw, Limits{MaxSize: 200})
		checkInvariants(t, "truncated", raw, m)
		if !hasProblem(m, ProblemTruncated) || len(m.Raw) != len(raw) || len(m.Text) > 200 || m.Subject != "big" {
			t.Errorf("problems %v raw %d text %d", m.Problems, len(m.Raw), len(m.Text))
		}
	})
	t.Run("deep nesting", func(t *testing.T) {
		const depth = 10000
		var b strings.Builder
		b.WriteString("From: a@example.com\r\nContent-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n")
		for i := 1; i < depth; i++ {
			fmt.Fprintf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n", i-1, i)
		}
		fmt.Fprintf(&b, "--b%d\r\nContent-Type: text/plain\r\n\r\ndeep\r\n", depth-1)
		for i := depth - 1; i >= 0; i-- {
			fmt.Fprintf(&b, "--b%d--\r\n", i)
		}
		raw := []byte(b.String())
		start := time.Now()
		m := Parse(raw, Limits{})
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %v", d)
		}
		checkInvariants(t, "deep", raw, m)
		if !hasProblem(m, ProblemTooDeep) {
			t.Errorf("problems %v", m.Problems)
		}
		same := Parse(raw, Limits{})
		if same.StructureHash != m.StructureHash {
			t.Error("StructureHash not deterministic")
		}
	})
	t.Run("unterminated nesting", func(t *testing.T) {
		// enmime's time doubles per open level; the pre-scan closes them.
		for _, closeRoot := range []bool{false, true} {
			var b strings.Builder
			b.WriteString("From: a@example.com\r\nContent-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n")
			for i := 1; i < 30; i++ {
				fmt.Fprintf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n", i-1, i)
			}
			b.WriteString("--b29\r\nContent-Type: text/plain\r\n\r\ninner text")
			if closeRoot {
				b.WriteString("\r\n--b0--\r\n")
			}
			start := time.Now()
			m := Parse([]byte(b.String()), Limits{})
			if d := time.Since(start); d > time.Second {
				t.Errorf("closeRoot=%v: took %v", closeRoot, d)
			}
			if m.Text != "inner text" || !hasProblem(m, ProblemMalformedMIME) {
				t.Errorf("closeRoot=%v: Text %q problems %v", closeRoot, m.Text, m.Problems)
			}
		}
	})
	t.Run("deep rfc822", func(t *testing.T) {
		inner := "From: x@example.com\r\n\r\ninnermost\r\n"
		for range 100 {
			inner = "From: x@example.com\r\nContent-Type: message/rfc822\r\n\r\n" + inner
		}
		m := Parse([]byte(inner), Limits{})
		if !hasProblem(m, ProblemTooDeep) || len(m.Attachments) > DefaultLimits.MaxDepth+1 {
			t.Errorf("problems %v attachments %d", m.Problems, len(m.Attachments))
		}
	})
	t.Run("too many parts", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("From: a@example.com\r\nContent-Type: multipart/mixed; boundary=p\r\n\r\n")
		for range 5000 {
			b.WriteString("--p\r\nContent-Type: application/octet-stream\r\n\r\nx\r\n")
		}
		b.WriteString("--p--\r\n")
		m := Parse([]byte(b.String()), Limits{MaxParts: 100})
		if !hasProblem(m, ProblemTooManyParts) || len(m.Attachments) > 100 || len(m.Attachments) < 90 {
			t.Errorf("problems %v attachments %d", m.Problems, len(m.Attachments))
		}
	})
}

func TestEnvelope(t *testing.T) {
	tests := []struct {
		name, received, helo, ip string
	}{
		{"postfix", "from mail.sender.example (mail.sender.example [192.0.2.10]) by mx.example.org (Postfix) with ESMTPS id 4F1; Mon, 1 Jan 2024 00:00:00 +0000", "mail.sender.example", "192.0.2.10"},
		{"postfix unknown", "from HeloName.example (unknown [198.51.100.7]) by mx.example.org (Postfix) with ESMTP id X", "heloname.example", "198.51.100.7"},
		{"sendmail", "from helo.example (rdns.example [203.0.113.5] (may be forged)) by mx.example.org (8.12.8/8.12.8) with ESMTP id h1", "helo.example", "203.0.113.5"},
		{"exim", "from rdns.example ([203.0.113.9]:51234 helo=Exim.Helo.example) by mx.example.org with esmtps (Exim 4.96) id 1r", "exim.helo.example", "203.0.113.9"},
		{"exim no rdns", "from [203.0.113.8] (helo=bare.example) by mx.example.org with smtp (Exim 4.96)", "bare.example", "203.0.113.8"},
		{"qmail", "from unknown (HELO qmail.example) (198.51.100.20) by mx.example.org with SMTP; 1 Jan 2024", "qmail.example", "198.51.100.20"},
		{"exchange", "from EUR05-DB8-obe.outbound.protection.outlook.com (40.92.1.2) by mx.example.org (10.0.0.1) with Microsoft SMTP Server (version=TLS1_2) id 15.20", "eur05-db8-obe.outbound.protection.outlook.com", "40.92.1.2"},
		{"gmail", "from mail-sor-f41.google.com (mail-sor-f41.google.com. [209.85.220.41]) by mx.google.com with SMTPS id a1sor; Mon, 1 Jan 2024", "mail-sor-f41.google.com", "209.85.220.41"},
		{"ipv6", "from v6.example (v6.example [IPv6:2001:db8::25]) by mx.example.org (Postfix)", "v6.example", "2001:db8::25"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := crlf("Return-Path: <Bounce@Sender.EXAMPLE>\nReceived: by 2002:a05:6000:1::1 with SMTP id x; Mon, 1 Jan 2024\nReceived: from localhost (localhost [127.0.0.1]) by local.example (Postfix)\nReceived: " + tt.received + "\nReceived: from older.example (older.example [192.0.2.99]) by x.example\nFrom: a@example.com\n\nbody\n")
			e := Parse(raw, Limits{}).Envelope()
			if e.MailFrom != "Bounce@sender.example" || e.Helo != tt.helo || !e.ClientIP.Equal(net.ParseIP(tt.ip)) {
				t.Errorf("got %+v", e)
			}
		})
	}
	e := Parse(crlf("Return-Path: <>\nReceived: from localhost (localhost [127.0.0.1]) by x\nFrom: a@example.com\n\nb\n"), Limits{}).Envelope()
	if e.MailFrom != "" || !e.ClientIP.Equal(net.ParseIP("127.0.0.1")) || e.Helo != "localhost" {
		t.Errorf("null sender / local only: %+v", e)
	}
}

func TestParseDate(t *testing.T) {
	want := time.Date(2005, 7, 1, 17, 4, 50, 0, time.UTC)
	for _, s := range []string{
		"Fri, 1 Jul 2005 19:04:50 +0200",
		"Fri, 1 Jul 2005 19:04:50 +0200 (CEST)",
		"Fri, 1 Jul 2005 19.04.50 +0200",
		"1 Jul 2005 19:04:50 +0200",
		"Fri,1 Jul 2005 19:04:50 +0200",
		"Fri Jul 1 17:04:50 2005",
		"2005-07-01T19:04:50+02:00",
	} {
		if got := parseDate(s); !got.Equal(want) {
			t.Errorf("parseDate(%q) = %v", s, got)
		}
	}
	if !parseDate("not a date").IsZero() {
		t.Error("garbage parsed")
	}
}

func TestSimHash(t *testing.T) {
	campaign := func(name string, n int) []byte {
		return crlf(fmt.Sprintf(`From: billing@pay-secure.example
Subject: Your invoice #%d is overdue
Content-Type: text/html

<p>Dear %s,</p><p>Your account number %d has been suspended because your last payment of $%d.00 failed.
To avoid permanent closure of your account please verify your billing details within 24 hours by
following the secure link below. Our records show that the card ending in %d was declined by your bank.</p>
<p><a href="https://pay-secure.example/verify?id=%d">Verify now</a></p>
<p>Thank you for being a valued customer. Customer Service Team</p>`, n, name, n*7, n%500, n%10000, n))
	}
	a := Parse(campaign("John Smith", 12345), Limits{})
	b := Parse(campaign("Maria Garcia", 98765), Limits{})
	other := Parse(crlf(`From: dev@lists.example
Subject: Re: [PATCH] net: fix queue length accounting in cake

On Tue, the patch below changes how the backlog is computed when the
shaper is disabled. I tested it with flent over a 100 Mbit link and the
latency under load stayed flat, so this looks good to me.
Reviewed-by: Someone
`), Limits{})
	if d := Hamming(a.SimHash, b.SimHash); d > 6 {
		t.Errorf("campaign copies %d bits apart", d)
	}
	if d := Hamming(a.SimHash, other.SimHash); d < 16 {
		t.Errorf("unrelated messages only %d bits apart", d)
	}
	if a.StructureHash != b.StructureHash || a.StructureHash == other.StructureHash || len(a.StructureHash) != 32 {
		t.Errorf("structure hashes %s %s %s", a.StructureHash, b.StructureHash, other.StructureHash)
	}
	if Hamming(0, ^uint64(0)) != 64 || Hamming(5, 5) != 0 {
		t.Error("Hamming")
	}
}

func TestDecodeBase64(t *testing.T) {
	for n := range 200 {
		data := bytes.Repeat([]byte{byte(n), 0xff, 'a'}, n)[:n]
		enc := b64Lines(data)
		if got := decodeBase64([]byte(enc)); !bytes.Equal(got, data) {
			t.Fatalf("n=%d: got %x", n, got)
		}
	}
}

func FuzzParse(f *testing.F) {
	_ = filepath.WalkDir(mimeSuiteDir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, err := os.ReadFile(path); err == nil {
				f.Add(b)
			}
		}
		return nil
	})
	f.Add([]byte(""))
	f.Add(crlf("From: a@example.com\nContent-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: message/rfc822\n\nFrom: b@example.com\nContent-Type: multipart/alternative; boundary=y\n\n--y\nContent-Type: text/html\nContent-Transfer-Encoding: quoted-printable\n\n<a href=3D\"http://x.example\">x</a>\n--y--\n--x\nContent-Transfer-Encoding: base64\n\nTVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAgAAAAA==\n--x--\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		in := bytes.Clone(raw)
		start := time.Now()
		m := Parse(raw, Limits{MaxSize: 1 << 20, MaxDepth: 8, MaxParts: 50})
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("Parse took %v on %d bytes", d, len(raw))
		}
		checkInvariants(t, "fuzz", in, m)
		if hasProblem(m, ProblemInternal) {
			t.Fatalf("internal error: %v", m.Problems)
		}
		if !utf8.ValidString(m.Text) || !utf8.ValidString(m.Subject) {
			t.Errorf("invalid UTF-8 in Text or Subject")
		}
	})
}

// TestSimAcc: the bit-counting accumulator gives the sums of the plain one.
func TestSimAcc(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, n := range []int{0, 1, 254, 255, 256, 1000, 3000} {
		var acc simAcc
		var v [64]int32
		for range n {
			h, w := r.Uint64(), int32(1+r.Intn(2))
			acc.add(h, w)
			for i := range 64 {
				v[i] += (int32(h>>uint(i)&1)*2 - 1) * w
			}
		}
		var want uint64
		for i := range 64 {
			if v[i] > 0 {
				want |= 1 << uint(i)
			}
		}
		if got := acc.sum(); got != want {
			t.Fatalf("%d hashes: %064b, want %064b", n, got, want)
		}
	}
}

func TestCompareLowerASCII(t *testing.T) {
	for _, name := range []string{"", "From", "FROM", "from", "X-Mailer", "x-mailer-2", "Subject", "Cc", "C", "cC", "Zzz", "Ünïcode", "Kelvin\u212a", "\u0130D"} {
		for _, e := range append([]string{"", "a", "zzzz"}, structureHeaders...) {
			want := strings.Compare(e, strings.ToLower(name))
			got := compareLowerASCII(e, name)
			if (got < 0) != (want < 0) || (got == 0) != (want == 0) {
				t.Errorf("compareLowerASCII(%q, %q) = %d, want sign of %d", e, name, got, want)
			}
		}
	}
}
