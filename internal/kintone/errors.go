package kintone

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// The error catalogue: kintone's error codes with the HTTP status and the
// ja/en message each comes with. The simulator answers with it, and kgate
// uses it to answer partners in kintone's own shape, so a client sees one
// vocabulary whether an error came from kintone or from kgate.
//
// Messages quoted in the reference (shared/reference/kintone-api.md §5) are
// verbatim; the others follow kintone's wording as closely as is known and
// are marked "unverified" below. Arguments are substituted with fmt verbs.

type entry struct {
	status int
	ja, en string
}

var catalogue = map[string]entry{
	"CB_VA01": {400, "入力内容が正しくありません。", "Missing or invalid input."},
	"CB_IJ01": {400, "不正なJSON文字列です。", "Invalid JSON string."},
	"CB_IL02": {400, "不正なリクエストです。", "Illegal request."},
	"CB_AU01": {401, "ログインしてください。", "Please login."},
	"CB_WA01": {401, "ユーザーのパスワード認証に失敗しました。X-Cybozu-Authorizationヘッダーの値が正しくありません。",
		"Password authentication failed. The value in http header of X-Cybozu-Authorization is not valid."},
	"CB_NO02": {403, "権限がありません。", "No privilege to proceed."},
	// Unverified: the status for an unknown API path (kintone answers its own 404 page).
	"CB_NO01": {404, "指定したAPIは存在しません。", "The specified API does not exist."},

	"GAIA_IA02": {400, "指定したAPIトークンが、アプリで生成したAPIトークンと一致しません。",
		"The specified API token does not match the API token generated via an app."},
	"GAIA_NO01": {403, "このAPIトークンでは、指定したAPIを実行できません。",
		"Using this API token, you cannot run the specified API."},
	"GAIA_DA03": {400, "同じアプリのAPIトークンを重複して指定することはできません。",
		"You cannot specify a duplicate API token for the same app."},

	"GAIA_AP01": {404, "指定したアプリ（id: %v）が見つかりません。削除されている可能性があります。",
		"The app (ID: %v) not found. The app may have been deleted."},
	"GAIA_RE01": {404, "指定したレコード（id: %v）が見つかりません。",
		"The specified record (ID: %v) is not found."},
	"GAIA_RE20": {404, "updateKeyに指定した条件に一致するレコードが存在しません。",
		`No records match the conditions specified in the "updateKey" field.`},
	"GAIA_IQ27": {400, "updateKeyに指定したフィールド（%v）は「値の重複を禁止する」に設定されていません。",
		`The field (%v) specified in "updateKey" must be set to "Prohibit duplicate values".`},
	"GAIA_BL01": {404, "指定したファイル（id: %v）が見つかりません。",
		"The specified file (id: %v) not found."},
	"GAIA_RE02": {400, "指定したコメントが存在しません。削除された可能性があります。",
		"The specified comment does not exist. The comment may have been deleted."},
	"GAIA_RE03": {400, "ほかのユーザーが投稿したコメントは削除できません。",
		"You cannot delete a comment posted by another user."}, // unverified wording and status
	"GAIA_RE12": {400, "コメント機能が無効化されています。", "Comment feature is disabled."},
	"GAIA_CO02": {409, "指定したrevisionは最新ではありません。ほかのユーザーがレコードを更新した可能性があります。",
		"The revision is not the latest. Someone may update a record."},
	"GAIA_TO04": {429, "APIリクエストの同時実行数が上限を超えています。",
		"The number of concurrent API requests exceeds the limit."},
	"GAIA_QU01": {400, "limit には 500 以下の値を指定してください。", "limit must be 500 or less."},
	"GAIA_QU02": {400, "offset には 10,000 以下の値を指定してください。", "offset must be 10,000 or less."},
	"GAIA_IQ11": {400, "指定されたフィールド（%v）が見つかりません。", "Specified field (%v) not found."},
	"GAIA_IL23": {400, "ゲストスペース内のアプリを操作する場合は、リクエストの送信先を「/k/guest/（ゲストスペースのID）/v1/...」にしてください。",
		"When you operate an app in a guest space, please send the request to '/k/guest/(guest space ID)/v1/...'."},
	"GAIA_LO04": {400, "フィールド「%[2]v」の値「%[1]v」が、ルックアップの参照先のフィールドにないか、またはアプリやレコードの閲覧権限がありません。",
		"A value %v in the field %v does not exist in the datasource app for lookup, or you do not have permission to view the value."},
	"GAIA_UN10": {400, "%vフィールドは更新できません。", "Cannot update field whose type is %v."},
	"GAIA_BF02": {403, "「%v」フィールドに値を指定してレコードを追加するには、アプリ管理権限が必要です。",
		`App permissions are required to add records with specifying a value in the "%v" field.`}, // status unverified
	"GAIA_IL03": {400, "ステータスの変更に失敗しました。ほかのユーザーがステータス、またはステータスの設定を変更した可能性があります。",
		"Failed to update the status. The settings or the status itself may have been changed by someone."},
	"GAIA_ST02": {400, "操作に失敗しました。プロセス管理機能が無効化されています。",
		"Your request failed. The process management feature has been disabled."},
	// The next three: codes observed, statuses and wording unverified.
	"GAIA_NT01": {400, "作業者のみがステータスを変更できます。", "Only the assignee can change the status."},
	"GAIA_SA01": {400, "作業者を指定してください。", "Specify the assignee."},
	"GAIA_SA04": {400, "指定したユーザー（%v）は作業者に設定できません。", "The specified user (%v) cannot be set as the assignee."},
	"GAIA_IL26": {400, "指定したユーザー（code：%v）が見つかりません。", "The specified user (code：%v) not found."},
	// Cursor errors: codes and wording unverified (the reference gives only the
	// situation); kintone answers both with 400.
	"GAIA_CU01": {400, "指定したカーソルが見つかりません。有効期限が切れているか、すべてのレコードを取得済みの可能性があります。",
		"The specified cursor does not exist. It may have expired or all records may have been read."},
	"GAIA_TM12": {400, "作成できるカーソルの上限に達しているため、カーソルを作成できません。不要なカーソルを削除するか、しばらく経ってから再実行してください。",
		"You cannot create more cursors because the limit has been reached. Delete unused cursors or try again later."},
}

