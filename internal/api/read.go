package api

import (
	"strconv"

	"github.com/kgate/kgate/internal/download"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
)

// validation collects kintone's CB_VA01 entries for one request, so a
// client learns of every bad parameter at once, as from kintone.
type validation struct {
	lang string
	err  *kintone.Error
}

func (c *call) validate() *validation { return &validation{lang: c.id.Lang} }

func (v *validation) add(key, msg string, args ...any) {
	if v.err == nil {
		v.err = kintone.Invalid(v.lang)
	}
	v.err.With(key, kintone.Message(msg, v.lang, args...))
}

// done returns the collected error, or nil.
func (v *validation) done() error {
	if v.err == nil {
		return nil
	}
	return v.err
}

// positive reads a required whole number ≥ 1 (an app or record id).
func (v *validation) positive(p kintone.Params, key string) string {
	n, present, ok := p.Int(key)
	switch {
	case !present:
		v.add(key, kintone.MsgRequiredParam)
	case !ok:
		v.add(key, kintone.MsgInteger)
	case n < 1:
		v.add(key, kintone.MsgMin, 1)
	default:
		return strconv.FormatInt(n, 10)
	}
	return ""
}

// optionalInt reads a whole number in [lo, hi], or def when absent.
func (v *validation) optionalInt(p kintone.Params, key string, lo, hi, def int64) int64 {
	n, present, ok := p.Int(key)
	switch {
	case !present:
		return def
	case !ok:
		v.add(key, kintone.MsgInteger)
	case n < lo:
		v.add(key, kintone.MsgMin, lo)
	case n > hi:
		v.add(key, kintone.MsgMax, hi)
	default:
		return n
	}
	return def
}

// wrongType records a parameter of the wrong JSON type.
func (v *validation) wrongType(key, want string) {
	if v.err == nil {
		v.err = kintone.Invalid(v.lang)
	}
	msg := "must be " + want + "."
	if v.lang == "ja" {
		msg = map[string]string{"a string": "文字列でなければなりません。", "an array of strings": "文字列の配列でなければなりません。"}[want]
	}
	v.err.With(key, msg)
}

func (v *validation) strings(p kintone.Params, key string) []string {
	list, present, ok := p.Strings(key)
	if present && !ok {
		v.wrongType(key, "an array of strings")
	}
	return list
}

func (v *validation) text(p kintone.Params, key string) string {
	if _, present := p[key]; !present || p[key] == nil {
		return ""
	}
	s, ok := p.Text(key)
	if !ok {
		v.wrongType(key, "a string")
	}
	return s
}

func (v *validation) boolean(p kintone.Params, key string) bool {
	b, present, ok := p.Bool(key)
	if present && !ok {
		v.add(key, kintone.MsgBoolean)
	}
	return b
}

func getRecord(c *call) error {
	v := c.validate()
	app, id := v.positive(c.params, "app"), v.positive(c.params, "id")
	if err := v.done(); err != nil {
		return err
	}
	rec, err := c.h.GW.GetRecord(c.r.Context(), c.id, gateway.AppRef{ID: app, Space: c.space}, id)
	if err != nil {
		return err
	}
	body := append([]byte(`{"record":`), rec...)
	return c.replyJSON(append(body, '}'))
}

func getRecords(c *call) error {
	v := c.validate()
	req := gateway.ListRequest{
		App:        gateway.AppRef{ID: v.positive(c.params, "app"), Space: c.space},
		Fields:     v.strings(c.params, "fields"),
		Query:      v.text(c.params, "query"),
		TotalCount: v.boolean(c.params, "totalCount"),
	}
	if err := v.done(); err != nil {
		return err
	}
	page, err := c.h.GW.ListRecords(c.r.Context(), c.id, req)
	if err != nil {
		return err
	}
	body := page.AppendRecords(append(make([]byte, 0, pageSize(page)+64), `{"records":`...))
	body = append(body, `,"totalCount":`...)
	if page.TotalCount != nil {
		body = strconv.AppendQuote(body, strconv.FormatInt(*page.TotalCount, 10))
	} else {
		body = append(body, "null"...)
	}
	return c.replyJSON(append(body, '}'))
}

func pageSize(p *gateway.Page) int {
	n := 0
	for _, r := range p.Records {
		n += len(r) + 1
	}
	return n
}

func createCursor(c *call) error {
	v := c.validate()
	req := gateway.CursorRequest{
		App:    gateway.AppRef{ID: v.positive(c.params, "app"), Space: c.space},
		Fields: v.strings(c.params, "fields"),
		Query:  v.text(c.params, "query"),
		Size:   int(v.optionalInt(c.params, "size", 1, 500, 0)),
	}
	if err := v.done(); err != nil {
		return err
	}
	key, total, err := c.h.GW.CreateCursor(c.r.Context(), c.id, req)
	if err != nil {
		return err
	}
	return c.reply(map[string]string{"id": key, "totalCount": strconv.FormatInt(total, 10)})
}

func cursorID(c *call) (string, error) {
	v := c.validate()
	key := v.text(c.params, "id")
	if key == "" && v.err == nil {
		v.add("id", kintone.MsgRequiredParam)
	}
	return key, v.done()
}

