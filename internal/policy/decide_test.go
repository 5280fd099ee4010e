package policy

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

func TestDecisionsPerLevelWithTheDefaultPolicies(t *testing.T) {
	e := defaultEngine(t)
	partnerBudget := []string{"$id", "$revision", "Assignee", "Categories", "Created_by", "Created_datetime",
		"Record_number", "Status", "Updated_by", "Updated_datetime",
		"amount", "approved_amount", "attachment", "category", "items", "org", "purpose", "requested_by", "title"}
	cases := []struct {
		name   string
		user   User
		app    string
		action string
		record map[string]any
		want   Decision
	}{
		{"silver reads budget with a mask", bob, "budget", "read", nil, Decision{
			Allow: true, Readable: FieldSet{Codes: partnerBudget}, Rate: 3000, Export: 1000,
			Masks: map[string]any{"approved_amount": ""}}},
		{"gold reads budget unmasked", alice, "budget", "read", nil, Decision{
			Allow: true, Readable: FieldSet{Codes: partnerBudget}, Rate: 6000, Export: 5000}},
		{"staff reads every budget field", sam, "budget", "read", nil, Decision{
			Allow: true, Readable: FieldSet{All: true}, Export: 50000}},
		{"gold creates with attribution presets", alice, "budget", "create", nil, Decision{
			Allow: true, Readable: FieldSet{Codes: partnerBudget}, Rate: 6000, Export: 5000,
			Writable: FieldSet{Codes: []string{"amount", "attachment", "category", "items", "purpose", "title"}},
			Presets:  map[string]any{"org": "acme", "requested_by": "alice@acme.example"}}},
		{"gold updates a draft", carol, "budget", "update", map[string]any{"org": "bluebird", "Status": "Draft"}, Decision{
			Allow: true, Readable: FieldSet{Codes: partnerBudget}, Rate: 6000, Export: 5000,
			Writable: FieldSet{Codes: []string{"amount", "attachment", "category", "items", "purpose", "title"}},
			Presets:  map[string]any{"org": "bluebird"}}},
		{"gold cannot change a submitted request", carol, "budget", "update", map[string]any{"org": "bluebird", "Status": "Submitted"}, Decision{
			Allow: true, Readable: FieldSet{Codes: partnerBudget}, Rate: 6000, Export: 5000,
			Presets: map[string]any{"org": "bluebird"},
			Reasons: []string{`records of app "budget" can be edited only while Status is Draft`}}},
		{"staff writes the approval fields", sam, "budget", "update", map[string]any{"Status": "Submitted"}, Decision{
			Allow: true, Readable: FieldSet{All: true}, Export: 50000,
			Writable: FieldSet{Codes: []string{"approved_amount", "internal_note"}}}},
		{"staff comments mentioning anyone", sam, "budget", "comment.write", nil, Decision{
			Allow: true, Readable: FieldSet{All: true}, Export: 50000, Mentions: FieldSet{All: true}}},
		{"silver comments mentioning nobody", bob, "budget", "comment.write", nil, Decision{
			Allow: true, Readable: FieldSet{Codes: partnerBudget}, Rate: 3000, Export: 1000, Masks: map[string]any{"approved_amount": ""}}},
		{"silver may not create", bob, "budget", "create", nil, Decision{
			Readable: FieldSet{Codes: partnerBudget}, Rate: 3000, Export: 1000, Masks: map[string]any{"approved_amount": ""},
			Writable: FieldSet{Codes: nil},
			Reasons:  []string{`your member level may not create in app "budget"`}}},
		{"partners never read members", dave, "members", "read", nil, Decision{
			Reasons: []string{"Member records are visible to the operator's staff only."}}},
		{"no level, nothing", frank, "schedule", "read", nil, Decision{
			Reasons: []string{`your member level may not use app "schedule"`}}},
		{"unknown app", sam, "payroll", "read", nil, Decision{
			Reasons: []string{`app "payroll" is not open to partners`}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			app, ok := demoApps[c.app]
			if !ok {
				app = App{ID: "99", Alias: c.app}
			}
			d, err := e.Decide(context.Background(), Input{User: c.user, App: app, Action: c.action, Record: c.record})
			if err != nil {
				t.Fatal(err)
			}
			c.want.Version = e.Version()
			normalize(d)
			normalize(&c.want)
			if !reflect.DeepEqual(*d, c.want) {
				t.Fatalf("got  %+v\nwant %+v", *d, c.want)
			}
		})
	}
}