// NewError returns the kintone error for code, its message in lang ("ja";
// anything else is English) formatted with args, and a fresh random id as
// kintone gives each error. An unknown code yields status 400 and the code
// as its message, so a typo shows up in tests instead of vanishing.
func NewError(code, lang string, args ...any) *Error {
	e, ok := catalogue[code]
	if !ok {
		e = entry{400, code, code}
	}
	msg := e.en
	if lang == "ja" {
		msg = e.ja
	}
	if len(args) > 0 {
		msg = fmt.Sprintf(msg, args...)
	}
	return &Error{Status: e.status, Code: code, ID: newErrorID(), Message: msg}
}

// Invalid returns CB_VA01, kintone's validation error, with no entries yet;
// add them with With.
func Invalid(lang string) *Error { return NewError("CB_VA01", lang) }

// With adds messages under key (for example "record.title.value") to the
// error's "errors" object and returns e.
func (e *Error) With(key string, messages ...string) *Error {
	if e.Errors == nil {
		e.Errors = make(map[string]ErrorMessages)
	}
	m := e.Errors[key]
	m.Messages = append(m.Messages, messages...)
	e.Errors[key] = m
	return e
}

// Respond writes e as kintone does: its status, the JSON body and the
// content type kintone uses for errors.
func (e *Error) Respond(w http.ResponseWriter) {
	body, _ := json.Marshal(e)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	w.WriteHeader(e.Status)
	w.Write(body)
}

