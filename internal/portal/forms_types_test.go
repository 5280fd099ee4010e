package portal

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintonesim"
)

// The kitchen app has a field of every type a form may offer, a few it
// may not, and a table of several types. Gold members write all of it.
const kitchenApp = 6

func kitchenWorld(t *testing.T) *world {
	t.Helper()
	field := func(v map[string]any) json.RawMessage {
		b, _ := json.Marshal(v)
		return b
	}
	writable := []any{"text", "note", "rich", "count", "day", "at", "when", "pick", "radio", "checks", "multi",
		"web", "phone", "mail", "who", "lines", "when2", "choice", "flag", "qty"}
	return newWorldWith(t, worldOptions{
		seed: func(s *kintonesim.Seed) {
			s.Apps = append(s.Apps, kintonesim.SeedApp{ID: kitchenApp, Code: "kitchen", Name: "Kitchen",
				Tokens: []kintonesim.SeedToken{{Token: "demo-token-kitchen", View: true, Add: true, Edit: true, Delete: true}},
				Fields: []json.RawMessage{
					field(map[string]any{"type": "SINGLE_LINE_TEXT", "code": "text", "label": "Text", "required": true}),
					field(map[string]any{"type": "MULTI_LINE_TEXT", "code": "note", "label": "Note"}),
					field(map[string]any{"type": "RICH_TEXT", "code": "rich", "label": "Rich"}),
					field(map[string]any{"type": "NUMBER", "code": "count", "label": "Count", "unit": "kg", "unitPosition": "AFTER", "minValue": "1", "maxValue": "10"}),
					field(map[string]any{"type": "DATE", "code": "day", "label": "Day"}),
					field(map[string]any{"type": "TIME", "code": "at", "label": "At"}),
					field(map[string]any{"type": "DATETIME", "code": "when", "label": "When"}),
					field(map[string]any{"type": "DROP_DOWN", "code": "pick", "label": "Pick", "options": []string{"a", "b", "c"}}),
					field(map[string]any{"type": "RADIO_BUTTON", "code": "radio", "label": "Radio", "options": []string{"x", "y", "z"}, "defaultValue": "y"}),
					field(map[string]any{"type": "CHECK_BOX", "code": "checks", "label": "Checks", "options": []string{"p", "q", "r"}}),
					field(map[string]any{"type": "MULTI_SELECT", "code": "multi", "label": "Multi", "options": []string{"m1", "m2"}}),
					field(map[string]any{"type": "LINK", "code": "web", "label": "Web", "protocol": "WEB"}),
					field(map[string]any{"type": "LINK", "code": "phone", "label": "Phone", "protocol": "CALL"}),
					field(map[string]any{"type": "LINK", "code": "mail", "label": "Mail", "protocol": "MAIL"}),
					field(map[string]any{"type": "USER_SELECT", "code": "who", "label": "Who"}),
					field(map[string]any{"type": "SUBTABLE", "code": "lines", "label": "Lines", "fields": []any{
						map[string]any{"type": "DATETIME", "code": "when2", "label": "When 2"},
						map[string]any{"type": "DROP_DOWN", "code": "choice", "label": "Choice", "options": []string{"k1", "k2"}},
						map[string]any{"type": "CHECK_BOX", "code": "flag", "label": "Flag", "options": []string{"on"}},
						map[string]any{"type": "NUMBER", "code": "qty", "label": "Qty", "minValue": "0"},
					}}),
				},
			})
		},
		apps: []gateway.App{{ID: "6", Alias: "kitchen", Tokens: []string{"demo-token-kitchen"}}},
		policy: func(data map[string]any) {
			data["apps"].(map[string]any)["kitchen"] = map[string]any{"levels": map[string]any{"gold": map[string]any{
				"actions": []any{"read", "create", "update", "file.read", "file.write"}, "scope": "all",
				"readable": []any{"*"}, "writable": writable}}}
		},
	})
}