// normalize makes empty and nil collections compare equal.
func normalize(d *Decision) {
	if len(d.Readable.Codes) == 0 {
		d.Readable.Codes = nil
	}
	if len(d.Writable.Codes) == 0 {
		d.Writable.Codes = nil
	}
	if len(d.Mentions.Codes) == 0 {
		d.Mentions.Codes = nil
	}
	if len(d.Presets) == 0 {
		d.Presets = nil
	}
	if len(d.Masks) == 0 {
		d.Masks = nil
	}
	if len(d.Reasons) == 0 {
		d.Reasons = nil
	}
	d.Localized = nil // TestReasonsComeInTheMembersLanguage checks them
}

func TestReasonsComeInTheMembersLanguage(t *testing.T) {
	dir := writeDir(t, map[string]string{"p.rego": `package kgate
reasons contains {"ja": "日本語と英語", "en": "both languages"}
reasons contains {"ja": "日本語だけ"}
reasons contains {"en": "English only"}
reasons contains "as written"
`})
	e := open(t, Options{Dir: dir})
	d, err := e.Decide(context.Background(), Input{Action: "read"})
	if err != nil {
		t.Fatal(err)
	}
	// The audit log's list: English where there is English, sorted.
	if want := []string{"English only", "as written", "both languages", "日本語だけ"}; !reflect.DeepEqual(d.Reasons, want) {
		t.Errorf("reasons %q, want %q", d.Reasons, want)
	}
	for lang, want := range map[string][]string{
		"ja": {"English only", "as written", "日本語と英語", "日本語だけ"},
		"en": {"English only", "as written", "both languages", "日本語だけ"},
		"":   {"English only", "as written", "both languages", "日本語だけ"},
	} {
		if got := d.ReasonsIn(lang); !reflect.DeepEqual(got, want) {
			t.Errorf("in %q: %q, want %q", lang, got, want)
		}
	}
}

func TestStatusActionsByName(t *testing.T) {
	e := defaultEngine(t)
	for _, c := range []struct {
		user   User
		action string
		want   bool
	}{
		{alice, "Submit", true}, {alice, "Withdraw", true}, {alice, "Approve", false},
		{sam, "Approve", true}, {sam, "Reject", true}, {sam, "Submit", false},
		{bob, "Submit", false}, {alice, "", false},
	} {
		d, err := e.Decide(context.Background(), Input{User: c.user, App: demoApps["budget"], Action: "status", StatusAction: c.action})
		if err != nil || d.Allow != c.want {
			t.Errorf("%s runs %q: allow %v (%v), want %v", c.user.Sub, c.action, d.Allow, err, c.want)
		}
	}
}

// Each attribute a rule needs, taken away one at a time, must not give
// more than the full identity gets.
func TestMissingAttributesNeverWiden(t *testing.T) {
	e := defaultEngine(t)
	ctx := context.Background()
	for _, base := range []User{alice, bob, carol, dave, sam} {
		for _, strip := range []string{"email", "org", "level", "all"} {
			u := base
			switch strip {
			case "email":
				u.Email = ""
			case "org":
				u.Org = ""
			case "level":
				u.Level = ""
			case "all":
				u = User{}
			}
			for alias, app := range demoApps {
				for _, action := range actions {
					in := Input{User: u, App: app, Action: action}
					full := Input{User: base, App: app, Action: action}
					d, err := e.Decide(ctx, in)
					fd, ferr := e.Decide(ctx, full)
					if err != nil || ferr != nil {
						t.Fatal(err, ferr)
					}
					if d.Allow && !fd.Allow {
						t.Errorf("%s without %s may %s in %s", base.Sub, strip, action, alias)
					}
					for _, code := range d.Readable.Codes {
						if !fd.Readable.Has(code) {
							t.Errorf("%s without %s reads %s in %s", base.Sub, strip, code, alias)
						}
					}
					rr, err := e.RowRule(ctx, in, demoForms[alias])
					if err != nil {
						t.Fatal(err)
					}
					frr, _ := e.RowRule(ctx, full, demoForms[alias])
					if !rr.Never && (frr.Never || (rr.Cond == nil) != (frr.Cond == nil) ||
						(rr.Cond != nil && describe(rr) != describe(frr))) {
						t.Errorf("%s without %s: row rule %s, with it %s (%s %s)", base.Sub, strip, describe(rr), describe(frr), action, alias)
					}
				}
			}
		}
	}
}

