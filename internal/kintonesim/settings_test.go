package kintonesim

import (
	"strings"
	"testing"
)

// settingsSeed has an app with its own number precision (counts written
// as a number and as a string) and a guest-space app with comments off and
// kintone's default precision.
const settingsSeed = `{"language": "en",
 "users": [{"code": "alice", "password": "alice-pw", "name": "Alice"}, {"code": "bob", "password": "bob-pw", "name": "Bob"}],
 "apps": [
  {"id": 5, "code": "LEDGER", "name": "Ledger", "description": "<b>Money</b> in and out",
   "numberPrecision": {"digits": 20, "decimalPlaces": "2", "roundingMode": "DOWN"},
   "rights": {"alice": ["view"]},
   "tokens": [{"token": "tok-ledger", "view": true}],
   "fields": [{"type": "NUMBER", "code": "amount", "label": "Amount"}]},
  {"id": 6, "name": "Guest notes", "spaceId": 9, "commentsDisabled": true,
   "tokens": [{"token": "tok-guest", "view": true}],
   "fields": [{"type": "SINGLE_LINE_TEXT", "code": "title", "label": "Title"}]}]}`

// TestAppSettingsShowTheSeedsSettings: app/settings.json answers on the
// normal, guest and preview paths with every key kintone sends, the name,
// description, comment switch and number precision from the seed, and
// kintone's defaults for the rest.
func TestAppSettingsShowTheSeedsSettings(t *testing.T) {
	s := newSeeded(t, settingsSeed)
	ledger := `{"description":"\u003cb\u003eMoney\u003c/b\u003e in and out","enableBulkDeletion":false,"enableComments":true,` +
		`"enableDuplicateRecord":true,"enableInlineRecordEditing":true,"enableThumbnails":true,"firstMonthOfFiscalYear":"4",` +
		`"icon":{"key":"APP72","type":"PRESET"},"name":"Ledger","numberPrecision":{"decimalPlaces":"2","digits":"20","roundingMode":"DOWN"},` +
		`"revision":"1","theme":"WHITE","titleField":{"code":"","selectionMode":"AUTO"}}`
	guest := strings.NewReplacer(`"enableComments":true`, `"enableComments":false`,
		`"name":"Ledger"`, `"name":"Guest notes"`,
		`"\u003cb\u003eMoney\u003c/b\u003e in and out"`, `""`,
		`{"decimalPlaces":"2","digits":"20","roundingMode":"DOWN"}`, `{"decimalPlaces":"4","digits":"16","roundingMode":"HALF_EVEN"}`).Replace(ledger)
	tests := []struct {
		name string
		req  req
		want string
	}{
		{"normal path", req{path: "/k/v1/app/settings.json?app=5", token: "tok-ledger"}, ledger},
		{"preview path", req{path: "/k/v1/preview/app/settings.json?app=5", token: "tok-ledger"}, ledger},
		{"app in the body", req{path: "/k/v1/app/settings.json", token: "tok-ledger", body: map[string]any{"app": "5"}}, ledger},
		{"user with view", req{path: "/k/v1/app/settings.json?app=5", user: "alice"}, ledger},
		{"lang names no other language: app names are not localized", req{path: "/k/v1/app/settings.json?app=5&lang=ja", token: "tok-ledger"}, ledger},
		{"lang=user", req{path: "/k/v1/app/settings.json?app=5&lang=user", token: "tok-ledger"}, ledger},
		{"guest path, default precision, comments off", req{path: "/k/guest/9/v1/app/settings.json?app=6", token: "tok-guest"}, guest},
		{"guest preview path", req{path: "/k/guest/9/v1/preview/app/settings.json?app=6&lang=default", token: "tok-guest"}, guest},
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

// TestAppSettingsErrors: app/settings.json refuses as the other settings
// APIs do, in kintone's error shape.
func TestAppSettingsErrors(t *testing.T) {
	s := newSeeded(t, settingsSeed)
	tests := []struct {
		name   string
		req    req
		status int
		code   string
		key    string // an entry expected in "errors"
	}{
		{"unknown app", req{method: "GET", path: "/k/v1/app/settings.json?app=99", token: "tok-ledger"}, 404, "GAIA_AP01", ""},
		{"app missing", req{method: "GET", path: "/k/v1/app/settings.json", token: "tok-ledger"}, 400, "CB_VA01", "app"},
		{"app not a number", req{method: "GET", path: "/k/v1/app/settings.json?app=x", token: "tok-ledger"}, 400, "CB_VA01", "app"},
		{"bad lang", req{method: "GET", path: "/k/v1/app/settings.json?app=5&lang=fr", token: "tok-ledger"}, 400, "CB_VA01", "lang"},
		{"guest app on the normal path", req{method: "GET", path: "/k/v1/app/settings.json?app=6", token: "tok-guest"}, 400, "GAIA_IL23", ""},
		{"app outside the guest space", req{method: "GET", path: "/k/guest/9/v1/app/settings.json?app=5", token: "tok-ledger"}, 403, "CB_NO02", ""},
		{"another guest space", req{method: "GET", path: "/k/guest/8/v1/app/settings.json?app=6", token: "tok-guest"}, 403, "CB_NO02", ""},
		{"token of another app", req{method: "GET", path: "/k/v1/app/settings.json?app=5", token: "tok-guest"}, 403, "GAIA_NO01", ""},
		{"user without a right on the app", req{method: "GET", path: "/k/v1/app/settings.json?app=5", user: "bob"}, 403, "CB_NO02", ""},
		{"no credentials", req{method: "GET", path: "/k/v1/app/settings.json?app=5"}, 401, "CB_AU01", ""},
		{"changing settings is not simulated", req{method: "PUT", path: "/k/v1/preview/app/settings.json", token: "tok-ledger", body: map[string]any{"app": 5}}, 404, "CB_NO01", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, s, tt.req)
			if r.status != tt.status || r.code() != tt.code {
				t.Fatalf("got %d %s, want %d %s: %s", r.status, r.code(), tt.status, tt.code, r.body)
			}
			m := r.obj(t)
			if id, _ := m["id"].(string); id == "" || m["message"] == "" {
				t.Errorf("no id or message: %s", r.body)
			}
			if tt.key != "" {
				if errs, _ := m["errors"].(map[string]any); errs[tt.key] == nil {
					t.Errorf("no errors[%q]: %s", tt.key, r.body)
				}
			}
		})
	}
}

