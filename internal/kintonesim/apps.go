package kintonesim

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/kgate/kgate/internal/kintone"
)

// appRevision is the settings revision every app reports; the simulator's
// settings never change after load.
const appRevision = "1"

// appJSON is an app as app.json and apps.json describe it.
func appJSON(a *app) map[string]any {
	var space, thread any
	if a.spaceID != 0 {
		space = strconv.FormatInt(a.spaceID, 10)
	}
	if a.threadID != 0 {
		thread = strconv.FormatInt(a.threadID, 10)
	}
	who := map[string]string{"code": a.creator.code, "name": a.creator.name}
	at := a.createdAt.UTC().Format("2006-01-02T15:04:05.000Z")
	return map[string]any{
		"appId": strconv.FormatInt(a.id, 10), "code": a.code, "name": a.name, "description": a.description,
		"spaceId": space, "threadId": thread, "createdAt": at, "creator": who, "modifiedAt": at, "modifier": who,
	}
}

// GET app.json (the app id comes as "id", not "app")
func getApp(c *call) (any, *kintone.Error) {
	a, err := c.openApp("id", rView)
	if err != nil {
		return nil, err
	}
	return appJSON(a), nil
}

// GET apps.json
func getApps(c *call) (any, *kintone.Error) {
	ve := &verrs{lang: c.lang}
	ids := c.intSet("ids", ve)
	spaces := c.intSet("spaceIds", ve)
	codes := map[string]bool{}
	if list, ok := c.p.list("codes"); ok {
		if len(list) > 100 {
			ve.add("codes", kintone.MsgMaxItems, 100)
		}
		for _, x := range list {
			s, _ := scalarText(x)
			codes[s] = true
		}
	}
	name, _ := c.p.text("name")
	limit, offset := int64(100), int64(0)
	if n, ok := c.p.integer("limit", ve); ok {
		if n < 1 || n > 100 {
			ve.add("limit", kintone.MsgMax, 100)
		}
		limit = n
	}
	if n, ok := c.p.integer("offset", ve); ok {
		if n < 0 || n > 2147483647 {
			ve.add("offset", kintone.MsgMin, 0)
		}
		offset = n
	}
	if ve.failed() {
		return nil, ve.err
	}
	out := []map[string]any{}
	skipped := int64(0)
	for _, id := range c.st.order {
		a := c.st.apps[id]
		switch {
		case len(ids) > 0 && !ids[a.id],
			len(codes) > 0 && !codes[a.code],
			len(spaces) > 0 && !spaces[a.spaceID],
			name != "" && !strings.Contains(strings.ToLower(a.name), strings.ToLower(name)),
			c.space != 0 && a.spaceID != c.space,
			c.may(a, rView) != nil:
			continue
		}
		if skipped < offset {
			skipped++
			continue
		}
		if int64(len(out)) >= limit {
			break
		}
		out = append(out, appJSON(a))
	}
	return map[string]any{"apps": out}, nil
}

// intSet reads an array of ids (at most 100).
func (c *call) intSet(key string, ve *verrs) map[int64]bool {
	list, ok := c.p.list(key)
	if !ok {
		return nil
	}
	if len(list) > 100 {
		ve.add(key, kintone.MsgMaxItems, 100)
	}
	set := map[int64]bool{}
	for i, x := range list {
		n, good := asInt(x)
		if !good {
			ve.add(key+"["+strconv.Itoa(i)+"]", kintone.MsgInteger)
			continue
		}
		set[n] = true
	}
	return set
}

// langParam checks the lang parameter of the settings APIs.
func (c *call) langParam() *kintone.Error {
	l, ok := c.p.text("lang")
	if !ok {
		return nil
	}
	switch l {
	case "default", "en", "zh", "ja", "user":
		return nil
	}
	return kintone.Invalid(c.lang).With("lang", kintone.Message(kintone.MsgEnum, c.lang, "default, en, zh, ja, user"))
}

// GET app/form/fields.json
func getFields(c *call) (any, *kintone.Error) {
	a, err := c.openApp("app", rView)
	if err != nil {
		return nil, err
	}
	if err := c.langParam(); err != nil {
		return nil, err
	}
	lang := c.labelLang()
	props := make(map[string]any, len(a.form))
	for _, p := range a.form {
		props[p.Code] = propertyJSON(a.localized(p, lang))
	}
	return map[string]any{"properties": props, "revision": appRevision}, nil
}

// propertyJSON renders a field property with every key kintone sends for
// its type, not only the ones the seed set.
func propertyJSON(p kintone.FieldProperty) map[string]any {
	b, _ := json.Marshal(p)
	var m map[string]any
	json.Unmarshal(b, &m)
	for k, v := range propertyDefaults(p.Type) {
		if _, ok := m[k]; !ok {
			m[k] = v
		}
	}
	if p.Type == "SUBTABLE" {
		inner := map[string]any{}
		for code, ip := range p.Fields {
			ip.Code = code
			inner[code] = propertyJSON(ip)
		}
		m["fields"] = inner
	}
	return m
}

