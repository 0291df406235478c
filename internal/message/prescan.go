package message

import (
	"bytes"
)

// scanLevel is one open multipart level.
type scanLevel struct {
	delim   []byte // "--boundary"
	final   []byte // "--boundary--"
	started bool   // first delimiter seen (before it: preamble)
}

// scanResult says how much of a multipart body enmime may parse.
type scanResult struct {
	cut     int  // parse body[:cut]
	tooDeep bool // cut because nesting went beyond the depth budget
	tooMany bool // cut because the part count went beyond the part budget
	// leaves are the content ranges of the non-multipart parts, in order:
	// body[l[0]:l[1]] is what enmime will read as that part's content.
	leaves [][2]int
	// inserts are closing delimiters added where enmime would otherwise find a
	// level unterminated: its run time grows exponentially with the number of
	// nested levels left open (at the end of input, or closed by an outer
	// level's delimiter).
	inserts  []insert
	unclosed int // levels the input left open
}

// insert is text put into enmime's input before body[pos].
type insert struct {
	pos  int
	text string
}

// closeLevels returns the terminator lines of stack[from:], innermost first. A
// terminator an outer level would take as its own delimiter (same or
// confusable boundary) is left out: such a level never gets any data anyway.
func closeLevels(stack []scanLevel, from int) string {
	var b []byte
	for i := len(stack) - 1; i >= from; i-- {
		line := append(append([]byte(nil), stack[i].final...), '\r', '\n')
		outer := false
		for _, o := range stack[:i] {
			if rest, ok := bytes.CutPrefix(line, o.delim); ok && (bytes.HasPrefix(rest, []byte("--")) || isSpace(rest[0])) {
				outer = true
				break
			}
		}
		if !outer {
			b = append(b, line...)
		}
	}
	return string(b)
}

// prescan follows the multipart structure of body the way enmime will (RFC 2046
// section 5.1.1 boundaries, with enmime's tolerance: a delimiter line starts with
// "--boundary" followed by white space, a preamble delimiter may appear anywhere in
// its line, a part with a boundary parameter that is not text/plain or text/html
// is a container) and returns where parsing must stop so that no more than
// maxDepth container levels and maxParts parts are created.
//
// It only looks at line starts and part headers, so it costs one pass over the lines.
func prescan(ctRaw string, body []byte, maxDepth, maxParts int) (res scanResult) {
	res = scanResult{cut: len(body)}
	if maxDepth < 1 {
		res.cut, res.tooDeep = 0, true
		return res
	}
	_, params, _ := parseMediaType(ctRaw)
	stack := []scanLevel{newScanLevel(params["boundary"])}
	parts := 0
	pos := 0
	leaf := -1 // start of the content of the leaf being read
	closeLeaf := func(end int) {
		if leaf < 0 {
			return
		}
		if end < len(body) { // the line break before a delimiter is not content
			if end > leaf && body[end-1] == '\n' {
				end--
				if end > leaf && body[end-1] == '\r' {
					end--
				}
			}
		}
		if end > leaf {
			res.leaves = append(res.leaves, [2]int{leaf, end})
		}
		leaf = -1
	}
	defer func() {
		if leaf >= 0 {
			closeLeaf(res.cut)
		}
		if len(stack) == 0 {
			return
		}
		if res.cut < len(body) {
			res.inserts = append(res.inserts, insert{res.cut, closeLevels(stack, 0)})
		} else {
			res.unclosed += len(stack)
			res.inserts = append(res.inserts, insert{len(body), "\r\n" + closeLevels(stack, 0)})
		}
	}()
	for pos < len(body) {
		lineStart := pos
		line := body[pos:]
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line = line[:i+1]
		}
		pos += len(line)
		if len(line) < 2 {
			continue
		}
		// Which level does this line delimit? Outer levels see the data first.
		hit, final := -1, false
		for li := range stack {
			lv := &stack[li]
			if !lv.started && li == len(stack)-1 {
				if bytes.Contains(line, lv.final) {
					hit, final = li, true
					break
				}
				if j := bytes.Index(line, lv.delim); j >= 0 && j+len(lv.delim) < len(line) && isSpace(line[j+len(lv.delim)]) {
					hit = li
					break
				}
				continue
			}
			if line[0] != '-' || line[1] != '-' || !bytes.HasPrefix(line, lv.delim) {
				continue
			}
			rest := line[len(lv.delim):]
			if bytes.HasPrefix(rest, []byte("--")) {
				hit, final = li, true
				break
			}
			if len(rest) > 0 && isSpace(rest[0]) {
				hit = li
				break
			}
		}
		if hit < 0 {
			continue
		}
		closeLeaf(lineStart)
		if hit < len(stack)-1 {
			res.unclosed += len(stack) - 1 - hit
			res.inserts = append(res.inserts, insert{lineStart, closeLevels(stack, hit+1)})
		}
		if final {
			stack = stack[:hit+1]
			stack[hit].started = true
			// The level is finished; what follows is its epilogue, read by the
			// enclosing level. A finished root level ends the scan.
			if hit == 0 {
				stack = nil
				return res
			}
			stack = stack[:hit]
			continue
		}
		stack = stack[:hit+1]
		stack[hit].started = true
		parts++
		if parts > maxParts {
			res.cut, res.tooMany = lineStart, true
			return res
		}
		// Part header: up to a blank line or a delimiter of an open level.
		ct, next, blank := scanPartHeader(body, pos, stack)
		pos = next
		mt, params, err := parseMediaType(ct)
		if ct == "" || err != nil || params["boundary"] == "" || mt == "text/plain" || mt == "text/html" {
			if blank {
				leaf = pos
			}
			continue
		}
		if len(stack) >= maxDepth {
			res.cut, res.tooDeep = lineStart, true
			return res
		}
		stack = append(stack, newScanLevel(params["boundary"]))
	}
	return res
}

// scanPartHeader reads the header block starting at pos and returns the first
// Content-Type value, the offset after the header and whether a blank line ended
// it. It stops before a line that delimits an open level.
func scanPartHeader(body []byte, pos int, stack []scanLevel) (string, int, bool) {
	var ct []byte
	inCT, found := false, false
	for pos < len(body) {
		line := body[pos:]
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line = line[:i+1]
		}
		for _, lv := range stack {
			if bytes.HasPrefix(line, lv.delim) {
				return string(ct), pos, false
			}
		}
		pos += len(line)
		t := bytes.TrimRight(line, "\r\n")
		if len(t) == 0 {
			return string(ct), pos, true
		}
		if isSpace(t[0]) || bytes.IndexByte(t, ':') < 0 {
			if inCT {
				ct = append(ct, ' ')
				ct = append(ct, bytes.TrimSpace(t)...)
			}
			continue
		}
		inCT = false
		colon := bytes.IndexByte(t, ':')
		if !found && bytes.EqualFold(bytes.TrimSpace(t[:colon]), []byte("Content-Type")) {
			found, inCT = true, true
			ct = append(ct, bytes.TrimSpace(t[colon+1:])...)
		}
	}
	return string(ct), pos, false
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}

func newScanLevel(boundary string) scanLevel {
	f := []byte("--" + boundary + "--")
	return scanLevel{delim: f[:len(f)-2], final: f}
}
