package kql

import (
	"unicode"
	"unicode/utf8"
)

// tokKind is the kind of a lexical token.
type tokKind uint8

const (
	tEOF     tokKind = iota
	tWord            // a field code, function name or argument symbol: a bare word, possibly "rel.field"
	tID              // $id or rel.$id
	tKeyword         // a reserved word (see keyword)
	tString          // a double-quoted literal; text is unescaped
	tNumber          // -?digits[.digits]; text as written
	tLParen
	tRParen
	tComma
	tOp // a comparison operator
)

// keyword is a reserved word. Keywords are matched without regard to ASCII
// case and are never field codes.
type keyword uint8

const (
	kwNone keyword = iota
	kwAnd
	kwOr
	kwNot
	kwIn
	kwLike
	kwIs
	kwEmpty
	kwOrder
	kwBy
	kwAsc
	kwDesc
	kwLimit
	kwOffset
)

var keywords = [...]string{
	kwAnd: "and", kwOr: "or", kwNot: "not", kwIn: "in", kwLike: "like", kwIs: "is",
	kwEmpty: "empty", kwOrder: "order", kwBy: "by", kwAsc: "asc", kwDesc: "desc",
	kwLimit: "limit", kwOffset: "offset",
}

// token is one lexical token. Offsets are bytes into the source.
type token struct {
	kind  tokKind
	kw    keyword
	op    Op
	start int
	end   int
	text  string // word, number as written, or unescaped string
}

// lexer turns the source into tokens on demand, so parsing allocates no
// token list. Words and escape-free strings are substrings of the source.
type lexer struct {
	src string
	pos int
}

// next returns the token at the current position and moves past it.
func (l *lexer) next() (token, *Error) {
	l.skipSpace()
	start := l.pos
	if start >= len(l.src) {
		return token{kind: tEOF, start: start, end: start}, nil
	}
	c := l.src[start]
	switch {
	case c == '"':
		return l.lexString()
	case c == '(' || c == ')' || c == ',':
		l.pos++
		k := tLParen
		if c == ')' {
			k = tRParen
		} else if c == ',' {
			k = tComma
		}
		return token{kind: k, start: start, end: l.pos}, nil
	case c == '=' || c == '!' || c == '<' || c == '>':
		return l.lexOp()
	case c == '-' || isDigit(c):
		return l.lexNumber()
	case c == '$':
		return l.lexID(start)
	}
	if n := wordLen(l.src[start:]); n > 0 {
		return l.lexWord(start, n)
	}
	return token{}, l.badChar(start)
}

// skipSpace skips kintone's whitespace: space, tab, CR, LF and the
// ideographic space U+3000.
func (l *lexer) skipSpace() {
	for l.pos < len(l.src) {
		switch c := l.src[l.pos]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			l.pos++
		case c == 0xE3 && len(l.src)-l.pos >= 3 && l.src[l.pos+1] == 0x80 && l.src[l.pos+2] == 0x80:
			l.pos += 3
		default:
			return
		}
	}
}

func (l *lexer) badChar(pos int) *Error {
	r, size := utf8.DecodeRuneInString(l.src[pos:])
	switch {
	case r == utf8.RuneError && size <= 1:
		return syntaxError(l.src, pos, text{en: "the query is not valid UTF-8", ja: "UTF-8 として正しくない文字があります"})
	case r == 0:
		return syntaxError(l.src, pos, text{en: "a NUL character is not allowed", ja: "NUL 文字は使用できません"})
	case r < 0x20 || r == 0x7f:
		return syntaxError(l.src, pos, text{en: "a control character is not allowed", ja: "制御文字は使用できません"})
	case r == '\'':
		return syntaxError(l.src, pos, text{en: `strings are written in double quotes (")`, ja: `文字列は二重引用符（"）で囲みます`})
	}
	q := quoteToken(string(r))
	return syntaxError(l.src, pos, text{en: "unexpected character " + q, ja: "予期しない文字 " + q + " があります"})
}

