package portal

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kintonesim"
	"github.com/kgate/kgate/portalconfig"
)

func TestTypedValuesBecomeWhatKintoneStores(t *testing.T) {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	ny, _ := time.LoadLocation("America/New_York")
	rich := newRichText()
	tests := []struct {
		name string
		p    kintone.FieldProperty
		in   []string
		tz   *time.Location
		want string
	}{
		{"a date-time in the member's zone", kintone.FieldProperty{Type: "DATETIME"}, []string{"2026-11-18T10:00"}, tokyo, `"2026-11-18T01:00:00Z"`},
		{"across a day in New York", kintone.FieldProperty{Type: "DATETIME"}, []string{"2026-07-01T23:15"}, ny, `"2026-07-02T03:15:00Z"`},
		{"with seconds, to the minute", kintone.FieldProperty{Type: "DATETIME"}, []string{"2026-11-18T10:00:59"}, tokyo, `"2026-11-18T01:00:00Z"`},
		{"a date-time typed with a space", kintone.FieldProperty{Type: "DATETIME"}, []string{"2026/1/2 08:00"}, tokyo, `"2026-01-01T23:00:00Z"`},
		{"an empty date-time", kintone.FieldProperty{Type: "DATETIME"}, []string{""}, tokyo, `""`},
		{"a date-time kintone must refuse", kintone.FieldProperty{Type: "DATETIME"}, []string{"tomorrow"}, tokyo, `"tomorrow"`},
		{"a date with slashes", kintone.FieldProperty{Type: "DATE"}, []string{"2026/4/1"}, tokyo, `"2026-04-01"`},
		{"a time with seconds", kintone.FieldProperty{Type: "TIME"}, []string{"9:05:00"}, tokyo, `"09:05"`},
		{"a number as people type it", kintone.FieldProperty{Type: "NUMBER"}, []string{" １２,３４５．５ "}, tokyo, `"12345.5"`},
		{"a negative full-width number", kintone.FieldProperty{Type: "NUMBER"}, []string{"－５"}, tokyo, `"-5"`},
		{"text-area line breaks", kintone.FieldProperty{Type: "MULTI_LINE_TEXT"}, []string{"a\r\nb\rc"}, tokyo, `"a\nb\nc"`},
		{"rich text, sanitized", kintone.FieldProperty{Type: "RICH_TEXT"}, []string{`<b onclick="x()">b</b><script>x()</script>`}, tokyo, `"\u003cb\u003eb\u003c/b\u003e"`},
		{"a radio group after its blank marker", kintone.FieldProperty{Type: "RADIO_BUTTON"}, []string{"", "z"}, tokyo, `"z"`},
		{"check boxes in the options' order", kintone.FieldProperty{Type: "CHECK_BOX", Options: map[string]kintone.Option{
			"p": {Index: "0"}, "q": {Index: "1"}, "r": {Index: "2"}}}, []string{"", "r", "p"}, tokyo, `["p","r"]`},
		{"no check box", kintone.FieldProperty{Type: "CHECK_BOX"}, []string{""}, tokyo, `[]`},
		{"a choice that is no option, for kintone to refuse", kintone.FieldProperty{Type: "MULTI_SELECT", Options: map[string]kintone.Option{
			"m": {Index: "0"}}}, []string{"m", "zz"}, tokyo, `["m","zz"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(wireValue(tt.p, tt.in, tt.tz, rich)); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestStoredValuesAreShownInTheMembersZone(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	for _, tt := range []struct {
		typ, raw string
		want     []string
	}{
		{"DATETIME", `"2026-07-02T03:15:00Z"`, []string{"2026-07-01T23:15"}},
		{"DATE", `"2026-04-01"`, []string{"2026-04-01"}},
		{"CHECK_BOX", `["p","r"]`, []string{"p", "r"}},
		{"DROP_DOWN", `null`, nil},
		{"SINGLE_LINE_TEXT", `""`, nil},
	} {
		if got := inputValues(tt.typ, json.RawMessage(tt.raw), ny); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s %s: %q, want %q", tt.typ, tt.raw, got, tt.want)
		}
	}
}

func TestKintonesErrorKeysNameTheirInputs(t *testing.T) {
	tests := []struct {
		key   string
		code  string
		row   int
		inner string
		ok    bool
	}{
		{"record.title.value", "title", -1, "", true},
		{"record.checks.values", "checks", -1, "", true},
		{"record.who.values.value", "who", -1, "", true},
		{"record[amount].value", "amount", -1, "", true},
		{"record.items.value[3].value.cost.value", "items", 3, "cost", true},
		{"record.items.value[x].value.cost.value", "items", -1, "", true},
		{"record.items.value", "items", -1, "", true},
		{"record", "", 0, "", false},
		{"comment.text", "", 0, "", false},
		{"policy", "", 0, "", false},
	}
	for _, tt := range tests {
		code, row, inner, ok := errorTarget(tt.key)
		if code != tt.code || row != tt.row || inner != tt.inner || ok != tt.ok {
			t.Errorf("%s: %q %d %q %v", tt.key, code, row, inner, ok)
		}
	}
}

func TestTableRowsAreReadInOrderWithoutRemovedOrBlankOnes(t *testing.T) {
	p := kintone.FieldProperty{Type: "SUBTABLE", Fields: map[string]kintone.FieldProperty{
		"item": {Type: "SINGLE_LINE_TEXT"}, "cost": {Type: "NUMBER"}, "who": {Type: "USER_SELECT"}}}
	form := url.Values{
		"t.items":           {""},
		"t.items.10.item":   {"tenth"},
		"t.items.2.item":    {"second"},
		"t.items.2.$id":     {"77"},
		"t.items.3.item":    {"removed"},
		"t.items.3.$del":    {"1"},
		"t.items.4.item":    {"  "}, // blank and new: dropped
		"t.items.5.$id":     {"78"}, // blank but existing: kept (its cells were cleared)
		"t.items.5.item":    {""},
		"t.items.6.$id":     {"not-an-id"},
		"t.items.6.item":    {"new after all"},
		"t.items.07.item":   {"not an index"},
		"t.items.9999.item": {"beyond the cap"},
		"t.items.1.who":     {"boss"}, // not an input: ignored
	}
	rows := tableRows(form, "items", p)
	var got []string
	for _, r := range rows {
		got = append(got, r.id+":"+firstOf(r.vals["item"]))
	}
	want := []string{"77:second", "78:", ":new after all", ":tenth"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows %q, want %q", got, want)
	}
}

func firstOf(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func TestFormKeysAreRandomAndChecked(t *testing.T) {
	a, b := newKey(), newKey()
	if a == b || !validKey(a) || !validKey(b) {
		t.Fatalf("keys %q %q", a, b)
	}
	for _, bad := range []string{"", "short", a + "x", "AAAAAAAAAAAAAAAAAAAAA=", "AAAAAAAAAAAAAAAAAAAA/A"} {
		if validKey(bad) {
			t.Errorf("%q passed", bad)
		}
	}
}

func TestFormTokensAreBoundToTheMemberAndTheBrowserSession(t *testing.T) {
	g := newFormGuard("a secret of at least thirty-two characters")
	other := newFormGuard("another secret of thirty-two characters")
	alice, bob := demoMember("alice"), demoMember("bob")
	cookie := randomKey(32)
	req := func(c string) *http.Request {
		r, _ := http.NewRequest(http.MethodPost, "/", nil)
		if c != "" {
			r.AddCookie(&http.Cookie{Name: formCookie, Value: c})
		}
		return r
	}
	token := g.mac(alice, cookie)
	tests := []struct {
		name string
		g    *formGuard
		r    *http.Request
		who  string
		ok   bool
	}{
		{"its member, its browser", g, req(cookie), "alice", true},
		{"another member", g, req(cookie), "bob", false},
		{"another browser", g, req(randomKey(32)), "alice", false},
		{"no cookie", g, req(""), "alice", false},
		{"a short cookie", g, req("abc"), "alice", false},
		{"another key", other, req(cookie), "alice", false},
	}
	for _, tt := range tests {
		who := alice
		if tt.who == "bob" {
			who = bob
		}
		if got := tt.g.check(tt.r, who, token); got != tt.ok {
			t.Errorf("%s: %v", tt.name, got)
		}
	}
	// The same secret gives the same tokens (instances behind one site).
	if newFormGuard("a secret of at least thirty-two characters").mac(alice, cookie) != token {
		t.Error("a shared secret does not give shared tokens")
	}
}

// After a rotation the previous secret is still accepted, so the forms
// members have open submit; new forms are made under the current one, and
// once the previous secret is dropped its forms are refused.
func TestFormTokensSurviveARotationOfTheSecret(t *testing.T) {
	old, next := "the old secret of thirty-two characters", "the next secret of thirty-two characters"
	alice := demoMember("alice")
	cookie := randomKey(32)
	r, _ := http.NewRequest(http.MethodPost, "/", nil)
	r.AddCookie(&http.Cookie{Name: formCookie, Value: cookie})
	open := newFormGuard(old).mac(alice, cookie)
	for _, tc := range []struct {
		name string
		g    *formGuard
		want bool
	}{
		{"the previous secret still listed", newFormGuard(next, old), true},
		{"the previous secret dropped", newFormGuard(next), false},
	} {
		if got := tc.g.check(r, alice, open); got != tc.want {
			t.Errorf("%s: a form made under the previous secret submits: %v, want %v", tc.name, got, tc.want)
		}
	}
	if newFormGuard(next, old).mac(alice, cookie) != newFormGuard(next).mac(alice, cookie) {
		t.Error("after the rotation new forms are not made under the current secret")
	}
}

func TestFormKeysAreLongOrRefused(t *testing.T) {
	long := "a secret of at least thirty-two characters"
	for _, tc := range []struct {
		name     string
		current  string
		previous []string
		ok       bool
	}{
		{"none: a random key", "", nil, true},
		{"current and previous", long, []string{long + " before"}, true},
		{"an unset previous key is none", long, []string{""}, true},
		{"a short current key", "short", nil, false},
		{"a short previous key", long, []string{"short"}, false},
		{"a previous key without a current one", "", []string{long}, false},
	} {
		c := Config{Gateway: &gateway.Gateway{}, Config: portalconfig.Config{FormKey: tc.current, PreviousFormKeys: tc.previous, Brand: Brand{Title: Text{Ja: "t", En: "t"}}}}
		if err := c.setDefaults(); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestARepeatedSubmissionWaitsForTheFirstAndGetsItsResult(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newSubmissions(func() time.Time { return now }, nil)
	ctx := context.Background()
	first, isFirst, _ := s.begin(ctx, "k")
	if !isFirst {
		t.Fatal("the first submission is not first")
	}
	done := make(chan *submission)
	go func() {
		sub, again, _ := s.begin(ctx, "k")
		if again {
			t.Error("a repeat ran as a first submission")
		}
		done <- sub
	}()
	s.succeed(first, "/apps/x/records/9")
	if got := <-done; got.location != "/apps/x/records/9" {
		t.Errorf("the repeat went to %q", got.location)
	}
	// A failed submission is forgotten: sent again, it runs.
	f, _, _ := s.begin(ctx, "f")
	s.fail("f", f)
	if _, again, _ := s.begin(ctx, "f"); !again {
		t.Error("a failed submission was remembered")
	}
	// An unconfirmed one is not.
	u, _, _ := s.begin(ctx, "u")
	s.unconfirmed(u)
	if sub, again, _ := s.begin(ctx, "u"); again || !sub.unknown {
		t.Error("an unconfirmed submission ran again")
	}
	// After a day, a key is new again.
	now = now.Add(submissionTTL + time.Second)
	if _, again, _ := s.begin(ctx, "k"); !again {
		t.Error("a day-old key is still remembered")
	}
	// A waiting repeat gives up with its request.
	w, _, _ := s.begin(ctx, "w")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := s.begin(cctx, "w"); err == nil {
		t.Error("a cancelled wait returned no error")
	}
	s.succeed(w, "/")
}

func TestAWriteKintoneDoesNotConfirmIsNeverSentTwice(t *testing.T) {
	w := newWorld(t)
	b := w.browser("alice", "en")
	f := formOf(t, b.get(t, "/apps/budget/new").body, "/apps/budget/new")
	f.values.Set("f.title", "Lost answer")
	f.values.Set("f.amount", "7")
	before := w.count(t, budgetApp, "")
	// kintone applies the write, but its answer never arrives.
	w.sim.InjectFault(kintonesim.Fault{Path: "/k/v1/record.json", Method: http.MethodPost, Truncate: true})
	r := b.postMultipart(t, "/apps/budget/new", f.values)
	if r.Code != http.StatusBadGateway {
		t.Fatalf("status %d:\n%s", r.Code, r.body)
	}
	mustContain(t, r.body, "kintone did not confirm whether this was saved")
	// The form shown with the message has a new key: sending it is the
	// member's deliberate choice after checking.
	if k := formOf(t, r.body, "/apps/budget/new").values.Get(idemField); k == f.values.Get(idemField) {
		t.Error("the form kept the key of the unconfirmed submission")
	}
	if n := w.count(t, budgetApp, ""); n != before+1 {
		t.Fatalf("%d records, want %d (the write went through)", n, before+1)
	}
	// The same form sent again is not written again.
	r = b.postMultipart(t, "/apps/budget/new", f.values)
	if r.Code != http.StatusConflict {
		t.Errorf("again: status %d", r.Code)
	}
	if n := w.count(t, budgetApp, ""); n != before+1 {
		t.Errorf("%d records after sending it again, want %d", n, before+1)
	}
}
