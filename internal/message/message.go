// Package message parses raw Internet mail (RFC 5322, MIME RFC 2045-2049) into what
// authentication and detection read: headers, addresses, text and HTML bodies, every
// link with its anchor text, attachments with hashes, and campaign fingerprints.
// Parsing is bounded (size, MIME depth, part count) and never fails: what was wrong
// with the input is reported as Problems, and the raw bytes are always kept.
package message

import (
	"net"
	"time"
)

// Limits bound the work done on one message.
type Limits struct {
	MaxSize  int64 // bytes of raw message parsed; larger input is truncated for parsing (default 50 MiB)
	MaxDepth int   // maximum MIME nesting depth (default 32)
	MaxParts int   // maximum number of MIME parts (default 1000)
}

// DefaultLimits are used where a Limits field is zero.
var DefaultLimits = Limits{MaxSize: 50 << 20, MaxDepth: 32, MaxParts: 1000}

// Address is one mailbox from an address header.
type Address struct {
	Name string `json:"name,omitempty"`
	Addr string `json:"addr"` // local@domain, domain lowercased
}

// Domain returns the lowercased domain of the address, "" if none.
func (a Address) Domain() string {
	for i := len(a.Addr) - 1; i >= 0; i-- {
		if a.Addr[i] == '@' {
			return a.Addr[i+1:]
		}
	}
	return ""
}

// Header is one header field, in message order, value unfolded and decoded (RFC 2047).
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Link is one URL found in the message.
type Link struct {
	Href   string `json:"href"`           // as written (after entity decoding)
	Text   string `json:"text,omitempty"` // anchor text, "" for bare URLs in text
	Host   string `json:"host,omitempty"` // lowercased host (IDNA ASCII form), "" when unparseable
	Source string `json:"source"`         // "html", "text" or "attachment"
	// Style is set for HTML anchors whose rendering hides them (display:none, tiny font,
	// same colour as background) so bulk detection can see obscured unsubscribe links.
	Hidden bool `json:"hidden,omitempty"`
	Image  bool `json:"image,omitempty"` // anchor contains only an image
}

// Attachment is one non-body part (or an inline part with a file name).
type Attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"` // as declared
	SniffedType string `json:"sniffed_type"` // from the content's first bytes
	Size        int64  `json:"size"`
	MD5         string `json:"md5"`
	SHA1        string `json:"sha1"`
	SHA256      string `json:"sha256"`
	Data        []byte `json:"-"` // decoded content (bounded by Limits.MaxSize)
}

// Problem is something wrong with the input; detection turns each into a trigger.
type Problem struct {
	Code   string `json:"code"`   // stable name, e.g. malformed_mime, invalid_utf8, mime_too_deep
	Detail string `json:"detail"` // human-readable
}

// Problem codes.
const (
	ProblemMalformedMIME = "malformed_mime" // enmime reported an error in the structure
	ProblemInvalidUTF8   = "invalid_utf8"   // header or body text is not valid UTF-8 after decoding
	ProblemTooDeep       = "mime_too_deep"  // nesting beyond Limits.MaxDepth
	ProblemTooManyParts  = "mime_too_many_parts"
	ProblemTruncated     = "message_truncated" // larger than Limits.MaxSize; only the start was parsed
	ProblemNoFrom        = "missing_from"      // no parseable From header
	ProblemBadHeader     = "malformed_header"
)

// Message is a parsed message. Fields are empty, never nil pointers, when absent.
type Message struct {
	Raw []byte `json:"-"` // exactly as received

	Headers   []Header  `json:"headers"`
	MessageID string    `json:"message_id"` // without angle brackets
	Subject   string    `json:"subject"`
	From      Address   `json:"from"`
	Sender    Address   `json:"sender"`
	ReplyTo   []Address `json:"reply_to"`
	To        []Address `json:"to"`
	Cc        []Address `json:"cc"`
	Date      time.Time `json:"date"` // zero when missing or unparseable

	Text string `json:"-"` // plain text body (or text derived from HTML when there is none)
	HTML string `json:"-"` // HTML body as sent

	Links       []Link       `json:"links"`
	Attachments []Attachment `json:"attachments"`
	Problems    []Problem    `json:"problems"`

	// Fingerprints for campaign grouping.
	StructureHash string `json:"structure_hash"` // hash of MIME tree shape, header set and link-host layout
	SimHash       uint64 `json:"simhash"`        // 64-bit simhash over normalised text and link hosts
}

// Envelope is what a message's own headers say about how it arrived, used by offline
// scans where no SMTP session exists: Return-Path and the topmost Received header.
type Envelope struct {
	MailFrom string
	ClientIP net.IP
	Helo     string
}
