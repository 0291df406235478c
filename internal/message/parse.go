package message

import (
	"bytes"
	"fmt"
	"io"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/jhillyerd/enmime/v2"
	"github.com/jhillyerd/enmime/v2/mediatype"
)

// Additional problem codes.
const (
	ProblemTooManyLinks = "too_many_links" // more than maxLinks links; the rest were dropped
	ProblemInternal     = "internal_error" // a bug in this package or enmime; parsing stopped early
)

const (
	maxLinks    = 2000 // links kept per message
	maxProblems = 100  // problems kept per message
)

// mimeParser splits multipart structure only: content stays transfer-encoded
// (RawContent) so it is decoded once, here, and only where detection reads it.
var mimeParser = enmime.NewParser(
	enmime.DisableTextConversion(true),
	enmime.DisableCharacterDetection(true),
	enmime.RawContent(true),
	enmime.SkipMalformedParts(true),
	enmime.MultipartWOBoundaryAsSinglePart(true),
	enmime.MaxStoredPartErrors(20),
)

func (l Limits) withDefaults() Limits {
	if l.MaxSize <= 0 {
		l.MaxSize = DefaultLimits.MaxSize
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	if l.MaxParts <= 0 {
		l.MaxParts = DefaultLimits.MaxParts
	}
	return l
}

// parser holds the state of one Parse call, shared by nested message/rfc822 parts.
type parser struct {
	lim       Limits
	m         *Message
	parts     int // MIME parts seen so far, nested messages included
	linkSeen  map[linkKey]struct{}
	shape     []byte // MIME tree shape for StructureHash
	problemAt map[string]struct{}
	tooDeep   bool
	tooMany   bool
	noCompact bool // tests: let enmime read part contents itself
}

// Parse parses raw as an Internet message (RFC 5322 with MIME, RFC 2045-2049).
// It never fails and never returns nil: what is wrong with the input is listed
// in Message.Problems, and Message.Raw is raw itself, unmodified. Work is
// bounded by lim (zero fields take DefaultLimits).
func Parse(raw []byte, lim Limits) *Message {
	return parse(raw, lim, false)
}

func parse(raw []byte, lim Limits, noCompact bool) (m *Message) {
	m = &Message{Raw: raw}
	p := &parser{lim: lim.withDefaults(), m: m, noCompact: noCompact}
	defer func() {
		if r := recover(); r != nil {
			p.problem(ProblemInternal, fmt.Sprintf("parse stopped: %v", r))
		}
		p.finish()
	}()

	data := raw
	if int64(len(data)) > p.lim.MaxSize {
		data = data[:p.lim.MaxSize]
		p.problem(ProblemTruncated, fmt.Sprintf("message is %d bytes, only the first %d were parsed", len(raw), len(data)))
	}
	data = stripMboxFrom(data)
	p.entity(data, 0, true)
	return m
}

// finish fills the fields derived from everything parsed.
func (p *parser) finish() {
	m := p.m
	if m.Headers == nil {
		m.Headers = []Header{}
	}
	if m.ReplyTo == nil {
		m.ReplyTo = []Address{}
	}
	if m.To == nil {
		m.To = []Address{}
	}
	if m.Cc == nil {
		m.Cc = []Address{}
	}
	if m.Links == nil {
		m.Links = []Link{}
	}
	if m.Attachments == nil {
		m.Attachments = []Attachment{}
	}
	if m.Problems == nil {
		m.Problems = []Problem{}
	}
	m.StructureHash = structureHash(m, p.shape)
	m.SimHash = simHash(m)
}

// stripMboxFrom drops an mbox "From " separator line at the start.
func stripMboxFrom(data []byte) []byte {
	if !bytes.HasPrefix(data, []byte("From ")) {
		return data
	}
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return data[i+1:]
	}
	return data[len(data):]
}

func (p *parser) problem(code, detail string) {
	if len(p.m.Problems) >= maxProblems {
		return
	}
	if p.problemAt == nil {
		p.problemAt = make(map[string]struct{})
	}
	k := code + "\x00" + detail
	if _, ok := p.problemAt[k]; ok {
		return
	}
	p.problemAt[k] = struct{}{}
	p.m.Problems = append(p.m.Problems, Problem{Code: code, Detail: detail})
}

// entity parses one message: the top-level one (top) or a nested message/rfc822
// part at MIME depth depth.
func (p *parser) entity(data []byte, depth int, top bool) {
	hdr := splitHeader(data)
	if top {
		p.topHeaders(hdr)
	} else if hdr.malformed != "" {
		p.problem(ProblemBadHeader, "attached message: "+hdr.malformed)
	}
	body := data[hdr.bodyStart:]
	ctRaw := hdr.get("Content-Type")
	mtype, params, err := parseMediaType(ctRaw)
	if err != nil {
		p.problem(ProblemMalformedMIME, fmt.Sprintf("Content-Type %q: %v", clip(ctRaw, 80), err))
	}
	root := (*enmime.Part)(nil)
	var leaves [][2]int
	if strings.HasPrefix(mtype, "multipart/") && params["boundary"] != "" {
		root, leaves = p.multipart(ctRaw, body, depth)
	}
	if root == nil || root.FirstChild == nil {
		if root != nil {
			p.problem(ProblemMalformedMIME, "multipart message without parts; body read as text")
			mtype, params = "text/plain", nil
		}
		if mtype == "" || strings.HasPrefix(mtype, "multipart/") {
			mtype = "text/plain"
		}
		root = singlePart(hdr, mtype, params, body)
		p.parts++
	}
	source := "attachment"
	if top {
		source = ""
	}
	w := walker{p: p, source: source, body: body, leaves: leaves}
	w.walk(root, depth)
	w.bodies(top)
}

