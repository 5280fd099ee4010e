package kql

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error is a query the caller must not send: it carries kintone's error code,
// the HTTP status kintone answers with, and messages in Japanese and English,
// so the API can answer a partner in kintone's own error shape.
//
// Key names the entry of kintone's "errors" object that holds the details
// (always "query" for CB_VA01); it is "" when kintone sends the message
// alone, as for the GAIA_* codes.
type Error struct {
	Code   string // kintone's error code, e.g. "CB_VA01", "GAIA_IQ11"
	Status int    // HTTP status kintone answers with (400 for every query error)
	Key    string // key in kintone's "errors" object; "" when none

	msg    text // top-level message
	detail text // message under Key; empty when Key is ""
}

// text is one message in both languages.
type text struct{ en, ja string }

func (t text) in(lang string) string {
	if isJa(lang) {
		return t.ja
	}
	return t.en
}

// isJa reports whether lang asks for Japanese: "ja" or a "ja-" tag.
func isJa(lang string) bool {
	return lang == "ja" || strings.HasPrefix(lang, "ja-")
}

// Error returns the code and the English messages.
func (e *Error) Error() string {
	s := "kql: " + e.Code + ": " + e.msg.en
	if e.Key != "" {
		s += " (" + e.Key + ": " + e.detail.en + ")"
	}
	return s
}

// Message returns kintone's top-level message in lang: Japanese for "ja"
// (or a "ja-" tag), English for anything else.
func (e *Error) Message(lang string) string { return e.msg.in(lang) }

// Details returns the messages kintone lists under Key in lang, or nil when
// Key is "".
func (e *Error) Details(lang string) []string {
	if e.Key == "" {
		return nil
	}
	return []string{e.detail.in(lang)}
}

// invalidInput is CB_VA01's top-level message.
var invalidInput = text{en: "Missing or invalid input.", ja: "入力内容が正しくありません。"}

// invalid returns CB_VA01 with a detail under "query".
func invalid(detail text) *Error {
	return &Error{Code: "CB_VA01", Status: 400, Key: "query", msg: invalidInput, detail: detail}
}

// syntaxError returns CB_VA01 for a query that does not parse. The detail
// starts with kintone's own sentence and adds where (1-based character
// position in src) and what went wrong.
func syntaxError(src string, pos int, what text) *Error {
	n := strconv.Itoa(charPos(src, pos))
	return invalid(text{
		en: "unsupported query format: at character " + n + ", " + what.en,
		ja: "クエリ記法が間違っています。" + n + " 文字目: " + what.ja,
	})
}

// charPos turns a byte offset into a 1-based character position, counting
// invalid bytes as one character each.
func charPos(src string, pos int) int {
	if pos > len(src) {
		pos = len(src)
	}
	return utf8.RuneCountInString(src[:pos]) + 1
}

func gaia(code string, msg text) *Error {
	return &Error{Code: code, Status: 400, msg: msg}
}

// errLimit is GAIA_QU01 naming the cap that applies.
func errLimit(max int) *Error {
	n := grouped(max)
	return gaia("GAIA_QU01", text{
		en: "limit must be " + n + " or less.",
		ja: "limit には " + n + " 以下の値を指定してください。",
	})
}

// errOffset is GAIA_QU02 naming the cap that applies.
func errOffset(max int) *Error {
	n := grouped(max)
	return gaia("GAIA_QU02", text{
		en: "offset must be " + n + " or less.",
		ja: "offset には " + n + " 以下の値を指定してください。",
	})
}

// errUnknownField is GAIA_IQ11.
func errUnknownField(code string) *Error {
	return gaia("GAIA_IQ11", text{
		en: "Specified field (" + code + ") not found.",
		ja: "指定されたフィールド（" + code + "）が見つかりません。",
	})
}

// errOperator is GAIA_IQ03: the operator is not allowed for the field type.
func errOperator(code string, op Op) *Error {
	return gaia("GAIA_IQ03", text{
		en: "The operator " + op.String() + " cannot be used with the field type of the field " + code + ".",
		ja: code + "フィールドのフィールドタイプには演算子" + op.String() + "を使用できません。",
	})
}