func (l *lexer) lexOp() (token, *Error) {
	start := l.pos
	c := l.src[start]
	two := start+1 < len(l.src) && l.src[start+1] == '='
	var op Op
	switch {
	case c == '=':
		op = Eq
	case c == '!' && two:
		op = Ne
	case c == '!':
		return token{}, syntaxError(l.src, start, text{en: `"!" must be followed by "="`, ja: `"!" の後には "=" が必要です`})
	case c == '<' && two:
		op = Le
	case c == '<':
		op = Lt
	case c == '>' && two:
		op = Ge
	default:
		op = Gt
	}
	l.pos++
	if op == Ne || op == Le || op == Ge {
		l.pos++
	}
	return token{kind: tOp, op: op, start: start, end: l.pos}, nil
}

// lexNumber reads -?digits[.digits]. A sign or a point without digits is
// an error, not a different token.
func (l *lexer) lexNumber() (token, *Error) {
	start := l.pos
	i := start
	if l.src[i] == '-' {
		i++
	}
	d := digits(l.src[i:])
	if d == 0 {
		return token{}, syntaxError(l.src, i, text{en: `a digit must follow "-"`, ja: `"-" の後には数字が必要です`})
	}
	i += d
	if i < len(l.src) && l.src[i] == '.' {
		d = digits(l.src[i+1:])
		if d == 0 {
			return token{}, syntaxError(l.src, i+1, text{en: "a digit must follow the decimal point", ja: "小数点の後には数字が必要です"})
		}
		i += 1 + d
	}
	l.pos = i
	return token{kind: tNumber, start: start, end: i, text: l.src[start:i]}, nil
}

// lexID reads $id.
func (l *lexer) lexID(start int) (token, *Error) {
	n := wordLen(l.src[start+1:])
	if l.src[start+1:start+1+n] != "id" {
		return token{}, syntaxError(l.src, start, text{en: `the only name starting with "$" is $id`, ja: `"$" で始まる名前は $id だけです`})
	}
	l.pos = start + 3
	return token{kind: tID, start: start, end: l.pos, text: "$id"}, nil
}

// lexWord reads a word of n bytes at start and, if a "." follows, the field
// of a related-records table after it: "rel.field" or "rel.$id".
func (l *lexer) lexWord(start, n int) (token, *Error) {
	end := start + n
	if end < len(l.src) && l.src[end] == '.' {
		rest := l.src[end+1:]
		switch m := wordLen(rest); {
		case m > 0:
			end += 1 + m
		case len(rest) >= 3 && rest[:3] == "$id" && wordLen(rest[3:]) == 0:
			end += 4
		default:
			return token{}, syntaxError(l.src, end+1, text{en: `a field code must follow "."`, ja: `"." の後にはフィールドコードが必要です`})
		}
		l.pos = end
		return token{kind: tWord, start: start, end: end, text: l.src[start:end]}, nil
	}
	l.pos = end
	w := l.src[start:end]
	if kw := lookupKeyword(w); kw != kwNone {
		return token{kind: tKeyword, kw: kw, start: start, end: end, text: w}, nil
	}
	return token{kind: tWord, start: start, end: end, text: w}, nil
}

