package portal

import (
	"math/big"
	"strconv"
	"strings"
	"time"
)

// Dates, times and numbers in the member's language and time zone. The
// layouts are Go time layouts from the catalogue ("fmt.*"), with "{wd}"
// standing for the short weekday name, which Go only knows in English.

// Date formats a kintone DATE value ("2006-01-02"); anything else is
// returned as is.
func (l *locale) Date(v string) string {
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return v
	}
	return l.layout("fmt.date", t)
}

// DateTime formats a kintone DATETIME value (RFC 3339, UTC) in the
// member's time zone; anything else is returned as is.
func (l *locale) DateTime(v string) string {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return v
	}
	return l.layout("fmt.datetime", t.In(l.tz))
}

// layout formats t with the catalogue layout key.
func (l *locale) layout(key string, t time.Time) string {
	s := t.Format(l.T(key))
	if strings.Contains(s, "{wd}") {
		s = strings.ReplaceAll(s, "{wd}", l.T("weekday."+strconv.Itoa(int(t.Weekday()))))
	}
	return s
}

// Size formats a byte count ("12.3 KB").
func (l *locale) Size(n int64) string {
	switch {
	case n < 1024:
		return l.T("size.bytes", l.Int(n))
	case n < 1024*1024:
		return l.T("size.kb", oneDecimal(float64(n)/1024))
	default:
		return l.T("size.mb", oneDecimal(float64(n)/(1024*1024)))
	}
}

func oneDecimal(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// numberFormat is how a NUMBER or CALC field shows its values.
type numberFormat struct {
	scale  int  // digits after the point; -1 keeps them as stored
	digits bool // group thousands
	unit   string
	before bool // the unit goes before the number
}

// Number formats a stored decimal with the field's scale, grouping and
// unit. A value that is not a number is returned as it is.
func (l *locale) Number(v string, f numberFormat) string {
	if v == "" {
		return ""
	}
	s, ok := decimal(v, f.scale)
	if !ok {
		return v
	}
	if f.digits {
		s = group(s, l.cat["num.group"])
	}
	switch {
	case f.unit == "":
		return s
	case f.before:
		return f.unit + s
	default:
		return s + f.unit
	}
}

// decimal rounds a decimal string to scale digits (halves away from zero),
// or normalizes it when scale is negative.
func decimal(v string, scale int) (string, bool) {
	if scale <= 0 && isInteger(v) {
		return v, true // the common case, without big numbers
	}
	r, ok := new(big.Rat).SetString(strings.TrimSpace(v))
	if !ok {
		return "", false
	}
	if scale >= 0 {
		return r.FloatString(scale), true
	}
	if r.IsInt() {
		return r.Num().String(), true
	}
	// As stored, without exponent or a leading "+".
	_, frac, _ := strings.Cut(v, ".")
	return r.FloatString(len(strings.TrimRight(frac, "0"))), true
}

// isInteger reports whether v is a plain integer such as "-120" (no
// leading zeros, so that it is already in normal form).
func isInteger(v string) bool {
	d := strings.TrimPrefix(v, "-")
	if d == "" || len(d) > 1 && d[0] == '0' || d == "0" && v != "0" {
		return false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return false
		}
	}
	return true
}

// group inserts sep between thousands of the integer part of a decimal.
func group(s, sep string) string {
	if sep == "" {
		sep = ","
	}
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	intPart, frac, hasFrac := strings.Cut(s, ".")
	if len(intPart) <= 3 {
		return sign + s
	}
	var b strings.Builder
	b.WriteString(sign)
	first := len(intPart) % 3
	if first > 0 {
		b.WriteString(intPart[:first])
	}
	for i := first; i < len(intPart); i += 3 {
		if b.Len() > len(sign) {
			b.WriteString(sep)
		}
		b.WriteString(intPart[i : i+3])
	}
	if hasFrac {
		b.WriteString(".")
		b.WriteString(frac)
	}
	return b.String()
}
