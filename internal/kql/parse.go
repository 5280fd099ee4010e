package kql

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// MaxQueryBytes is the longest query Parse reads, and the longest canonical
// text it lets a query print to, so that every parsed query prints to text
// that parses again. kintone itself caps a GET URL near 8 KB; the cap here
// is well above that and only stops hostile input.
const MaxQueryBytes = 64 << 10

// MaxDepth caps both the nesting of parentheses in a query and the nesting
// of and/or in its AST. Parsing recurses once per level, so the cap bounds
// the stack whatever the input.
const MaxDepth = 64

// Parse reads a kintone query into its AST. Errors are *Error with code
// CB_VA01 and a detail that says where the query went wrong and what was
// expected there.
//
// Parse checks the syntax only: whether the fields exist and take the
// operators and functions used is Check's job, and the limit/offset caps are
// Check's and Compose's. A negative limit or offset is a syntax error.
func Parse(s string) (*Query, error) {
	if len(s) > MaxQueryBytes {
		return nil, invalid(text{
			en: "the query is too long: at most " + grouped(MaxQueryBytes) + " bytes are allowed",
			ja: "クエリが長すぎます。" + grouped(MaxQueryBytes) + " バイトまで指定できます",
		})
	}
	if !utf8.ValidString(s) {
		return nil, syntaxError(s, firstInvalid(s), text{en: "the query is not valid UTF-8", ja: "UTF-8 として正しくない文字があります"})
	}
	p := parser{lx: lexer{src: s}}
	q, err := p.parse()
	if err != nil {
		return nil, err
	}
	if len(s) > MaxQueryBytes/4 && canonLen(q) > MaxQueryBytes {
		return nil, invalid(text{
			en: "the query is too long once written in canonical form: at most " + grouped(MaxQueryBytes) + " bytes are allowed",
			ja: "正規形に直したクエリが長すぎます。" + grouped(MaxQueryBytes) + " バイトまで指定できます",
		})
	}
	return q, nil
}

func firstInvalid(s string) int {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(s)
}

// parser is a recursive-descent parser with one token of lookahead.
//
// Conditions, values and calls are carved out of slabs or boxes, so a
// typical query costs a handful of allocations rather than one per node.
type parser struct {
	lx     lexer
	tok    token
	parens int // parentheses open at the current token

	conds    []Cond  // slab for *Cond
	vals     []Value // slab for Values
	valStart int     // start in vals of the values being collected
	terms    []Expr  // scratch stack for and/or terms
}

func (p *parser) advance() *Error {
	t, err := p.lx.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) parse() (*Query, *Error) {
	if err := p.advance(); err != nil {
		return nil, err
	}
	box := new(queryBox)
	q := &box.q
	if p.tok.kind != tEOF && !p.atKeyword(kwOrder, kwLimit, kwOffset) {
		e, _, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		q.Where = e
	}
	if p.atKeyword(kwOrder) {
		if err := p.parseOrderBy(q); err != nil {
			return nil, err
		}
	}
	if p.atKeyword(kwLimit) {
		if err := p.parseCount("limit", &box.limit); err != nil {
			return nil, err
		}
		q.Limit = &box.limit
	}
	if p.atKeyword(kwOffset) {
		if err := p.parseCount("offset", &box.offset); err != nil {
			return nil, err
		}
		q.Offset = &box.offset
	}
	if p.tok.kind != tEOF {
		return nil, p.trailing()
	}
	return q, nil
}

// trailing explains a token after the last clause, naming the clause order
// when a clause comes too late.
func (p *parser) trailing() *Error {
	if p.tok.kind == tRParen {
		return p.errHere(text{en: `")" has no matching "("`, ja: `対応する "(" のない ")" があります`})
	}
	if p.atKeyword(kwOrder, kwLimit, kwOffset) {
		return p.errHere(text{
			en: "clauses must come in the order: condition, order by, limit, offset, each at most once; found " + p.found().en,
			ja: "句の順序は 条件、order by、limit、offset で、それぞれ 1 回までです。" + p.found().ja + "があります",
		})
	}
	return p.expected(text{en: "and, or, order by, limit, offset or the end of the query", ja: "and、or、order by、limit、offset またはクエリの終わり"})
}

func (p *parser) atKeyword(kws ...keyword) bool {
	if p.tok.kind != tKeyword {
		return false
	}
	for _, k := range kws {
		if p.tok.kw == k {
			return true
		}
	}
	return false
}

