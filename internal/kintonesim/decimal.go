package kintonesim

import "strings"

// Numbers — NUMBER and CALC values, record numbers, $id, $revision — are
// kept as the decimal strings kintone answers with and compared digit by
// digit, never through float64: a float64 holds about 16 significant
// digits, so it would make 9007199254740993 equal 9007199254740992 and
// 0.3 equal 0.30000000000000001, which kintone tells apart.

// roundingMode is how an app rounds away the decimals it does not keep.
type roundingMode uint8

const (
	halfEven  roundingMode = iota // to the nearest; a tie goes to the even digit
	roundUp                       // away from zero
	roundDown                     // toward zero
)

var roundingModes = map[string]roundingMode{"HALF_EVEN": halfEven, "UP": roundUp, "DOWN": roundDown}

func (m roundingMode) String() string {
	switch m {
	case roundUp:
		return "UP"
	case roundDown:
		return "DOWN"
	}
	return "HALF_EVEN"
}

// precision is an app's "number and calculation precision" setting.
type precision struct {
	digits int // significant digits a stored value may have
	places int // decimals a stored value keeps
	mode   roundingMode
}

// defaultPrecision is what kintone gives a new app.
var defaultPrecision = precision{digits: 16, places: 4, mode: halfEven}

// Limits of the setting, as kintone's settings screen has them.
const (
	maxPrecisionDigits = 30
	maxPrecisionPlaces = 10
)

// maxMagnitude bounds the power of ten a number written with an exponent is
// taken at. Stored values have at most 30 digits and 10 decimals, and ids
// fit in 19 digits, so a value beyond 10^64 (or a non-zero one below
// 10^-64) compares, rounds and overflows exactly as its clamped stand-in
// does, while "1e999999999" cannot make the simulator write a billion zeros.
const maxMagnitude = 64

// decimal is a number split into sign, integer digits (without leading
// zeros: "" for a value below one) and decimals (as written, trailing zeros
// included).
type decimal struct {
	neg       bool
	int, frac string
	// text is the canonical form when it is the input itself, so that the
	// common case — a plain number written plainly — allocates nothing.
	text string
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// parseDecimal reads a number as kintone accepts one: spaces around it, a
// sign, digits with an optional decimal point (".5" and "5." too) and an
// optional exponent ("1.5e1"). Hexadecimal, underscores, Inf and NaN are
// not numbers.
func parseDecimal(s string) (decimal, bool) {
	s = strings.TrimSpace(s)
	var d decimal
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		d.neg = s[i] == '-'
		i++
	}
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	whole := s[start:i]
	frac, dot := "", false
	if i < len(s) && s[i] == '.' {
		dot = true
		i++
		fs := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		frac = s[fs:i]
	}
	if whole == "" && frac == "" {
		return d, false
	}
	exp, hasExp := 0, false
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		hasExp = true
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		es := i
		for i < len(s) && isDigit(s[i]) {
			if exp < 1<<30 { // saturate: the magnitude is clamped anyway
				exp = exp*10 + int(s[i]-'0')
			}
			i++
		}
		if i == es {
			return d, false
		}
		if eneg {
			exp = -exp
		}
	}
	if i != len(s) {
		return d, false
	}
	trimmed := strings.TrimLeft(whole, "0")
	if hasExp {
		return shifted(d.neg, trimmed, frac, exp), true
	}
	d.int, d.frac = trimmed, frac
	canonical := s[0] != '+' && (whole == trimmed && trimmed != "" || whole == "0") && (!dot || frac != "")
	if canonical && d.neg && d.isZero() {
		canonical = false // "-0" is stored as "0"
	}
	if canonical {
		d.text = s
	}
	return d, true
}

// shifted is ±whole.frac × 10^exp written out plainly. Exponent forms lose
// their trailing decimal zeros ("1.50e1" → "15"), as kintone stores them.
func shifted(neg bool, whole, frac string, exp int) decimal {
	digits := whole + frac
	point := len(whole) + exp // digits[:point] is the integer part
	lead := len(digits) - len(strings.TrimLeft(digits, "0"))
	digits, point = digits[lead:], point-lead
	digits = strings.TrimRight(digits, "0")
	d := decimal{neg: neg}
	switch {
	case digits == "":
		return decimal{}
	case point > maxMagnitude:
		digits, point = "1", maxMagnitude+1
	case point < -maxMagnitude:
		digits, point = "1", -maxMagnitude
	}
	switch {
	case point <= 0:
		d.frac = strings.Repeat("0", -point) + digits
	case point >= len(digits):
		d.int = digits + strings.Repeat("0", point-len(digits))
	default:
		d.int, d.frac = digits[:point], digits[point:]
	}
	return d
}

func (d decimal) isZero() bool {
	return d.int == "" && strings.Trim(d.frac, "0") == ""
}

// String is the canonical text: "-" only when the value is below zero, "0"
// before the point of a value below one, the decimals as kept.
func (d decimal) String() string {
	if d.text != "" {
		return d.text
	}
	whole := d.int
	if whole == "" {
		whole = "0"
	}
	sign := ""
	if d.neg && !d.isZero() {
		sign = "-"
	}
	if d.frac == "" {
		return sign + whole
	}
	return sign + whole + "." + d.frac
}