// Validation messages, the texts kintone puts inside "errors". Pass one to
// Message with the language and its arguments.
const (
	MsgRequiredParam = "requiredParam" // a request parameter is missing
	MsgRequired      = "required"      // a record field is empty but required
	MsgUnique        = "unique"        // arg: none
	MsgMaxLength     = "maxLength"     // arg: max+1
	MsgMinLength     = "minLength"     // arg: min-1
	MsgMaxValue      = "maxValue"      // arg: the maximum as written
	MsgMinValue      = "minValue"      // arg: the minimum as written
	MsgOption        = "option"        // arg: the value
	MsgNumber        = "number"        // a NUMBER field got a non-number
	MsgInteger       = "integer"       // a parameter must be an integer
	MsgBoolean       = "boolean"       // a parameter must be a boolean
	MsgMinMinusOne   = "minMinusOne"   // a revision below -1
	MsgMin           = "min"           // arg: minimum
	MsgMax           = "max"           // arg: maximum
	MsgDate          = "date"          // a DATE value is not a date
	MsgTime          = "time"          // a TIME value is not a time
	MsgDateTime      = "datetime"      // a DATETIME value is not a date and time
	MsgMaxAdd        = "maxAdd"        // more than 100 records in one add
	MsgMaxUpdate     = "maxUpdate"     // more than 100 records in one update
	MsgDeleteRange   = "deleteRange"   // not 1–100 ids in one delete
	MsgEnum          = "enum"          // arg: the allowed values, comma-separated
	MsgUser          = "user"          // arg: a user code that does not exist
	MsgIDAndKey      = "idAndKey"      // both id and updateKey
	MsgMaxItems      = "maxItems"      // arg: the maximum number of items
	MsgQuery         = "query"         // a query that does not parse
)

var messages = map[string][2]string{ // ja, en
	MsgRequiredParam: {"必須です。", "Required field."},
	MsgRequired:      {"必須です。", "Required."},
	MsgUnique:        {"値がほかのレコードと重複しています。", "This value already exists in another record."},
	MsgMaxLength:     {"%v文字より短くなければなりません。", "Enter less than %v characters."},
	MsgMinLength:     {"%v文字より長くなければなりません。", "Enter more than %v characters."},
	MsgMaxValue:      {"%v以下である必要があります。", "The value must be %v or less."},
	MsgMinValue:      {"%v以上である必要があります。", "The value must be %v or more."},
	MsgOption:        {"\"%v\"は選択肢にありません。", "The value, \"%v\", is not in options."},
	MsgNumber:        {"数字でなければなりません。", "Only numbers are allowed."},
	MsgInteger:       {"整数でなければなりません。", "must be an integer."},
	MsgBoolean:       {"真偽値でなければなりません。", "must be boolean."},
	MsgMinMinusOne:   {"-1以上でなければなりません。", "must be greater than or equal to -1."},
	MsgMin:           {"%v以上でなければなりません。", "must be greater than or equal to %v."},
	MsgMax:           {"%v以下でなければなりません。", "must be less than or equal to %v."},
	MsgDate:          {"日付の形式が不正です。", "Invalid date format."},
	MsgTime:          {"時刻の形式が不正です。", "Invalid time format."},
	MsgDateTime:      {"日時の形式が不正です。", "Invalid date and time format."},
	MsgMaxAdd:        {"一度に100件までのレコードを追加できます。", "A maximum of 100 records can be added at one time."},
	MsgMaxUpdate:     {"一度に100件までのレコードを更新できます。", "A maximum of 100 records can be updated at one time."},
	MsgDeleteRange:   {"一度に削除できるレコードは1件から100件までです。", "Between 1 and 100 records can be deleted at one time."},
	MsgEnum:          {"次のいずれかでなければなりません: %v", "must be one of the following: %v"},
	MsgUser:          {"指定したユーザー（code：%v）が見つかりません。", "The specified user (code：%v) not found."},
	MsgIDAndKey:      {"idとupdateKeyを同時に指定することはできません。", "You cannot specify both id and updateKey."},
	MsgMaxItems:      {"%v件以下でなければなりません。", "size must be between 0 and %v."},
	MsgQuery:         {"クエリ記法が間違っています。", "unsupported query format"},
}

// Message returns the validation message id in lang ("ja" or English),
// formatted with args.
func Message(id, lang string, args ...any) string {
	m, ok := messages[id]
	if !ok {
		return id
	}
	s := m[1]
	if lang == "ja" {
		s = m[0]
	}
	if len(args) > 0 {
		s = fmt.Sprintf(s, args...)
	}
	return s
}

// newErrorID returns a random id like kintone's ("dG6dCAvp5q3MuCbZGy8Z").
func newErrorID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	var b [20]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}