// parseOr reads terms joined by or. It returns the condition and its depth:
// the nesting of and/or in the AST.
func (p *parser) parseOr() (Expr, int, *Error) {
	first, depth, err := p.parseAnd()
	if err != nil || !p.atKeyword(kwOr) {
		return first, depth, err
	}
	base := p.pushTerm(first)
	for p.atKeyword(kwOr) {
		if err := p.advance(); err != nil {
			return nil, 0, err
		}
		t, d, err := p.parseAnd()
		if err != nil {
			return nil, 0, err
		}
		p.terms = append(p.terms, t)
		depth = max(depth, d)
	}
	return p.junction(base, false, depth+1)
}

// parseAnd reads atoms joined by and, which binds tighter than or.
func (p *parser) parseAnd() (Expr, int, *Error) {
	first, depth, err := p.parseAtom()
	if err != nil || !p.atKeyword(kwAnd) {
		return first, depth, err
	}
	base := p.pushTerm(first)
	for p.atKeyword(kwAnd) {
		if err := p.advance(); err != nil {
			return nil, 0, err
		}
		t, d, err := p.parseAtom()
		if err != nil {
			return nil, 0, err
		}
		p.terms = append(p.terms, t)
		depth = max(depth, d)
	}
	return p.junction(base, true, depth+1)
}

// pushTerm starts collecting the terms of an and/or with first and returns
// where they start.
func (p *parser) pushTerm(first Expr) int {
	if p.terms == nil {
		p.terms = make([]Expr, 0, 8)
	}
	base := len(p.terms)
	p.terms = append(p.terms, first)
	return base
}

// junction pops the terms from base into a new And or Or.
func (p *parser) junction(base int, and bool, depth int) (Expr, int, *Error) {
	if depth > MaxDepth {
		return nil, 0, p.tooDeep()
	}
	terms := make([]Expr, len(p.terms)-base)
	copy(terms, p.terms[base:])
	clear(p.terms[base:])
	p.terms = p.terms[:base]
	if and {
		return &And{Terms: terms}, depth, nil
	}
	return &Or{Terms: terms}, depth, nil
}

func (p *parser) tooDeep() *Error {
	return p.errHere(text{
		en: "the condition is nested too deeply: at most " + strconv.Itoa(MaxDepth) + " levels are allowed",
		ja: "条件の入れ子が深すぎます。" + strconv.Itoa(MaxDepth) + " 段までです",
	})
}

// parseAtom reads a parenthesised condition or one predicate.
func (p *parser) parseAtom() (Expr, int, *Error) {
	if p.tok.kind != tLParen {
		c, err := p.parsePred()
		return c, 0, err
	}
	if p.parens >= MaxDepth {
		return nil, 0, p.tooDeep()
	}
	p.parens++
	if err := p.advance(); err != nil {
		return nil, 0, err
	}
	e, d, err := p.parseOr()
	if err != nil {
		return nil, 0, err
	}
	if p.tok.kind != tRParen {
		return nil, 0, p.expected(text{en: `")"`, ja: `")"`})
	}
	p.parens--
	return e, d, p.advance()
}

