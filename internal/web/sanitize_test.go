package web

import (
	"strings"
	"testing"

	xhtml "golang.org/x/net/html"
)

const hostile = `<html><head><meta http-equiv="refresh" content="0;url=http://evil.example/"><base href="http://evil.example/">
<link rel="stylesheet" href="http://evil.example/x.css"><style>body{background:url(http://evil.example/css)}</style>
<script>window.parent.pwned=1</script></head>
<body onload="pwned=1"><p style="color:red;background:url(http://evil.example/bg)">Hello <b onclick="x()">there</b></p>
<img src="http://evil.example/pixel.gif" onerror="pwned=1" alt="logo">
<img src="cid:part1">
<img src="data:image/png;base64,iVBORw0KGgo=">
<a href="javascript:alert(1)">click</a> <a href=" JaVa&#x09;script:alert(1)">tab</a>
<a href="https://real.evil.example/login">https://bank.example/login</a>
<iframe src="http://evil.example/frame"></iframe><object data="http://evil.example/o"></object><embed src="http://evil.example/e">
<form action="http://evil.example/post"><input name="pw"></form>
<svg><script>pwned=1</script><image href="http://evil.example/svg"/></svg>
<div style="background-image: u\72 l(http://evil.example/esc)">esc</div>
<div style="width: expression(alert(1))">expr</div>
<table background="http://evil.example/tbg"><tr><td>cell</td></tr></table>
<video poster="http://evil.example/poster"></video><picture><source srcset="http://evil.example/src"></picture>
</body></html>`

func TestSanitizeHostile(t *testing.T) {
	out := Sanitize(hostile)
	for _, bad := range []string{"<script", "onload", "onerror", "onclick", "http://evil", "https://real", "javascript:", "<iframe",
		"<object", "<embed", "<form", "<input", "<meta", "<base", "<link", "<style", "expression(", "<svg", "url(", "background=", "srcset", "poster"} {
		if strings.Contains(strings.ToLower(out), strings.ToLower(bad)) {
			t.Errorf("sanitised output contains %q:\n%s", bad, out)
		}
	}
	for _, good := range []string{"Hello", "<b>there</b>", "color:red", "remote image blocked", "hxxp://evil[.]example", "logo",
		"inline part not shown", `<img src="data:image/png;base64,iVBORw0KGgo="`, "script or data link removed",
		"hxxps://real[.]evil[.]example/login", "cell", "esc"} {
		if !strings.Contains(out, good) && !strings.Contains(out, strings.ReplaceAll(good, "remote image blocked", "blocked")) {
			t.Errorf("sanitised output lacks %q:\n%s", good, out)
		}
	}
}

func TestSanitizeStyle(t *testing.T) {
	for in, want := range map[string]string{
		"color: red; font-weight: bold":           "color: red; font-weight: bold",
		"background: url(http://x/y)":             "",
		"background:URL( 'http://x' ); color:red": "color:red",
		`background: u\72l(http://x)`:             "",
		"width: expression(alert(1))":             "",
		"color: red /* x */; position: fixed":     "color: red",
		"@import 'http://x'; color: blue":         "color: blue",
		"background-image: image-set('a.png' 1x)": "",
	} {
		if got := SanitizeStyle(in); got != want {
			t.Errorf("SanitizeStyle(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzSanitize checks the property that matters: whatever the input, the output
// parses to no element or attribute that can run script or fetch anything.
func FuzzSanitize(f *testing.F) {
	f.Add(hostile)
	f.Add(`<a href="http://x">y</a><img src=x onerror=alert(1)>`)
	f.Add(`<p style="background:url(x)">a</p><!--<script>-->`)
	f.Add(`<noscript><p title="</noscript><img src=x onerror=alert(1)>">`)
	f.Fuzz(func(t *testing.T, in string) {
		out := Sanitize(in)
		doc, err := xhtml.Parse(strings.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		var walk func(n *xhtml.Node)
		walk = func(n *xhtml.Node) {
			if n.Type == xhtml.ElementNode {
				switch n.Data {
				case "script", "style", "iframe", "object", "embed", "form", "meta", "link", "base", "svg", "math", "frame", "video", "audio", "source":
					t.Fatalf("element %s survived: %q -> %q", n.Data, in, out)
				}
				for _, a := range n.Attr {
					k := strings.ToLower(a.Key)
					if strings.HasPrefix(k, "on") || k == "href" || k == "srcset" || k == "background" || k == "action" || k == "formaction" {
						t.Fatalf("attribute %s survived: %q -> %q", k, in, out)
					}
					if k == "src" && !dataImage.MatchString(a.Val) {
						t.Fatalf("src %q survived: %q -> %q", a.Val, in, out)
					}
					if k == "style" && strings.Contains(strings.ToLower(a.Val), "url(") {
						t.Fatalf("style url survived: %q -> %q", in, out)
					}
				}
			}
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				walk(c)
			}
		}
		walk(doc)
	})
}

func TestDefang(t *testing.T) {
	for in, want := range map[string]string{
		"https://evil.example/login?a=b": "hxxps://evil[.]example/login?a=b",
		"http://1.2.3.4":                 "hxxp://1[.]2[.]3[.]4",
		"mailto:x@y.z":                   "mailto:x@y.z",
	} {
		if got := defang(in); got != want {
			t.Errorf("defang(%q) = %q, want %q", in, got, want)
		}
	}
}
