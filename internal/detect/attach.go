package detect

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"path"
	"strings"

	"github.com/mailwarden/mailwarden/internal/message"
	"golang.org/x/net/html"
)

// Attachment file extensions by risk.
var (
	executableExt = set("exe", "scr", "com", "pif", "bat", "cmd", "vbs", "vbe", "js", "jse", "wsf", "wsh",
		"hta", "msi", "msp", "ps1", "psm1", "jar", "lnk", "cpl", "reg", "dll", "chm", "application",
		"appx", "msix", "appxbundle", "scf", "xll", "gadget", "inf", "sct", "ws", "jnlp", "iqy", "slk", "url", "library-ms", "settingcontent-ms", "elf", "sh", "apk", "app", "command")
	diskImageExt = set("iso", "img", "vhd", "vhdx", "dmg", "udf")
	macroExt     = set("docm", "dotm", "xlsm", "xltm", "xlam", "pptm", "potm", "ppam", "ppsm", "sldm", "xlsb")
	decoyExt     = set("pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "txt", "rtf", "jpg", "jpeg", "png", "gif", "htm", "html", "csv", "mp3", "mp4", "wav", "zip")
	htmlExt      = set("htm", "html", "shtml", "xhtml", "svg", "mht", "mhtml")
)

func set(xs ...string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func ext(name string) string {
	e := strings.ToLower(path.Ext(strings.TrimSpace(name)))
	return strings.TrimPrefix(e, ".")
}

// fileRisk classifies one file name (and its content when known): the trigger
// score and why, 0 when harmless.
func fileRisk(name string, data []byte) (float64, string) {
	lname := strings.ToLower(strings.TrimRight(strings.TrimSpace(name), ". "))
	if strings.ContainsRune(lname, '\u202e') {
		return scoreDoubleExtension, "file name uses right-to-left override to hide its extension"
	}
	e := ext(lname)
	if executableExt[e] {
		base := strings.TrimSuffix(lname, "."+e)
		if pe := ext(base); decoyExt[pe] {
			return scoreDoubleExtension, fmt.Sprintf("double extension: .%s file disguised as .%s", e, pe)
		}
		// "invoice.pdf      .exe": padding to push the real extension out of view.
		if strings.Contains(base, "   ") {
			return scoreDoubleExtension, "extension hidden behind padding"
		}
		return scoreExecutable, "executable or script (." + e + ")"
	}
	if len(data) >= 2 && data[0] == 'M' && data[1] == 'Z' && !executableExt[e] {
		return scoreExecutable, "Windows executable content named ." + e
	}
	if len(data) >= 4 && bytes.Equal(data[:4], []byte("\x7fELF")) {
		return scoreExecutable, "ELF executable content"
	}
	if diskImageExt[e] {
		return scoreDiskImage, "disk image (." + e + ") can carry executables past filters"
	}
	if macroExt[e] {
		return scoreMacroDoc, "macro-enabled document (." + e + ")"
	}
	return 0, ""
}

// zipEntry is one local file header of a ZIP archive.
type zipEntry struct {
	name      string
	encrypted bool
}

// zipEntries walks the local file headers (APPNOTE.TXT 4.3.7) of a ZIP archive:
// names and general-purpose bit 0 (encrypted). It reads at most 1000 entries and
// tolerates truncation; ok is false when data is not a ZIP.
func zipEntries(data []byte) (entries []zipEntry, ok bool) {
	sig := []byte("PK\x03\x04")
	if !bytes.HasPrefix(data, sig) {
		return nil, false
	}
	off := 0
	for len(entries) < 1000 && off+30 <= len(data) {
		if !bytes.Equal(data[off:off+4], sig) {
			i := bytes.Index(data[off:], sig)
			if i < 0 {
				break
			}
			off += i
			continue
		}
		flags := binary.LittleEndian.Uint16(data[off+6:])
		csize := int(binary.LittleEndian.Uint32(data[off+18:]))
		nlen := int(binary.LittleEndian.Uint16(data[off+26:]))
		xlen := int(binary.LittleEndian.Uint16(data[off+28:]))
		if off+30+nlen > len(data) {
			break
		}
		entries = append(entries, zipEntry{name: string(data[off+30 : off+30+nlen]), encrypted: flags&1 != 0})
		next := off + 30 + nlen + xlen
		if flags&8 == 0 && csize > 0 && next+csize <= len(data) {
			next += csize
		} else {
			// Sizes are in a trailing data descriptor: search for the next header.
			i := bytes.Index(data[next:], sig)
			if i < 0 {
				break
			}
			next += i
		}
		if next <= off {
			break
		}
		off = next
	}
	return entries, true
}

// attachmentTriggers: dangerous files, encrypted archives, HTML smuggling and
// credential forms in attachments and the HTML body.
func attachmentTriggers(m *message.Message) []Trigger {
	var out []Trigger
	var dangerScore float64
	var danger Trigger
	note := func(score float64, why, name string) {
		if score > dangerScore {
			dangerScore = score
			danger = Trigger{Name: TrigDangerousAttachment, Score: score, Category: CatPhish, Field: "attachment", Portion: name, Detail: name + ": " + why}
		}
	}
	encrypted := ""
	smuggling := Trigger{}
	form := Trigger{}
	for _, a := range m.Attachments {
		score, why := fileRisk(a.Name, a.Data)
		note(score, why, a.Name)
		e := ext(a.Name)
		if entries, ok := zipEntries(a.Data); ok {
			for _, z := range entries {
				if z.encrypted && encrypted == "" && e != "docx" && e != "xlsx" && e != "pptx" {
					encrypted = a.Name
				}
				if s, w := fileRisk(z.name, nil); s > 0 {
					note(s, "archive holds "+z.name+": "+w, a.Name)
				}
			}
		}
		ct := strings.ToLower(a.ContentType)
		if htmlExt[e] || strings.HasPrefix(ct, "text/html") || strings.HasPrefix(ct, "image/svg") {
			doc := string(a.Data)
			if score, why := activeDocument(doc, e == "svg" || strings.HasPrefix(ct, "image/svg")); score > 0 {
				note(score, why, a.Name)
			}
			if smuggling.Name == "" {
				if t, ok := smugglingTrigger(doc, a.Name); ok {
					smuggling = t
				}
			}
			if form.Name == "" {
				if t, ok := formTrigger(doc, m.From.Domain(), true, a.Name); ok {
					form = t
				}
			}
		}
	}
	if m.HTML != "" {
		if smuggling.Name == "" {
			if t, ok := smugglingTrigger(m.HTML, "body"); ok {
				smuggling = t
			}
		}
		if form.Name == "" {
			if t, ok := formTrigger(m.HTML, m.From.Domain(), false, "body"); ok {
				form = t
			}
		}
	}
	if dangerScore > 0 {
		out = append(out, danger)
	}
	if encrypted != "" {
		out = append(out, Trigger{Name: TrigEncryptedArchive, Score: scoreEncryptedArchive, Category: CatPhish, Field: "attachment", Portion: encrypted,
			Detail: encrypted + ": password-protected archive; its content cannot be scanned"})
	}
	if smuggling.Name != "" {
		out = append(out, smuggling)
	}
	if form.Name != "" {
		out = append(out, form)
	}
	return out
}

// activeDocument: an attached SVG that runs script (an image has no need to),
// or an attached HTML page whose script or refresh sends the browser to
// another page: the redirector attachments that carry credential phishing past
// link scanners (the page opens locally, then leaves for the attacker's site).
func activeDocument(doc string, svg bool) (float64, string) {
	lw := message.LowerForSearch(doc)
	defer lw.Release()
	l := lw.S
	script := strings.Contains(l, "<script") || strings.Contains(l, "javascript:")
	if svg && (script || strings.Contains(l, " onload=") || strings.Contains(l, "<foreignobject")) {
		return scoreExecutable, "SVG image with script or embedded HTML: active content, not a picture"
	}
	if svg {
		return 0, ""
	}
	if strings.Contains(l, "http-equiv=\"refresh\"") || strings.Contains(l, "http-equiv=refresh") || strings.Contains(l, "http-equiv='refresh'") {
		return scoreRedirectAttachment, "HTML attachment that refreshes to another page"
	}
	if script {
		for _, nav := range []string{"location.href", "location.replace", "location.assign", "window.location", "document.location", "top.location", "self.location", "window.open("} {
			if strings.Contains(l, nav) {
				return scoreRedirectAttachment, "HTML attachment whose script sends the browser elsewhere (" + nav + ")"
			}
		}
	}
	return 0, ""
}

// smugglingTrigger: HTML that assembles a file in the browser: Blob / atob /
// msSaveOrOpenBlob / createObjectURL / a download attribute, with a large
// base64 payload.
func smugglingTrigger(doc, where string) (Trigger, bool) {
	if len(doc) < 1500 {
		return Trigger{}, false
	}
	lw := message.LowerForSearch(doc)
	defer lw.Release()
	l := lw.S
	var found []string
	for _, ind := range []string{"new blob(", "atob(", "mssaveoropenblob", "createobjecturl", "download="} {
		if strings.Contains(l, ind) {
			found = append(found, strings.TrimSuffix(ind, "("))
		}
	}
	if len(found) == 0 {
		return Trigger{}, false
	}
	run := longestBase64Run(doc)
	script := strings.Contains(l, "<script")
	if run < 1000 || (!script && len(found) < 2) {
		return Trigger{}, false
	}
	return Trigger{Name: TrigHTMLSmuggling, Score: scoreHTMLSmuggling, Category: CatPhish, Field: "attachment", Portion: where,
		Detail: fmt.Sprintf("%s: HTML builds a file in the browser (%s) from %d bytes of base64", where, strings.Join(found, ", "), run)}, true
}

func longestBase64Run(s string) int {
	best, cur := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=' {
			cur++
			if cur > best {
				best = cur
			}
		} else if c != '\n' && c != '\r' && c != '"' && c != '\'' && c != ' ' {
			cur = 0
		}
	}
	return best
}