// multipart runs enmime over a multipart body, after a pre-scan that cuts the
// input where it would exceed the depth or part limits: enmime recurses once per
// nesting level and reads byte by byte through every level.
//
// For speed enmime does not read part contents: the pre-scan knows where each
// leaf's content lies, replaces it with a short placeholder naming the range,
// and the walker puts the bytes back (see walker.content). enmime still parses
// every delimiter, part header and the tree.
func (p *parser) multipart(ctRaw string, body []byte, depth int) (*enmime.Part, [][2]int) {
	sc := prescan(ctRaw, body, p.lim.MaxDepth-depth, p.lim.MaxParts-p.parts)
	if sc.tooDeep {
		p.tooDeepProblem()
	}
	if sc.tooMany {
		p.tooManyProblem()
	}
	if sc.unclosed > 0 {
		p.problem(ProblemMalformedMIME, fmt.Sprintf("%d multipart boundaries not closed", sc.unclosed))
	}
	in := body[:sc.cut]
	if p.noCompact {
		sc.leaves = nil
	}
	if len(sc.leaves) > 0 || len(sc.inserts) > 0 {
		in = compact(in, sc.leaves, sc.inserts)
	}
	hdr := "Content-Type: " + ctRaw + "\r\n\r\n"
	root, err := mimeParser.ReadParts(io.MultiReader(strings.NewReader(hdr), bytes.NewReader(in)))
	if err != nil {
		p.problem(ProblemMalformedMIME, err.Error())
		return nil, nil
	}
	return root, sc.leaves
}

// placeholder marks where leaf content was taken out of enmime's input.
const placeholder = "\x1bMWPART"

// compact returns body with each leaf range replaced by placeholder, its index
// and ESC, and the inserts added.
func compact(body []byte, leaves [][2]int, inserts []insert) []byte {
	n := len(body)
	for _, l := range leaves {
		n -= l[1] - l[0]
	}
	for _, in := range inserts {
		n += len(in.text)
	}
	out := make([]byte, 0, n+len(leaves)*(len(placeholder)+8))
	prev := 0
	for i := 0; i < len(leaves) || len(inserts) > 0; {
		if len(inserts) > 0 && (i == len(leaves) || inserts[0].pos <= leaves[i][0]) {
			pos := min(max(inserts[0].pos, prev), len(body))
			out = append(out, body[prev:pos]...)
			out = append(out, inserts[0].text...)
			prev, inserts = pos, inserts[1:]
			continue
		}
		l := leaves[i]
		out = append(out, body[prev:l[0]]...)
		out = append(out, placeholder...)
		out = strconv.AppendInt(out, int64(i), 10)
		out = append(out, 0x1b)
		prev = l[1]
		i++
	}
	return append(out, body[prev:]...)
}

func (p *parser) tooDeepProblem() {
	if !p.tooDeep {
		p.tooDeep = true
		p.problem(ProblemTooDeep, fmt.Sprintf("MIME nesting deeper than %d; deeper parts not parsed", p.lim.MaxDepth))
	}
}

func (p *parser) tooManyProblem() {
	if !p.tooMany {
		p.tooMany = true
		p.problem(ProblemTooManyParts, fmt.Sprintf("more than %d MIME parts; the rest not parsed", p.lim.MaxParts))
	}
}

// singlePart builds the part of a non-multipart message from its own header.
func singlePart(hdr headerBlock, mtype string, params map[string]string, body []byte) *enmime.Part {
	h := textproto.MIMEHeader{}
	if cte := hdr.get("Content-Transfer-Encoding"); cte != "" {
		h["Content-Transfer-Encoding"] = []string{cte}
	}
	pt := &enmime.Part{Header: h, ContentType: mtype, ContentTypeParams: params, Content: body}
	if params != nil {
		pt.Charset = params["charset"]
	}
	if cd := hdr.get("Content-Disposition"); cd != "" {
		d, dp, err := parseMediaType(cd)
		if err == nil {
			pt.Disposition = d
			pt.FileName = decodeWords(dp["filename"])
		}
	}
	if pt.FileName == "" && params != nil {
		pt.FileName = decodeWords(params["name"])
	}
	return pt
}

func parseMediaType(v string) (string, map[string]string, error) {
	if strings.TrimSpace(v) == "" {
		return "", nil, nil
	}
	mt, params, _, err := mediatype.Parse(v)
	return strings.ToLower(mt), params, err
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
