package postgres

import (
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Full-text search tokenises in Go, as SQLite's FTS5 unicode61 tokenizer
// (remove_diacritics 2) does: a word is a run of letters and digits, lowercased,
// without diacritics. The store writes tsvector and tsquery values literally
// from those words, so PostgreSQL's text-search parser and dictionaries (and the
// database's locale) never change what matches: both stores find the same mail.

// Bounds of what one field indexes (a tsvector holds at most 1 MB; a lexeme
// at most 2047 bytes; positions stop at 16383).
const (
	maxWords    = 16383
	maxWordSize = 255
)

// words splits text into search words.
func words(text string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(foldDiacritics(text)), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		if len(w) > maxWordSize {
			continue
		}
		out = append(out, w)
	}
	return out
}

// foldDiacritics removes combining marks: "Café" becomes "Cafe".
func foldDiacritics(s string) string {
	for _, r := range s {
		if r >= 0x80 {
			goto fold
		}
	}
	return s
fold:
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	return norm.NFC.String(b.String())
}

// tsvector is the tsvector literal of text's words with their positions. Words
// hold only letters and digits, so quoting them needs no escapes.
func tsvector(text string) string {
	var b strings.Builder
	for i, w := range words(text) {
		if i >= maxWords {
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte('\'')
		b.WriteString(w)
		b.WriteString("':")
		b.WriteString(strconv.Itoa(i + 1))
	}
	return b.String()
}

// tsquery is the tsquery literal of a phrase of text's words (FTS5 "w1 w2"),
// the last word a prefix when prefix is set (FTS5 "w1 w2"*); false when text
// has no words.
func tsquery(text string, prefix bool) (string, bool) {
	ws := words(text)
	if len(ws) == 0 {
		return "", false
	}
	var b strings.Builder
	for i, w := range ws {
		if i > 0 {
			b.WriteString(" <-> ")
		}
		b.WriteByte('\'')
		b.WriteString(w)
		b.WriteByte('\'')
	}
	if prefix {
		b.WriteString(":*")
	}
	return b.String(), true
}