// formTrigger finds HTML forms that ask for a password, or an e-mail address,
// and submit off-site (to a domain other than the sender's). In an attachment a
// password field is enough: a local file has no business asking for one.
func formTrigger(doc, fromDomain string, attachment bool, where string) (Trigger, bool) {
	lw := message.LowerForSearch(doc)
	hasForm := strings.Contains(lw.S, "<form") || attachment && strings.Contains(lw.S, "password")
	lw.Release()
	if !hasForm {
		return Trigger{}, false
	}
	z := html.NewTokenizer(strings.NewReader(doc))
	action := ""
	inForm := false
	password, email := false, false
	for n := 0; n < 100000; n++ {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		name, hasAttr := z.TagName()
		switch string(name) {
		case "form":
			inForm = true
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				if string(k) == "action" {
					action = strings.TrimSpace(string(v))
				}
			}
		case "input":
			typ, nm := "", ""
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				switch string(k) {
				case "type":
					typ = strings.ToLower(string(v))
				case "name", "id":
					nm += " " + strings.ToLower(string(v))
				}
			}
			if typ == "password" || strings.Contains(nm, "passw") || strings.Contains(nm, "pwd") {
				password = true
			}
			if typ == "email" || strings.Contains(nm, "email") || strings.Contains(nm, "login") || strings.Contains(nm, "user") {
				email = true
			}
		}
	}
	actHost := ""
	if la := strings.ToLower(action); strings.HasPrefix(la, "http://") || strings.HasPrefix(la, "https://") || strings.HasPrefix(la, "//") {
		actHost = hostOf(strings.TrimPrefix(action, "//"))
		if strings.HasPrefix(action, "//") {
			actHost = hostOf("http:" + action)
		}
	}
	offsite := actHost != "" && registrable(actHost) != registrable(fromDomain)
	switch {
	case password && (offsite || attachment || (inForm && action == "")):
		dest := actHost
		if dest == "" {
			dest = "a script or the page itself"
		}
		return Trigger{Name: TrigCredentialForm, Score: scoreCredentialForm, Category: CatPhish, Field: fieldFor(attachment), Portion: where,
			Detail: fmt.Sprintf("%s: form asks for a password and submits to %s", where, dest)}, true
	case email && inForm && offsite:
		return Trigger{Name: TrigCredentialForm, Score: scoreEmailForm, Category: CatPhish, Field: fieldFor(attachment), Portion: where,
			Detail: fmt.Sprintf("%s: form asks for an e-mail address or user name and submits to %s", where, actHost)}, true
	}
	return Trigger{}, false
}

func fieldFor(attachment bool) string {
	if attachment {
		return "attachment"
	}
	return "body"
}
