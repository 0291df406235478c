package message

import (
	"strings"
	"sync"
	"unsafe"
)

// Lowered is s lowercased for substring tests with ASCII needles, giving the
// same answers as strings.Contains(strings.ToLower(s), needle) without a new
// copy per call: ASCII letters are lowercased in a pooled buffer and other
// bytes kept (their lowercase is never ASCII, except U+0130 and U+212A, for
// which strings.ToLower is used). Call release when done.
type Lowered struct {
	S   string // the lowercased text; valid until Release
	buf *[]byte
}

var lowerPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// LowerForSearch lowercases s for substring tests with ASCII needles (see Lowered).
func LowerForSearch(s string) Lowered {
	if strings.Contains(s, "\u0130") || strings.Contains(s, "\u212a") {
		return Lowered{S: strings.ToLower(s)}
	}
	bp := lowerPool.Get().(*[]byte)
	b := (*bp)[:0]
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	*bp = b
	return Lowered{S: unsafeString(b), buf: bp}
}

// Release returns the buffer; S must not be used after.
func (l Lowered) Release() {
	if l.buf != nil && cap(*l.buf) <= 1<<20 {
		lowerPool.Put(l.buf)
	}
}

func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