func TestEvaluationErrorsDeny(t *testing.T) {
	logger, logs := observed()
	e := open(t, Options{Dir: writeDir(t, map[string]string{"p.rego": `package kgate
allow := true
# two values for one complete rule: an evaluation error
readable := {"a"} if input.user.level == "x"
readable := {"b"} if input.user.level == "x"
rate := 1 / 0 if input.user.level == "y"
include if input.user.level == "x"
include := "yes" if input.user.level == "z"
`}), Logger: logger})
	ctx := context.Background()
	d, err := e.Decide(ctx, Input{User: User{Level: "x"}, Action: "read"})
	if err == nil || d.Allow || d.Version != e.Version() {
		t.Fatalf("a conflict: got %+v, %v; want a denial with an error", d, err)
	}
	if logs.FilterMessageSnippet("denied").Len() == 0 {
		t.Fatal("the failed decision was not logged")
	}
	// a builtin error is undefined, as in opa test: no rate, unlimited
	d, err = e.Decide(ctx, Input{User: User{Level: "y"}, Action: "read"})
	if err != nil || !d.Allow || d.Rate != 0 {
		t.Fatalf("division by zero: got %+v, %v", d, err)
	}
	ok, err := e.Include(ctx, Input{User: User{Level: "z"}, Action: "read", Record: map[string]any{}})
	if err == nil || ok {
		t.Fatalf("a non-boolean include: got %v, %v; want false with an error", ok, err)
	}
}

func TestAllowMustBeTrue(t *testing.T) {
	for _, c := range []struct {
		rule    string
		allow   bool
		failing bool
	}{
		{`allow := true`, true, false},
		{`allow := false`, false, false},
		{`allow := "yes"`, false, true},
		{`allow := 1`, false, true},
		{``, false, false},
	} {
		e := openPolicy(t, "package kgate\n"+c.rule+"\n")
		d, err := e.Decide(context.Background(), Input{Action: "read"})
		if d.Allow != c.allow || (err != nil) != c.failing {
			t.Errorf("%q: allow %v, err %v", c.rule, d.Allow, err)
		}
	}
}

func TestRateIsAWholeNumberOrDenies(t *testing.T) {
	for _, c := range []struct {
		rule    string
		want    int
		failing bool
	}{
		{`rate := 3000`, 3000, false},
		{`rate := 1`, 1, false},
		{`rate := 60.0`, 60, false},
		{`rate := 1e12`, maxRate, false},
		{``, 0, false}, // no rule: unlimited
		{`rate := 0`, 0, true},
		{`rate := -5`, 0, true},
		{`rate := 2.5`, 0, true},
		{`rate := "50"`, 0, true},
		{`rate := null`, 0, true},
	} {
		e := openPolicy(t, "package kgate\nallow := true\n"+c.rule+"\n")
		d, err := e.Decide(context.Background(), Input{Action: "read"})
		if d.Rate != c.want || (err != nil) != c.failing || (c.failing && d.Allow) {
			t.Errorf("%q: rate %d, allow %v, err %v; want rate %d, failing %v", c.rule, d.Rate, d.Allow, err, c.want, c.failing)
		}
	}
}