func TestEveryFieldTypeHasItsInput(t *testing.T) {
	w := kitchenWorld(t)
	b := w.browser("alice", "en")
	b.who.TimeZone = "America/New_York"
	r := b.get(t, "/apps/kitchen/new")
	if r.Code != http.StatusOK {
		t.Fatalf("status %d:\n%s", r.Code, r.body)
	}
	mustContain(t, r.body,
		`<input type="text" id="f-text" name="f.text" value="" aria-required="true">`,
		`<textarea id="f-note" name="f.note" rows="5">`,
		`<p class="hint" id="f-rich-hint">Basic formatting with HTML is kept`,
		`<label for="f-count">Count<span class="visually-hidden"> (kg)</span></label>`,
		`<p class="hint" id="f-count-hint">From 1 to 10.</p>`,
		`<input type="text" inputmode="decimal" id="f-count" name="f.count" value="" aria-describedby="f-count-hint"><span class="unit" aria-hidden="true">kg</span>`,
		`<input type="date" id="f-day" name="f.day" value="">`,
		`<input type="time" id="f-at" name="f.at" value="">`,
		`<p class="hint" id="f-when-hint">In the America/New_York time zone.</p><input type="datetime-local" id="f-when" name="f.when" value="" aria-describedby="f-when-hint">`,
		`<select id="f-pick" name="f.pick"><option value="">Choose…</option><option value="a">a</option>`,
		// groups of options are fieldsets, with the form's default chosen
		"<fieldset class=\"field group wide\">\n<legend>Radio</legend>",
		`<input type="radio" id="f-radio-1" name="f.radio" value="y" checked>`,
		`<input type="checkbox" id="f-checks-0" name="f.checks" value="p"><label for="f-checks-0">p</label>`,
		`<input type="checkbox" id="f-multi-1" name="f.multi" value="m2">`,
		`<input type="url" id="f-web" name="f.web"`, `<input type="tel" id="f-phone" name="f.phone"`, `<input type="email" id="f-mail" name="f.mail"`,
		// in a table: date-times, drop-downs, check boxes, numbers
		`<input type="datetime-local" id="t-lines-0-when2" name="t.lines.0.when2" value="" aria-labelledby="t-lines-h-when2 t-lines-0-n">`,
		`<select id="t-lines-0-choice" name="t.lines.0.choice" aria-labelledby="t-lines-h-choice t-lines-0-n">`,
		`<div class="choices" role="group" aria-labelledby="t-lines-h-flag t-lines-0-n">`,
	)
	// A user picker needs kintone's user codes, which partners do not know.
	mustNotContain(t, r.body, `name="f.who"`)

	f := formOf(t, r.body, "/apps/kitchen/new")
	for k, v := range map[string]string{"f.text": "All of it", "f.note": "a\r\nb", "f.rich": `<p onclick="x()">Hi <b>there</b></p><script>bad()</script>`,
		"f.count": "３", "f.day": "2026/4/1", "f.at": "09:05", "f.when": "2026-11-18T09:30", "f.pick": "b", "f.radio": "z",
		"f.web": "https://example.com/x", "f.phone": "+81-3-1234-5678", "f.mail": "x@example.com",
		"t.lines.0.when2": "2026-07-01T23:15", "t.lines.0.choice": "k2", "t.lines.0.qty": "4"} {
		f.values.Set(k, v)
	}
	f.values["f.checks"] = []string{"", "r", "p"}
	f.values["f.multi"] = []string{"", "m2"}
	f.values["t.lines.0.flag"] = []string{"", "on"}
	created := b.postMultipart(t, "/apps/kitchen/new", f.values)
	if created.Code != http.StatusSeeOther {
		t.Fatalf("status %d:\n%s", created.Code, created.body)
	}
	got := w.stored(t, kitchenApp, "1")
	for code, want := range map[string]string{
		"text": "All of it", "note": "a\nb", "rich": `<p>Hi <b>there</b></p>`, "count": "3", "day": "2026-04-01", "at": "09:05",
		"when": "2026-11-18T14:30:00Z", "pick": "b", "radio": "z", "web": "https://example.com/x", "mail": "x@example.com",
	} {
		if v := textValue(got, code); v != want {
			t.Errorf("%s = %q, want %q", code, v, want)
		}
	}
	var checks, multi []string
	json.Unmarshal(got["checks"].Value, &checks)
	json.Unmarshal(got["multi"].Value, &multi)
	if !reflect.DeepEqual(checks, []string{"p", "r"}) || !reflect.DeepEqual(multi, []string{"m2"}) {
		t.Errorf("checks %v, multi %v", checks, multi)
	}
	var lines []struct {
		Value map[string]struct{ Value json.RawMessage }
	}
	json.Unmarshal(got["lines"].Value, &lines)
	if len(lines) != 1 || string(lines[0].Value["when2"].Value) != `"2026-07-02T03:15:00Z"` || string(lines[0].Value["flag"].Value) != `["on"]` {
		t.Errorf("lines %s", got["lines"].Value)
	}

	// The edit form shows the values back in the member's zone, and sent
	// unchanged it changes no value.
	edit := b.get(t, "/apps/kitchen/records/1/edit")
	mustContain(t, edit.body, `name="f.when" value="2026-11-18T09:30"`, `name="t.lines.0.when2" value="2026-07-01T23:15"`,
		`<input type="radio" id="f-radio-2" name="f.radio" value="z" checked>`, `<option value="k2" selected>k2</option>`)
	ef := formOf(t, edit.body, "/apps/kitchen/records/1/edit")
	if r := b.postMultipart(t, "/apps/kitchen/records/1/edit", ef.values); r.Code != http.StatusSeeOther {
		t.Fatalf("unchanged edit: status %d:\n%s", r.Code, r.body)
	}
	after := w.stored(t, kitchenApp, "1")
	for code := range got {
		if code != "$revision" && string(got[code].Value) != string(after[code].Value) {
			t.Errorf("%s changed: %s → %s", code, got[code].Value, after[code].Value)
		}
	}
}

func TestErrorsInATableAreShownAtTheirCells(t *testing.T) {
	w := kitchenWorld(t)
	b := w.browser("alice", "en")
	f := formOf(t, b.get(t, "/apps/kitchen/new").body, "/apps/kitchen/new")
	f.values.Set("f.text", "cells")
	// Row 0 is left blank and dropped: the row kintone names as 1 is the
	// second row sent, which the form shows again as its second row.
	f.values.Set("t.lines.1.qty", "1")
	f.values.Set("t.lines.2.qty", "-1")
	r := b.postMultipart(t, "/apps/kitchen/new", f.values)
	if r.Code != http.StatusBadRequest {
		t.Fatalf("status %d:\n%s", r.Code, r.body)
	}
	mustContain(t, r.body,
		`<a href="#t-lines-1-qty">Lines, row 2, Qty: The value must be 0 or more.</a>`,
		`id="t-lines-1-qty" name="t.lines.1.qty" value="-1" aria-describedby="t-lines-1-qty-error" aria-invalid="true" aria-labelledby="t-lines-h-qty t-lines-1-n"`,
		`<p class="field-error" id="t-lines-1-qty-error">`)
}