// TestNumberPrecisionSurvivesASnapshot: a persisted simulator keeps an
// app's precision, both in settings.json and in how it rounds.
func TestNumberPrecisionSurvivesASnapshot(t *testing.T) {
	again, err := New(newSeeded(t, settingsSeed).Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	got := must(t, do(t, again, req{method: "GET", path: "/k/v1/app/settings.json?app=5", token: "tok-ledger"})).obj(t)["numberPrecision"]
	if js(got) != `{"decimalPlaces":"2","digits":"20","roundingMode":"DOWN"}` {
		t.Fatalf("after a snapshot numberPrecision is %s", js(got))
	}
	if got := roundTrip(again, 5, "1.999"); got != "1.99" {
		t.Fatalf("after a snapshot 1.999 is stored as %s", got)
	}
}

// roundTrip adds a record with amount written as in to app (as root) and
// returns the amount stored.
func roundTrip(s *Server, app int64, in string) string {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	c := &call{s: s, st: s.st, lang: "en", who: &caller{root: true}, now: s.now()}
	s.st.begin()
	defer s.st.rollback()
	a := s.st.apps[app]
	r, kerr := c.buildRecord(a, nil, map[string]any{"amount": map[string]any{"value": in}}, keys{base: "record"}, false)
	if kerr != nil {
		return describe(kerr)
	}
	return r.vals[a.byCode["amount"].idx].s
}
