package kintonesim

import (
	"strings"
	"testing"
)

// TestSeedErrorsSayWhere: a bad seed is refused with the file, the app and
// the field named.
func TestSeedErrorsSayWhere(t *testing.T) {
	app := func(fields, extra string) string {
		return `{"apps":[{"id":2,"code":"budget","name":"B","fields":[` + fields + `]` + extra + `}]}`
	}
	tests := []struct {
		name, seed, want string
	}{
		{"unknown key", `{"apps":[],"colour":1}`, `unknown field "colour"`},
		{"unknown type", app(`{"type":"NUMBR","code":"n","label":"N"}`, ""), `x.json: app 2 (budget): field "n": unknown type "NUMBR"`},
		{"duplicate code", app(`{"type":"NUMBER","code":"n","label":"N"},{"type":"NUMBER","code":"n","label":"N"}`, ""), `field "n": duplicate field code`},
		{"options missing", app(`{"type":"DROP_DOWN","code":"d","label":"D"}`, ""), `field "d": DROP_DOWN needs options`},
		{"subtable in subtable", app(`{"type":"SUBTABLE","code":"t","label":"T","fields":[{"type":"SUBTABLE","code":"u","label":"U","fields":[{"type":"NUMBER","code":"x","label":"X"}]}]}`, ""), `inner field "u"`},
		{"bad record value", app(`{"type":"NUMBER","code":"n","label":"N","maxValue":5}`, `,"records":[{"n":{"value":"9"}}]`), `records[0]: CB_VA01 Missing or invalid input.; records[0].n.value: The value must be 5 or less.`},
		{"unknown record field", app(`{"type":"NUMBER","code":"n","label":"N"}`, `,"records":[{"m":{"value":"9"}}]`), `records[0]: unknown field "m"`},
		{"lookup to nowhere", app(`{"type":"SINGLE_LINE_TEXT","code":"k","label":"K","lookup":{"relatedApp":{"app":"9"},"relatedKeyField":"x","fieldMappings":[]}}`, ""), `field "k": lookup: related app`},
		{"process to an unknown state", app(`{"type":"NUMBER","code":"n","label":"N"}`, `,"process":{"enable":true,"states":[{"name":"A","assignee":{"type":"ONE","entities":[]}}],"actions":[{"name":"Go","from":"A","to":"B"}]}`), `process: action "Go": unknown state "B"`},
		{"unknown user in rights", app(`{"type":"NUMBER","code":"n","label":"N"}`, `,"rights":{"zed":["view"]}`), `rights: unknown user "zed"`},
		{"duplicate token", `{"apps":[{"id":1,"name":"A","fields":[],"tokens":[{"token":"t"}]},{"id":2,"name":"B","fields":[],"tokens":[{"token":"t"}]}]}`, `app 2: tokens: token "t" is also a token of app 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seed, err := ParseSeed([]byte(tt.seed))
			if err == nil {
				seed.name = "x.json"
				_, err = New(seed)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestJSONBodyNeedsItsContentType: without Content-Type: application/json
// the body is not read, so the parameters are missing.
func TestJSONBodyNeedsItsContentType(t *testing.T) {
	s := newSim(t)
	r := do(t, s, req{method: "GET", path: "/k/v1/records.json", token: "tok-orders", body: map[string]any{"app": 2}, header: map[string]string{"Content-Type": "text/plain"}})
	if r.code() != "CB_VA01" || !strings.Contains(string(r.body), `"app"`) {
		t.Fatalf("got %s", r.body)
	}
}
