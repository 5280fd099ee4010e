package kintonesim

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// like is kintone's word search, not a substring match: `like "key"` does
// not find "gamma keyword". The simulator's tokenization (kintone's own
// index is not documented):
//
//   - text is folded: full-width ASCII to ASCII, letters to lower case;
//   - a word is a run of letters and digits (any script but the CJK ones);
//     every other character (spaces, punctuation, symbols) separates words
//     and is never searched;
//   - a run of CJK characters (Han, Hiragana, Katakana, the prolonged sound
//     mark) is one token that a CJK search term matches anywhere inside,
//     because Japanese has no spaces between words and kintone finds 予算 in
//     2024年度予算申請;
//   - the pattern is tokenized the same way; a record matches when every
//     pattern token is found (Latin-script tokens as whole words, CJK tokens
//     inside a CJK run), in any order. An empty pattern matches everything.
type token struct {
	text string
	cjk  bool
}

func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) ||
		unicode.Is(unicode.Katakana, r) || r == 'ー' || r == '々'
}

// fold maps full-width ASCII to ASCII and lowers case.
func fold(r rune) rune {
	if r >= 0xFF01 && r <= 0xFF5E {
		r -= 0xFEE0
	}
	return unicode.ToLower(r)
}

func tokenize(s string) []token {
	var out []token
	var b strings.Builder
	cur := 0 // 0 none, 1 word, 2 cjk
	flush := func() {
		if b.Len() > 0 {
			out = append(out, token{text: b.String(), cjk: cur == 2})
			b.Reset()
		}
		cur = 0
	}
	for _, r := range s {
		r = fold(r)
		kind := 0
		switch {
		case isCJK(r):
			kind = 2
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r):
			kind = 1
		}
		if kind != cur {
			flush()
		}
		if kind != 0 {
			cur = kind
			b.WriteRune(r)
		}
	}
	flush()
	return out
}

// wordMatch reports whether every pattern token occurs in text.
func wordMatch(text string, pattern []token) bool {
	if len(pattern) == 0 {
		return true
	}
	have := tokenize(text)
next:
	for _, p := range pattern {
		for _, t := range have {
			if t.cjk == p.cjk && (t.text == p.text || (p.cjk && strings.Contains(t.text, p.text))) {
				continue next
			}
		}
		return false
	}
	return true
}

// stripTags removes HTML markup from rich text, keeping the text between
// tags and turning each tag into a space so that words do not run together.
func stripTags(s string) string {
	if !strings.ContainsRune(s, '<') {
		return s
	}
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
			b.WriteByte(' ')
		case r == '>' && in:
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&quot;", `"`, "&nbsp;", " ").Replace(b.String())
}

// isText reports whether file content is UTF-8 text worth searching.
func isText(b []byte) bool {
	return len(b) > 0 && len(b) <= 1<<20 && utf8.Valid(b) && !strings.ContainsRune(string(b[:min(len(b), 512)]), 0)
}