// lexString reads a double-quoted literal. Escapes are \" \\ \t \n \r; any
// other character after a backslash is an error rather than a guess, so kgate
// can never read a literal differently from kintone. Raw TAB, LF, CR and
// other control characters inside a literal are errors, as on kintone.
func (l *lexer) lexString() (token, *Error) {
	start := l.pos
	i := start + 1
	var buf []byte // nil until the first escape
	from := i      // start of the run not yet copied into buf
	for {
		if i >= len(l.src) {
			return token{}, syntaxError(l.src, start, text{en: "the string is not closed", ja: "文字列が閉じられていません"})
		}
		c := l.src[i]
		switch {
		case c == '"':
			var s string
			if buf == nil {
				s = l.src[from:i]
			} else {
				s = string(append(buf, l.src[from:i]...))
			}
			l.pos = i + 1
			return token{kind: tString, start: start, end: l.pos, text: s}, nil
		case c == '\\':
			if i+1 >= len(l.src) {
				return token{}, syntaxError(l.src, start, text{en: "the string is not closed", ja: "文字列が閉じられていません"})
			}
			var r byte
			switch l.src[i+1] {
			case '"':
				r = '"'
			case '\\':
				r = '\\'
			case 't':
				r = '\t'
			case 'n':
				r = '\n'
			case 'r':
				r = '\r'
			default:
				return token{}, syntaxError(l.src, i, text{
					en: `unknown escape; only \" \\ \t \n \r are allowed in a string`,
					ja: `不明なエスケープです。文字列中で使えるのは \" \\ \t \n \r だけです`,
				})
			}
			buf = append(buf, l.src[from:i]...)
			buf = append(buf, r)
			i += 2
			from = i
		case c == '\t' || c == '\n' || c == '\r':
			return token{}, syntaxError(l.src, i, text{
				en: `a raw tab, line feed or carriage return is not allowed in a string; write \t, \n or \r`,
				ja: `文字列中にタブ・改行を直接書くことはできません。\t、\n、\r と書きます`,
			})
		case c < 0x20 || c == 0x7f:
			return token{}, l.badChar(i)
		default:
			i++
		}
	}
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func digits(s string) int {
	n := 0
	for n < len(s) && isDigit(s[n]) {
		n++
	}
	return n
}

// asciiWord marks the ASCII bytes allowed in a word.
var asciiWord = func() (t [128]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	t['_'] = true
	return t
}()

// wordLen returns the length in bytes of the word at the start of s: ASCII
// letters, digits and "_", hiragana, katakana, kanji and the full-width
// forms, not starting with an ASCII digit. It returns 0 if s does not start
// with a word.
func wordLen(s string) int {
	i := 0
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if !asciiWord[c] || (i == 0 && isDigit(c)) {
				break
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !isWordRune(r) {
			break
		}
		i += size
	}
	return i
}

// isWordRune reports whether a non-ASCII rune may appear in a field code:
// Japanese scripts (with the iteration marks 々 〆 〇, the middle dot ・ and
// the prolonged sound mark ー) and the half-width and full-width forms.
func isWordRune(r rune) bool {
	switch {
	case r == utf8.RuneError:
		return false
	case 0x3005 <= r && r <= 0x3007: // 々 〆 〇
		return true
	case 0x3041 <= r && r <= 0x30FF: // hiragana, katakana, ・ ー
		return true
	case 0x31F0 <= r && r <= 0x31FF: // katakana phonetic extensions
		return true
	case 0xFF01 <= r && r <= 0xFFEF: // half-width and full-width forms
		return true
	case 0x4E00 <= r && r <= 0x9FFF: // CJK unified ideographs, the common case
		return true
	}
	return unicode.Is(unicode.Han, r)
}

// lookupKeyword returns the keyword w spells in any ASCII case, or kwNone.
func lookupKeyword(w string) keyword {
	if len(w) < 2 || len(w) > 6 {
		return kwNone
	}
	for k := kwAnd; k <= kwOffset; k++ {
		if equalFoldASCII(w, keywords[k]) {
			return k
		}
	}
	return kwNone
}

// equalFoldASCII compares s with the lower-case ASCII word kw, folding only
// ASCII letters (so no Unicode look-alike can spell a keyword).
func equalFoldASCII(s, kw string) bool {
	if len(s) != len(kw) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != kw[i] {
			return false
		}
	}
	return true
}

// validField reports whether f lexes back as exactly one field reference:
// $id, a code that is not a keyword, or rel.field / rel.$id.
func validField(f string) bool {
	if f == "$id" {
		return true
	}
	n := wordLen(f)
	if n == 0 {
		return false
	}
	if n == len(f) {
		return lookupKeyword(f) == kwNone
	}
	if f[n] != '.' {
		return false
	}
	rest := f[n+1:]
	return rest == "$id" || (len(rest) > 0 && wordLen(rest) == len(rest))
}

// validNumber reports whether s is -?digits[.digits].
func validNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	d := digits(s[i:])
	if d == 0 {
		return false
	}
	i += d
	if i == len(s) {
		return true
	}
	if s[i] != '.' {
		return false
	}
	d = digits(s[i+1:])
	return d > 0 && i+1+d == len(s)
}

// validArg reports whether a is a function argument as the parser stores
// it: an integer, or an upper-case word that is not a keyword.
func validArg(a string) bool {
	if validNumber(a) {
		return isInteger(a)
	}
	return a != "" && wordLen(a) == len(a) && lookupKeyword(a) == kwNone && upperASCII(a) == a
}