// parsePred reads field op value(s).
func (p *parser) parsePred() (*Cond, *Error) {
	field, err := p.parseField()
	if err != nil {
		return nil, err
	}
	c := p.newCond()
	c.Field = field
	switch {
	case p.tok.kind == tOp:
		c.Op = p.tok.op
		if err := p.advance(); err != nil {
			return nil, err
		}
		c.Values, err = p.parseOne()
	case p.atKeyword(kwIn):
		c.Op = In
		c.Values, err = p.parseList()
	case p.atKeyword(kwLike):
		c.Op = Like
		c.Values, err = p.parseLike()
	case p.atKeyword(kwNot):
		if err := p.advance(); err != nil {
			return nil, err
		}
		switch {
		case p.atKeyword(kwIn):
			c.Op = NotIn
			c.Values, err = p.parseList()
		case p.atKeyword(kwLike):
			c.Op = NotLike
			c.Values, err = p.parseLike()
		default:
			return nil, p.expected(text{en: "in or like after not", ja: "not の後の in または like"})
		}
	case p.atKeyword(kwIs):
		c.Op, err = p.parseIs()
	default:
		return nil, p.expected(text{en: "an operator (= != < > <= >= in not in like not like is)", ja: "演算子（= != < > <= >= in not in like not like is）"})
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (p *parser) newCond() *Cond {
	if len(p.conds) == cap(p.conds) {
		p.conds = make([]Cond, 0, 8)
	}
	p.conds = p.conds[:len(p.conds)+1]
	return &p.conds[len(p.conds)-1]
}

// parseField reads a field reference: a field code, $id, or rel.field.
func (p *parser) parseField() (string, *Error) {
	switch p.tok.kind {
	case tWord, tID:
		f := p.tok.text
		return f, p.advance()
	case tKeyword:
		return "", p.errHere(text{
			en: p.found().en + " is a reserved word and cannot be a field code",
			ja: p.found().ja + "は予約語のためフィールドコードにできません",
		})
	}
	return "", p.expected(text{en: `a field code or "("`, ja: `フィールドコードまたは "("`})
}

// parseOne reads the single value of a comparison.
func (p *parser) parseOne() ([]Value, *Error) {
	v, err := p.parseValue()
	if err != nil {
		return nil, err
	}
	p.valStart = len(p.vals)
	p.pushValue(v)
	return p.values(), nil
}

// pushValue adds v to the values being collected since valStart. When the
// slab is full, the values collected so far move to a new slab, so they
// stay contiguous; slices handed out earlier keep the old one.
func (p *parser) pushValue(v Value) {
	if len(p.vals) == cap(p.vals) {
		n := len(p.vals) - p.valStart
		vals := make([]Value, n, max(8, 2*n))
		copy(vals, p.vals[p.valStart:])
		p.vals, p.valStart = vals, 0
	}
	p.vals = append(p.vals, v)
}

// values returns the values collected since valStart, capped so that
// appending to the result can never overwrite a neighbour.
func (p *parser) values() []Value {
	return p.vals[p.valStart:len(p.vals):len(p.vals)]
}

// parseList reads in's "(" value {"," value} ")"; the current token is in.
func (p *parser) parseList() ([]Value, *Error) {
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind != tLParen {
		return nil, p.expected(text{en: `"(" after in`, ja: `in の後の "("`})
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	p.valStart = len(p.vals)
	for {
		v, err := p.parseValue()
		if err != nil {
			return nil, err
		}
		p.pushValue(v)
		if p.tok.kind == tRParen {
			break
		}
		if p.tok.kind != tComma {
			return nil, p.expected(text{en: `"," or ")"`, ja: `"," または ")"`})
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	return p.values(), p.advance()
}

// parseLike reads like's string; the current token is like.
func (p *parser) parseLike() ([]Value, *Error) {
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind != tString {
		return nil, p.expected(text{en: "a string in double quotes after like", ja: "like の後の二重引用符で囲んだ文字列"})
	}
	p.valStart = len(p.vals)
	p.pushValue(Value{Kind: String, Text: p.tok.text})
	return p.values(), p.advance()
}

// parseIs reads "is [not] empty"; the current token is is.
func (p *parser) parseIs() (Op, *Error) {
	if err := p.advance(); err != nil {
		return 0, err
	}
	op := IsEmpty
	if p.atKeyword(kwNot) {
		op = IsNotEmpty
		if err := p.advance(); err != nil {
			return 0, err
		}
	}
	if !p.atKeyword(kwEmpty) {
		return 0, p.expected(text{en: "empty", ja: "empty"})
	}
	return op, p.advance()
}

// parseValue reads a string, a number or a function call.
func (p *parser) parseValue() (Value, *Error) {
	switch p.tok.kind {
	case tString:
		v := Value{Kind: String, Text: p.tok.text}
		return v, p.advance()
	case tNumber:
		v := Value{Kind: Number, Text: p.tok.text}
		return v, p.advance()
	case tWord:
		call, err := p.parseCall()
		if err != nil {
			return Value{}, err
		}
		return Value{Kind: Func, Call: call}, nil
	}
	return Value{}, p.expected(text{en: "a value (a string, a number or a function)", ja: "値（文字列、数値または関数）"})
}

// parseCall reads NAME "(" [arg {"," arg}] ")". The name must be one of
// kintone's functions (any case; stored upper case). Arguments are integers
// or bare words (stored upper case); whether they suit the function is
// Check's business, since kintone reports those with their own codes.
func (p *parser) parseCall() (*Call, *Error) {
	name := canonicalFunc(p.tok.text)
	if name == "" {
		return nil, p.errHere(text{
			en: p.found().en + " is not a kintone function",
			ja: p.found().ja + "は kintone の関数ではありません",
		})
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind != tLParen {
		return nil, p.expected(text{en: `"(" after the function name`, ja: `関数名の後の "("`})
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	box := &callBox{c: Call{Name: name}}
	call := &box.c
	call.Args = box.args[:0:len(box.args)]
	if p.tok.kind == tRParen {
		call.Args = nil
		return call, p.advance()
	}
	for {
		switch {
		case p.tok.kind == tNumber && isInteger(p.tok.text):
			call.Args = append(call.Args, p.tok.text)
		case p.tok.kind == tWord && !hasDot(p.tok.text):
			call.Args = append(call.Args, upperASCII(p.tok.text))
		default:
			return nil, p.expected(text{en: "a function argument (an integer or a word such as DAYS)", ja: "関数の引数（整数または DAYS などの語）"})
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind == tRParen {
			return call, p.advance()
		}
		if p.tok.kind != tComma {
			return nil, p.expected(text{en: `"," or ")"`, ja: `"," または ")"`})
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
}

// callBox holds a Call and room for two arguments in one allocation.
type callBox struct {
	c    Call
	args [2]string
}

// parseOrderBy reads "order by" key {"," key}; the current token is order.
func (p *parser) parseOrderBy(q *Query) *Error {
	if err := p.advance(); err != nil {
		return err
	}
	if !p.atKeyword(kwBy) {
		return p.expected(text{en: "by after order", ja: "order の後の by"})
	}
	if err := p.advance(); err != nil {
		return err
	}
	for {
		f, err := p.parseField()
		if err != nil {
			return err
		}
		k := SortKey{Field: f}
		if p.atKeyword(kwAsc, kwDesc) {
			k.Dir = Asc
			if p.tok.kw == kwDesc {
				k.Dir = Desc
			}
			if err := p.advance(); err != nil {
				return err
			}
		}
		if q.OrderBy == nil {
			q.OrderBy = make([]SortKey, 0, 4)
		}
		q.OrderBy = append(q.OrderBy, k)
		if p.tok.kind != tComma {
			return nil
		}
		if err := p.advance(); err != nil {
			return err
		}
	}
}

// parseCount reads the non-negative integer after limit or offset into n;
// the current token is the keyword. A value beyond int's range is kept as
// math.MaxInt, which every cap rejects.
func (p *parser) parseCount(clause string, n *int) *Error {
	if err := p.advance(); err != nil {
		return err
	}
	if p.tok.kind != tNumber || !isInteger(p.tok.text) {
		return p.expected(text{en: "an integer after " + clause, ja: clause + " の後の整数"})
	}
	if p.tok.text[0] == '-' {
		return p.errHere(text{en: clause + " must be 0 or more", ja: clause + " には 0 以上の値を指定します"})
	}
	v, err := strconv.Atoi(p.tok.text)
	if err != nil {
		v = math.MaxInt
	}
	*n = v
	return p.advance()
}

// queryBox holds a Query and its limit and offset in one allocation.
type queryBox struct {
	q             Query
	limit, offset int
}

func (p *parser) errHere(what text) *Error {
	return syntaxError(p.lx.src, p.tok.start, what)
}

// expected reports what the parser wanted at the current token.
func (p *parser) expected(want text) *Error {
	f := p.found()
	ja := want.ja + "が必要ですが、" + f.ja + "があります"
	if p.tok.kind == tEOF {
		ja = want.ja + "が必要ですが、クエリが終わっています"
	}
	return p.errHere(text{en: "expected " + want.en + ", found " + f.en, ja: ja})
}

// found describes the current token for an error message.
func (p *parser) found() text {
	if p.tok.kind == tEOF {
		return text{en: "the end of the query", ja: "クエリの終わり"}
	}
	q := quoteToken(p.lx.src[p.tok.start:p.tok.end])
	return text{en: q, ja: q + " "}
}

// quoteToken quotes source text for an error message, shortened to 30
// characters.
func quoteToken(s string) string {
	if utf8.RuneCountInString(s) > 30 {
		n := 0
		for i := range s {
			if n == 30 {
				s = s[:i] + "…"
				break
			}
			n++
		}
	}
	return strconv.Quote(s)
}

func isInteger(num string) bool {
	for i := 0; i < len(num); i++ {
		if num[i] == '.' {
			return false
		}
	}
	return true
}

func hasDot(w string) bool {
	for i := 0; i < len(w); i++ {
		if w[i] == '.' {
			return true
		}
	}
	return false
}

// upperASCII upper-cases ASCII letters only, allocating only when it must.
func upperASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'a' <= b[j] && b[j] <= 'z' {
					b[j] -= 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
