package kintonesim

import (
	"strings"
	"testing"
)

// viewsSeed has an app with one view of each type and an app without
// views, in a guest space.
const viewsSeed = `{"language": "en",
 "users": [{"code": "alice", "password": "alice-pw", "name": "Alice"}, {"code": "bob", "password": "bob-pw", "name": "Bob"}],
 "apps": [
  {"id": 5, "name": "Ledger", "rights": {"alice": ["view"]},
   "tokens": [{"token": "tok-ledger", "view": true}],
   "fields": [{"type": "SINGLE_LINE_TEXT", "code": "title", "label": "Title"},
              {"type": "NUMBER", "code": "amount", "label": "Amount"},
              {"type": "DATE", "code": "due", "label": "Due"}],
   "views": [
    {"name": "Big ones", "id": "71", "fields": ["title", "amount"], "filterCond": "amount > 1000", "sort": "amount desc"},
    {"name": "Due dates", "type": "CALENDAR", "date": "due", "title": "title", "device": "ANY"},
    {"name": "Board", "type": "CUSTOM", "html": "<div id=\"board\"></div>", "pager": false}]},
  {"id": 6, "name": "Guest notes", "spaceId": 9,
   "tokens": [{"token": "tok-guest", "view": true}],
   "fields": [{"type": "SINGLE_LINE_TEXT", "code": "title", "label": "Title"},
              {"type": "SUBTABLE", "code": "items", "label": "Items", "fields": [{"type": "NUMBER", "code": "qty", "label": "Qty"}]},
              {"type": "RECORD_NUMBER", "code": "No", "label": "No."}]}]}`

