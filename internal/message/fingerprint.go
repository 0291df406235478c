package message

import (
	"crypto/sha256"
	"encoding/hex"
	"math/bits"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// structureHeaders are the header fields whose presence is part of a message's
// structure: set by the sending software, not by relays or the receiving side.
var structureHeaders = []string{
	"auto-submitted", "cc", "content-transfer-encoding", "content-type", "date", "dkim-signature",
	"feedback-id", "from", "importance", "in-reply-to", "list-id", "list-unsubscribe",
	"list-unsubscribe-post", "message-id", "mime-version", "organization", "precedence",
	"references", "reply-to", "sender", "subject", "thread-index", "to", "user-agent",
	"x-mailer", "x-priority",
}

// structureHash hashes (SHA-256, first 16 bytes in hex) the MIME tree shape with
// content types, the set of structureHeaders present, the sequence of link hosts
// and the sniffed attachment types.
func structureHash(m *Message, shape []byte) string {
	h := sha256.New()
	h.Write(shape)
	h.Write([]byte{'|'})
	present := make([]bool, len(structureHeaders))
	for _, f := range m.Headers {
		if i, ok := slices.BinarySearch(structureHeaders, strings.ToLower(f.Name)); ok {
			present[i] = true
		}
	}
	for i, ok := range present {
		if ok {
			h.Write([]byte(structureHeaders[i]))
			h.Write([]byte{','})
		}
	}
	h.Write([]byte{'|'})
	last := "\x00"
	n := 0
	for _, l := range m.Links {
		if l.Host != last && n < 200 {
			h.Write([]byte(l.Host))
			h.Write([]byte{','})
			last = l.Host
			n++
		}
	}
	h.Write([]byte{'|'})
	for _, a := range m.Attachments {
		h.Write([]byte(a.SniffedType))
		h.Write([]byte{','})
	}
	sum := h.Sum(nil)
	return hex.EncodeToString(sum[:16])
}

const maxSimWords = 1500 // words of subject and text that feed the SimHash

// simHash computes a 64-bit SimHash (Charikar) over the words of the subject and
// text, lowercased with digit runs collapsed to one "0", and over the link hosts.
// Copies of one campaign that differ in names and numbers land a few bits apart.
func simHash(m *Message) uint64 {
	var v [64]int32
	add := func(h uint64, w int32) {
		for i := range 64 {
			// +w when bit i is set, -w otherwise, without a branch.
			v[i] += (int32(h>>uint(i)&1)*2 - 1) * w
		}
	}
	n := 0
	word := make([]byte, 0, 32)
	feed := func(s string) {
		for i := 0; i < len(s) && n < maxSimWords; {
			r, size := rune(s[i]), 1
			if r >= utf8.RuneSelf {
				r, size = utf8.DecodeRuneInString(s[i:])
			}
			i += size
			switch {
			case r < utf8.RuneSelf && (r >= 'a' && r <= 'z'):
				word = append(word, byte(r))
			case r < utf8.RuneSelf && (r >= 'A' && r <= 'Z'):
				word = append(word, byte(r)+32)
			case r >= '0' && r <= '9':
				if len(word) == 0 || word[len(word)-1] != '0' {
					word = append(word, '0')
				}
			case r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)):
				word = utf8.AppendRune(word, unicode.ToLower(r))
			default:
				if len(word) > 1 && len(word) <= 40 {
					add(fnv64(word), 1)
					n++
				}
				word = word[:0]
			}
		}
		if len(word) > 1 && len(word) <= 40 {
			add(fnv64(word), 1)
			n++
		}
		word = word[:0]
	}
	feed(m.Subject)
	feed(" ")
	feed(m.Text)
	hosts := 0
	for i, l := range m.Links {
		if l.Host == "" || hosts >= 100 || (i > 0 && m.Links[i-1].Host == l.Host) {
			continue
		}
		add(fnv64(append(append(word[:0], "host:"...), l.Host...)), 2)
		hosts++
	}
	var out uint64
	for i := range 64 {
		if v[i] > 0 {
			out |= 1 << uint(i)
		}
	}
	return out
}

// fnv64 is 64-bit FNV-1a with a final mix, stable across processes so hashes can be stored.
func fnv64(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	// murmur3 finaliser: FNV alone spreads short words poorly over the high bits.
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// Hamming returns the number of differing bits between two SimHash values.
func Hamming(a, b uint64) int {
	return bits.OnesCount64(a ^ b)
}