// round keeps at most places decimals. A value with fewer keeps the ones it
// was written with ("1.50" stays "1.50"); a rounded one has exactly places
// decimals, as a decimal rescaled to that many places does.
func (d decimal) round(places int, mode roundingMode) decimal {
	if len(d.frac) <= places {
		return d
	}
	kept, dropped := d.frac[:places], d.frac[places:]
	up := false
	switch mode {
	case roundUp:
		up = strings.Trim(dropped, "0") != ""
	case halfEven:
		switch {
		case dropped[0] != '5':
			up = dropped[0] > '5'
		case strings.Trim(dropped[1:], "0") != "":
			up = true
		default: // exactly half way: toward the even neighbour
			last := byte('0')
			if places > 0 {
				last = kept[places-1]
			} else if d.int != "" {
				last = d.int[len(d.int)-1]
			}
			up = (last-'0')%2 == 1
		}
	}
	r := decimal{neg: d.neg, int: d.int, frac: kept}
	if up {
		r.int, r.frac = addUnit(d.int, kept)
	}
	return r
}

// addUnit adds one in the last place of whole.frac to its magnitude.
func addUnit(whole, frac string) (string, string) {
	b := []byte(whole + frac)
	i := len(b) - 1
	for ; i >= 0 && b[i] == '9'; i-- {
		b[i] = '0'
	}
	if i >= 0 {
		b[i]++
	} else {
		b = append([]byte{'1'}, b...)
	}
	n := len(b) - len(frac)
	return strings.TrimLeft(string(b[:n]), "0"), string(b[n:])
}

// digitCount is how many digits the value needs: from its first non-zero
// digit down to its last non-zero decimal, or to the units when it has no
// decimals. Zero needs none.
func (d decimal) digitCount() int {
	frac := strings.TrimRight(d.frac, "0")
	if d.int != "" {
		return len(d.int) + len(frac)
	}
	return len(strings.TrimLeft(frac, "0"))
}

// numberProblem says why a written number cannot be stored.
type numberProblem uint8

const (
	numberOK numberProblem = iota
	notANumber
	tooManyDigits
)

// store turns a written number into the value kept for it: "" for nothing
// written, else the number rounded to the app's decimals in its mode, which
// must then fit in its digits.
func (p precision) store(s string) (string, numberProblem) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", numberOK
	}
	d, ok := parseDecimal(s)
	if !ok {
		return "", notANumber
	}
	d = d.round(p.places, p.mode)
	if d.digitCount() > p.digits {
		return "", tooManyDigits
	}
	return d.String(), numberOK
}

// numberLiteral is a number as a query or a setting writes it, canonical
// and exact (not rounded: "0.30000000000000001" stays what it says).
func numberLiteral(s string) (string, bool) {
	d, ok := parseDecimal(s)
	if !ok {
		return "", false
	}
	return d.String(), true
}

// compareNumbers orders two canonical numbers (as store and numberLiteral
// write them) by value: -1, 0 or 1.
func compareNumbers(a, b string) int {
	na, ma := cutMinus(a)
	nb, mb := cutMinus(b)
	sa, sb := signum(na, ma), signum(nb, mb)
	switch {
	case sa != sb:
		if sa < sb {
			return -1
		}
		return 1
	case sa == 0:
		return 0
	}
	c := compareMagnitudes(ma, mb)
	if sa < 0 {
		return -c
	}
	return c
}

func cutMinus(s string) (bool, string) {
	if len(s) > 0 && s[0] == '-' {
		return true, s[1:]
	}
	return false, s
}

// signum of a canonical magnitude: its integer part has no leading zero
// unless it is "0", so only a value starting with "0" can be zero.
func signum(neg bool, m string) int {
	if len(m) > 0 && m[0] == '0' && strings.Trim(m, "0.") == "" {
		return 0
	}
	if neg {
		return -1
	}
	return 1
}

func compareMagnitudes(a, b string) int {
	ia, ib := intLen(a), intLen(b)
	if ia != ib { // no leading zeros: the longer integer part is the larger
		if ia < ib {
			return -1
		}
		return 1
	}
	if c := strings.Compare(a[:ia], b[:ib]); c != 0 {
		return c
	}
	fa, fb := fracOf(a, ia), fracOf(b, ib)
	for i := 0; i < len(fa) || i < len(fb); i++ {
		ca, cb := byte('0'), byte('0')
		if i < len(fa) {
			ca = fa[i]
		}
		if i < len(fb) {
			cb = fb[i]
		}
		if ca != cb {
			if ca < cb {
				return -1
			}
			return 1
		}
	}
	return 0
}

func intLen(s string) int {
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return i
	}
	return len(s)
}

func fracOf(s string, point int) string {
	if point < len(s) {
		return s[point+1:]
	}
	return ""
}

// numberKey is the text that stands for a canonical number in an index of
// values: equal numbers ("1.5", "1.50") share it.
func numberKey(s string) string {
	if strings.IndexByte(s, '.') < 0 {
		return s
	}
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// isCanonicalNumber reports whether s is a number as store writes one.
func isCanonicalNumber(s string) bool {
	d, ok := parseDecimal(s)
	return ok && d.text == s
}