// TestViewsShowTheSeedsViews: app/views.json answers on the normal, guest
// and preview paths with each view keyed by name, the keys of its type,
// its position as index and kintone's defaults for what the seed left out;
// an app without views has kintone's one list of every field a list can
// show.
func TestViewsShowTheSeedsViews(t *testing.T) {
	s := newSeeded(t, viewsSeed)
	ledger := `{"revision":"1","views":{` +
		`"Big ones":{"device":"DESKTOP","fields":["title","amount"],"filterCond":"amount \u003e 1000","id":"71","index":"0","name":"Big ones","sort":"amount desc","type":"LIST"},` +
		`"Board":{"device":"DESKTOP","filterCond":"","html":"\u003cdiv id=\"board\"\u003e\u003c/div\u003e","id":"5003","index":"2","name":"Board","pager":false,"sort":"Record_number desc","type":"CUSTOM"},` +
		`"Due dates":{"date":"due","device":"ANY","filterCond":"","id":"5002","index":"1","name":"Due dates","sort":"Record_number desc","title":"title","type":"CALENDAR"}}}`
	guest := `{"revision":"1","views":{"All records":{"device":"DESKTOP","fields":["title","No","Created_by","Updated_by","Created_datetime","Updated_datetime"],` +
		`"filterCond":"","id":"6000","index":"0","name":"All records","sort":"No desc","type":"LIST"}}}`
	tests := []struct {
		name string
		req  req
		want string
	}{
		{"normal path", req{path: "/k/v1/app/views.json?app=5", token: "tok-ledger"}, ledger},
		{"preview path", req{path: "/k/v1/preview/app/views.json?app=5", token: "tok-ledger"}, ledger},
		{"app in the body", req{path: "/k/v1/app/views.json", token: "tok-ledger", body: map[string]any{"app": "5"}}, ledger},
		{"user with view", req{path: "/k/v1/app/views.json?app=5", user: "alice"}, ledger},
		{"lang: view names are not localized", req{path: "/k/v1/app/views.json?app=5&lang=ja", token: "tok-ledger"}, ledger},
		{"no views in the seed: kintone's default list", req{path: "/k/guest/9/v1/app/views.json?app=6", token: "tok-guest"}, guest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.method = "GET"
			if got := js(must(t, do(t, s, tt.req)).obj(t)); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestViewsErrors: app/views.json refuses as the other settings APIs do.
func TestViewsErrors(t *testing.T) {
	s := newSeeded(t, viewsSeed)
	tests := []struct {
		name   string
		req    req
		status int
		code   string
	}{
		{"unknown app", req{method: "GET", path: "/k/v1/app/views.json?app=99", token: "tok-ledger"}, 404, "GAIA_AP01"},
		{"app missing", req{method: "GET", path: "/k/v1/app/views.json", token: "tok-ledger"}, 400, "CB_VA01"},
		{"bad lang", req{method: "GET", path: "/k/v1/app/views.json?app=5&lang=fr", token: "tok-ledger"}, 400, "CB_VA01"},
		{"guest app on the normal path", req{method: "GET", path: "/k/v1/app/views.json?app=6", token: "tok-guest"}, 400, "GAIA_IL23"},
		{"user without a right on the app", req{method: "GET", path: "/k/v1/app/views.json?app=5", user: "bob"}, 403, "CB_NO02"},
		{"token of another app", req{method: "GET", path: "/k/v1/app/views.json?app=5", token: "tok-guest"}, 403, "GAIA_NO01"},
		{"changing views is not simulated", req{method: "PUT", path: "/k/v1/preview/app/views.json", token: "tok-ledger", body: map[string]any{"app": 5}}, 404, "CB_NO01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := do(t, s, tt.req); r.status != tt.status || r.code() != tt.code {
				t.Fatalf("got %d %s, want %d %s: %s", r.status, r.code(), tt.status, tt.code, r.body)
			}
		})
	}
}

// TestSeedViewsAreChecked: a view kintone could not hold is a load error
// naming the app, the view and what is wrong with it.
func TestSeedViewsAreChecked(t *testing.T) {
	tests := []struct {
		name, view, want string
	}{
		{"unknown type", `{"name": "v", "type": "GANTT"}`, `type "GANTT"`},
		{"no name", `{"fields": ["title"]}`, "name is required"},
		{"unknown column", `{"name": "v", "fields": ["nope"]}`, `"nope" is not a top-level field`},
		{"a table's column", `{"name": "v", "fields": ["qty"]}`, `"qty" is not a top-level field`},
		{"calendar on a text field", `{"name": "v", "type": "CALENDAR", "date": "title", "title": "title"}`, "not a date"},
		{"calendar without a title", `{"name": "v", "type": "CALENDAR", "date": "due"}`, `title: "" is not`},
		{"list with a date", `{"name": "v", "date": "due"}`, "a LIST view takes fields"},
		{"custom with columns", `{"name": "v", "type": "CUSTOM", "fields": ["title"]}`, "a CUSTOM view takes html"},
		{"condition on an unknown field", `{"name": "v", "filterCond": "nope = \"x\""}`, "filterCond"},
		{"condition that does not parse", `{"name": "v", "filterCond": "title = "}`, "filterCond"},
		{"sort on a table's column", `{"name": "v", "sort": "qty asc"}`, "sort"},
		{"limit in the sort", `{"name": "v", "sort": "title asc limit 5"}`, "limit and offset"},
		{"bad device", `{"name": "v", "device": "PHONE"}`, `device "PHONE"`},
		{"bad builtin type", `{"name": "v", "builtinType": "ALL"}`, `builtinType "ALL"`},
		{"bad id", `{"name": "v", "id": "x"}`, `id "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seed := `{"apps": [{"id": 2, "code": "B", "name": "B", "fields": [
				{"type": "SINGLE_LINE_TEXT", "code": "title", "label": "Title"},
				{"type": "DATE", "code": "due", "label": "Due"},
				{"type": "SUBTABLE", "code": "items", "label": "Items", "fields": [{"type": "NUMBER", "code": "qty", "label": "Qty"}]}],
				"views": [` + tt.view + `]}]}`
			err := loadErr(seed)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "app 2 (B)") {
				t.Fatalf("got %v, want an error naming app 2 (B) and %q", err, tt.want)
			}
		})
	}
	err := loadErr(`{"apps": [{"id": 2, "name": "B", "fields": [{"type": "SINGLE_LINE_TEXT", "code": "title", "label": "Title"}],
		"views": [{"name": "v"}, {"name": "v"}]}]}`)
	if err == nil || !strings.Contains(err.Error(), `duplicate name "v"`) {
		t.Fatalf("two views of one name: got %v", err)
	}
	err = loadErr(`{"apps": [{"id": 2, "name": "B", "fields": [], "views": [{"name": "v", "colour": "red"}]}]}`)
	if err == nil || !strings.Contains(err.Error(), "colour") {
		t.Fatalf("a view with an unknown key: got %v", err)
	}
}

// loadErr is the error of building a simulator from seed, if any.
func loadErr(seed string) error {
	sd, err := ParseSeed([]byte(seed))
	if err != nil {
		return err
	}
	_, err = New(sd)
	return err
}

// TestViewsSurviveASnapshot: a persisted simulator keeps the seed's views
// as it was given them.
func TestViewsSurviveASnapshot(t *testing.T) {
	s := newSeeded(t, viewsSeed)
	before := js(must(t, do(t, s, req{method: "GET", path: "/k/v1/app/views.json?app=5", token: "tok-ledger"})).obj(t))
	again, err := New(s.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	after := js(must(t, do(t, again, req{method: "GET", path: "/k/v1/app/views.json?app=5", token: "tok-ledger"})).obj(t))
	if after != before {
		t.Fatalf("after a snapshot\n%s\nwas\n%s", after, before)
	}
}