func TestExportIsAWholeNumberOrDenies(t *testing.T) {
	for _, c := range []struct {
		rule    string
		want    int
		failing bool
	}{
		{`export := 1000`, 1000, false},
		{`export := 1`, 1, false},
		{``, 0, false}, // no rule: the portal's default
		{`export := 0`, 0, true},
		{`export := -5`, 0, true},
		{`export := 2.5`, 0, true},
		{`export := "50"`, 0, true},
	} {
		e := openPolicy(t, "package kgate\nallow := true\n"+c.rule+"\n")
		d, err := e.Decide(context.Background(), Input{Action: "read"})
		if d.Export != c.want || (err != nil) != c.failing || (c.failing && d.Allow) {
			t.Errorf("%q: export %d, allow %v, err %v; want export %d, failing %v", c.rule, d.Export, d.Allow, err, c.want, c.failing)
		}
	}
}

func TestMasksAcceptPlainValuesAndOPAColumnMasks(t *testing.T) {
	e := openPolicy(t, `package kgate
masks := {
	"plain": "***",
	"number": 0,
	"opa": {"replace": {"value": "hidden"}},
	"shown": {},
	"object": {"replace": {"value": 1}, "other": 2},
}
`)
	d, err := e.Decide(context.Background(), Input{Action: "read"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"plain":  "***",
		"number": d.Masks["number"], // checked below
		"opa":    "hidden",
		"object": map[string]any{"replace": map[string]any{"value": d.Masks["object"].(map[string]any)["replace"].(map[string]any)["value"]}, "other": d.Masks["object"].(map[string]any)["other"]},
	}
	if !reflect.DeepEqual(d.Masks, want) {
		t.Fatalf("masks %#v", d.Masks)
	}
	if n, ok := d.Masks["number"]; !ok || n == nil {
		t.Fatal("a number mask was dropped")
	}
	if _, ok := d.Masks["shown"]; ok {
		t.Fatal(`{} means "show", not a mask`)
	}
}

func TestMalformedRulesAreIgnoredAndLogged(t *testing.T) {
	logger, logs := observed()
	dir := writeDir(t, map[string]string{"p.rego": `package kgate
allow := true
readable := "title"
writable := {"a", 1}
presets := ["org"]
reasons := {"because", {"x": 1}}
`})
	e := open(t, Options{Dir: dir, Logger: logger})
	d, err := e.Decide(context.Background(), Input{Action: "read"})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Readable.Codes) != 0 || d.Readable.All || !reflect.DeepEqual(d.Writable.Codes, []string{"a"}) ||
		d.Presets != nil || !reflect.DeepEqual(d.Reasons, []string{"because"}) {
		t.Fatalf("got %+v", d)
	}
	if n := logs.FilterMessageSnippet("must be").Len(); n != 4 {
		t.Fatalf("%d problems logged, want 4: %v", n, logs.All())
	}
}

func TestIncludeEvaluatesTheRowRuleOnARecord(t *testing.T) {
	e := defaultEngine(t)
	ctx := context.Background()
	for _, c := range []struct {
		user   User
		record map[string]any
		want   bool
	}{
		{bob, map[string]any{"org": "acme"}, true},
		{bob, map[string]any{"org": "bluebird"}, false},
		{bob, map[string]any{"org": ""}, false},
		{bob, map[string]any{}, false},
		{sam, map[string]any{}, true},
		{frank, map[string]any{"org": "acme"}, false},
	} {
		got, err := e.Include(ctx, Input{User: c.user, App: demoApps["budget"], Action: "read", Record: c.record})
		if err != nil || got != c.want {
			t.Errorf("%s on %v: %v (%v), want %v", c.user.Sub, c.record, got, err, c.want)
		}
	}
	if _, err := e.Include(ctx, Input{User: sam, App: demoApps["budget"], Action: "read"}); err == nil ||
		!strings.Contains(err.Error(), "needs a record") {
		t.Fatalf("Include without a record: %v", err)
	}
}

func TestFieldSetHas(t *testing.T) {
	s := FieldSet{Codes: []string{"a", "c"}}
	if !s.Has("a") || !s.Has("c") || s.Has("b") || s.Has("*") {
		t.Fatal("Has on codes")
	}
	if !(FieldSet{All: true}).Has("anything") || (FieldSet{}).Has("a") {
		t.Fatal("Has on All / empty")
	}
}