// errFunction is GAIA_IQ03 for a function the field type does not take.
func errFunction(code, fn string) *Error {
	return gaia("GAIA_IQ03", text{
		en: "The function " + fn + "() cannot be used with the field type of the field " + code + ".",
		ja: code + "フィールドのフィールドタイプには関数" + fn + "()を使用できません。",
	})
}

// errSort is GAIA_IQ03 for an order by key kintone cannot sort on.
func errSort(code string) *Error {
	return gaia("GAIA_IQ03", text{
		en: "The field (" + code + ") cannot be used in order by.",
		ja: "フィールド（" + code + "）は order by に指定できません。",
	})
}

// errSubtableOp is GAIA_IQ07: = and != on a field inside a table.
func errSubtableOp(code string, op Op) *Error {
	return gaia("GAIA_IQ07", text{
		en: "Cannot read records. The operator " + op.String() + " cannot be used with the field " + code + " because it is in a table; use in or not in.",
		ja: "レコードを読み込めません。テーブルに設定している場合、" + code + "フィールドのフィールドタイプには、演算子" + op.String() + "を使用できません。",
	})
}

// errOption is GAIA_IQ10: the value is not one of the field's options.
func errOption(code, value string) *Error {
	return gaia("GAIA_IQ10", text{
		en: `The value, "` + value + `", is not in options of the field (` + code + ").",
		ja: "フィールド（" + code + "）の選択肢に「" + value + "」はありません。",
	})
}

// errDay is GAIA_IQ23 for a day argument of THIS_MONTH and its kin.
func errDay(arg string) *Error {
	return gaia("GAIA_IQ23", text{
		en: "The specified day (" + arg + ") is not valid. Specify an integer from 1 to 31, or LAST.",
		ja: "指定した日にち（" + arg + "）は無効です。1から31までの整数で指定します。",
	})
}

// errWeekday is GAIA_IQ23 for a weekday argument of THIS_WEEK and its kin.
func errWeekday(arg string) *Error {
	return gaia("GAIA_IQ23", text{
		en: "The specified day of the week (" + arg + ") is not valid. Specify one of SUNDAY, MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY.",
		ja: "指定した曜日（" + arg + "）は無効です。SUNDAY、MONDAY、TUESDAY、WEDNESDAY、THURSDAY、FRIDAY、SATURDAY のいずれかを指定します。",
	})
}

// errCount is GAIA_IQ23 for FROM_TODAY's first argument.
func errCount(arg string) *Error {
	return gaia("GAIA_IQ23", text{
		en: "The first argument of FROM_TODAY() (" + arg + ") is not valid. Specify an integer.",
		ja: "FROM_TODAY()の第1引数（" + arg + "）は無効です。整数で指定します。",
	})
}

// errUnit is GAIA_IQ25 for FROM_TODAY's unit.
func errUnit() *Error {
	return gaia("GAIA_IQ25", text{
		en: "The second argument of FROM_TODAY() must be one of DAYS, WEEKS, MONTHS or YEARS.",
		ja: "FROM_TODAY()の第2引数には、「DAYS」「WEEKS」「MONTHS」「YEARS」のいずれかを指定します。",
	})
}

// errArgCount is GAIA_IL08: a function got the wrong number of arguments.
// max is the most it takes; exact says it takes exactly max.
func errArgCount(fn string, max int, exact bool) *Error {
	var t text
	switch {
	case max == 0:
		t = text{en: "takes no arguments", ja: "には引数を指定できません"}
	case exact:
		t = text{en: "takes exactly " + strconv.Itoa(max) + " arguments", ja: "の引数は " + strconv.Itoa(max) + " 個です"}
	default:
		t = text{en: "takes at most " + strconv.Itoa(max) + " argument", ja: "の引数は " + strconv.Itoa(max) + " 個までです"}
	}
	return gaia("GAIA_IL08", text{
		en: "The query is not valid: " + fn + "() " + t.en + ".",
		ja: "クエリの指定が不正です。" + fn + "() " + t.ja + "。",
	})
}

// grouped formats n with thousands separators, as kintone writes 10,000.
func grouped(n int) string {
	s := strconv.Itoa(n)
	neg := ""
	if n < 0 {
		neg, s = "-", s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return neg + b.String()
}