func getCursor(c *call) error {
	key, err := cursorID(c)
	if err != nil {
		return err
	}
	page, err := c.h.GW.GetCursor(c.r.Context(), c.id, key)
	if err != nil {
		return err
	}
	body := page.AppendRecords(append(make([]byte, 0, pageSize(page)+32), `{"records":`...))
	body = append(body, `,"next":`...)
	body = strconv.AppendBool(body, page.Next)
	return c.replyJSON(append(body, '}'))
}

func deleteCursor(c *call) error {
	key, err := cursorID(c)
	if err != nil {
		return err
	}
	if err := c.h.GW.DeleteCursor(c.r.Context(), c.id, key); err != nil {
		return err
	}
	return c.replyJSON([]byte(`{}`))
}

func getApp(c *call) error {
	v := c.validate()
	id := v.positive(c.params, "id")
	if err := v.done(); err != nil {
		return err
	}
	info, err := c.h.GW.App(c.r.Context(), c.id, gateway.AppRef{ID: id, Space: c.space})
	if err != nil {
		return err
	}
	return c.reply(info)
}

func getApps(c *call) error {
	v := c.validate()
	f := gateway.AppsFilter{
		IDs:      v.strings(c.params, "ids"),
		Codes:    v.strings(c.params, "codes"),
		SpaceIDs: v.strings(c.params, "spaceIds"),
		Name:     v.text(c.params, "name"),
		Limit:    int(v.optionalInt(c.params, "limit", 1, 100, 100)),
		Offset:   int(v.optionalInt(c.params, "offset", 0, 2147483647, 0)),
	}
	for _, key := range []string{"ids", "codes", "spaceIds"} {
		if list, _, _ := c.params.Strings(key); len(list) > 100 {
			v.add(key, kintone.MsgMaxItems, 100)
		}
	}
	if err := v.done(); err != nil {
		return err
	}
	apps, err := c.h.GW.Apps(c.r.Context(), c.id, f)
	if err != nil {
		return err
	}
	return c.reply(map[string]any{"apps": apps})
}

func getFormFields(c *call) error {
	v := c.validate()
	app := v.positive(c.params, "app")
	lang := labelLang(v, c.params)
	if err := v.done(); err != nil {
		return err
	}
	form, err := c.h.GW.FormFields(c.r.Context(), c.id, gateway.AppRef{ID: app, Space: c.space}, lang)
	if err != nil {
		return err
	}
	return c.reply(form)
}

// labelLang reads the lang parameter of the settings APIs.
func labelLang(v *validation, p kintone.Params) string {
	lang := v.text(p, "lang")
	switch lang {
	case "", "default", "en", "ja", "zh", "user":
	default:
		v.add("lang", kintone.MsgEnum, "default, en, zh, ja, user")
	}
	return lang
}

func getViews(c *call) error {
	v := c.validate()
	app := v.positive(c.params, "app")
	lang := labelLang(v, c.params)
	if err := v.done(); err != nil {
		return err
	}
	views, err := c.h.GW.Views(c.r.Context(), c.id, gateway.AppRef{ID: app, Space: c.space}, lang)
	if err != nil {
		return err
	}
	return c.reply(views)
}

func getFormLayout(c *call) error {
	v := c.validate()
	app := v.positive(c.params, "app")
	if err := v.done(); err != nil {
		return err
	}
	layout, err := c.h.GW.FormLayout(c.r.Context(), c.id, gateway.AppRef{ID: app, Space: c.space})
	if err != nil {
		return err
	}
	return c.reply(layout)
}

// downloadFile serves GET file.json: the fileKey is one of kgate's file
// tokens, which the gateway checks before it asks kintone for the bytes.
func downloadFile(c *call) error {
	v := c.validate()
	token := v.text(c.params, "fileKey")
	if token == "" && v.err == nil {
		v.add("fileKey", kintone.MsgRequiredParam)
	}
	if err := v.done(); err != nil {
		return err
	}
	file, err := c.h.GW.DownloadFile(c.r.Context(), c.id, token)
	if err != nil {
		return err
	}
	return download.Serve(c.w, c.r, file)
}

func getComments(c *call) error {
	v := c.validate()
	req := gateway.CommentsRequest{
		App:    gateway.AppRef{ID: v.positive(c.params, "app"), Space: c.space},
		Record: v.positive(c.params, "record"),
		CommentsPage: gateway.CommentsPage{
			Order:  v.text(c.params, "order"),
			Offset: int(v.optionalInt(c.params, "offset", 0, 2147483647, 0)),
			Limit:  int(v.optionalInt(c.params, "limit", 0, 10, 0)),
		},
	}
	if req.Order != "" && req.Order != "asc" && req.Order != "desc" {
		v.add("order", kintone.MsgEnum, "asc, desc")
	}
	if err := v.done(); err != nil {
		return err
	}
	out, err := c.h.GW.ListComments(c.r.Context(), c.id, req)
	if err != nil {
		return err
	}
	return c.reply(out)
}