func propertyDefaults(typ string) map[string]any {
	d := map[string]any{"noLabel": false}
	input := func() { d["required"] = false }
	switch typ {
	case "SINGLE_LINE_TEXT", "LINK":
		input()
		d["unique"], d["minLength"], d["maxLength"], d["defaultValue"] = false, "", "", ""
		if typ == "SINGLE_LINE_TEXT" {
			d["expression"], d["hideExpression"] = "", false
		} else {
			d["protocol"] = "WEB"
		}
	case "MULTI_LINE_TEXT", "RICH_TEXT":
		input()
		d["defaultValue"] = ""
	case "NUMBER":
		input()
		d["unique"], d["minValue"], d["maxValue"], d["defaultValue"] = false, "", "", ""
		d["digit"], d["displayScale"], d["unit"], d["unitPosition"] = false, "", "", "BEFORE"
	case "CALC":
		input()
		d["expression"], d["format"], d["displayScale"], d["unit"], d["unitPosition"], d["hideExpression"] = "", "NUMBER", "", "", "BEFORE", false
	case "RADIO_BUTTON", "DROP_DOWN":
		input()
		d["defaultValue"], d["options"] = "", map[string]any{}
		if typ == "RADIO_BUTTON" {
			d["align"] = "HORIZONTAL"
		}
	case "CHECK_BOX", "MULTI_SELECT":
		input()
		d["defaultValue"], d["options"] = []any{}, map[string]any{}
		if typ == "CHECK_BOX" {
			d["align"] = "HORIZONTAL"
		}
	case "DATE", "TIME", "DATETIME":
		input()
		d["defaultValue"], d["defaultNowValue"] = "", false
		if typ != "TIME" {
			d["unique"] = false
		}
	case "USER_SELECT", "ORGANIZATION_SELECT", "GROUP_SELECT":
		input()
		d["defaultValue"], d["entities"] = []any{}, []any{}
	case "FILE":
		input()
		d["thumbnailSize"] = "150"
	case "STATUS", "STATUS_ASSIGNEE", "CATEGORY":
		delete(d, "noLabel")
	}
	return d
}

// GET app/settings.json: the app's general settings. The seed holds the
// name, description, comment switch and number precision; the rest is what
// kintone gives a new app (the icon key, bulk deletion off and April as the
// first month of the fiscal year are unverified defaults). App names are
// not localized in the seed, so lang is checked but changes nothing.
func getSettings(c *call) (any, *kintone.Error) {
	a, err := c.openApp("app", rView)
	if err != nil {
		return nil, err
	}
	if err := c.langParam(); err != nil {
		return nil, err
	}
	return map[string]any{
		"name":                      a.name,
		"description":               a.description,
		"icon":                      map[string]string{"type": "PRESET", "key": "APP72"},
		"theme":                     "WHITE",
		"titleField":                map[string]string{"selectionMode": "AUTO", "code": ""},
		"enableThumbnails":          true,
		"enableBulkDeletion":        false,
		"enableComments":            a.comments,
		"enableDuplicateRecord":     true,
		"enableInlineRecordEditing": true,
		"numberPrecision": map[string]string{
			"digits":        strconv.Itoa(a.prec.digits),
			"decimalPlaces": strconv.Itoa(a.prec.places),
			"roundingMode":  a.prec.mode.String(),
		},
		"firstMonthOfFiscalYear": "4",
		"revision":               appRevision,
	}, nil
}

// GET app/form/layout.json
func getLayout(c *call) (any, *kintone.Error) {
	a, err := c.openApp("app", rView)
	if err != nil {
		return nil, err
	}
	return map[string]any{"layout": json.RawMessage(a.layout), "revision": appRevision}, nil
}

// GET app/status.json
func getStatus(c *call) (any, *kintone.Error) {
	a, err := c.openApp("app", rView)
	if err != nil {
		return nil, err
	}
	if err := c.langParam(); err != nil {
		return nil, err
	}
	sp := a.seed.Process
	if sp == nil {
		return map[string]any{"enable": false, "states": nil, "actions": nil, "revision": appRevision}, nil
	}
	states := make(inIndexOrder, 0, len(sp.States))
	for i, st := range sp.States {
		ents := []any{}
		for _, e := range st.Assignee.Entities {
			ref := map[string]any{"type": e.Entity.Type, "code": nil}
			if e.Entity.Code != "" {
				ref["code"] = e.Entity.Code
			}
			ents = append(ents, map[string]any{"entity": ref, "includeSubs": e.IncludeSubs})
		}
		typ := st.Assignee.Type
		if typ == "" {
			typ = "ONE"
		}
		states = append(states, member{st.Name, map[string]any{"name": st.Name, "index": strconv.Itoa(i),
			"assignee": map[string]any{"type": typ, "entities": ents}}})
	}
	actions := []any{}
	for _, ac := range sp.Actions {
		typ := ac.Type
		if typ == "" {
			typ = "PRIMARY"
		}
		actions = append(actions, map[string]any{"name": ac.Name, "from": ac.From, "to": ac.To, "filterCond": ac.FilterCond, "type": typ})
	}
	return map[string]any{"enable": sp.Enable, "states": states, "actions": actions, "revision": appRevision}, nil
}

// inIndexOrder is a JSON object whose members come in their slice order:
// kintone lists an app's states by index, where a map would sort them by
// name.
type inIndexOrder []member

type member struct {
	name  string
	value any
}

func (o inIndexOrder) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, m := range o {
		if i > 0 {
			b = append(b, ',')
		}
		k, err := json.Marshal(m.name)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(m.value)
		if err != nil {
			return nil, err
		}
		b = append(append(append(b, k...), ':'), v...)
	}
	return append(b, '}'), nil
}
