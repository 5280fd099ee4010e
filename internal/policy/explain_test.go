package policy

import (
	"context"
	"encoding/json"
	"reflect"
	"regexp"
	"testing"
)

// explained is an outcome without its unexported ordering key.
func explained(rules []RuleOutcome) []RuleOutcome {
	out := make([]RuleOutcome, len(rules))
	for i, r := range rules {
		out[i] = RuleOutcome{Rule: r.Rule, Location: r.Location, Held: r.Held, Failed: r.Failed}
	}
	return out
}

func TestExplainNamesTheBodiesTheirFailuresAndTheValuesCompared(t *testing.T) {
	e := open(t, Options{Dir: writeDir(t, map[string]string{
		"p.rego": `package kgate

tier := data.tiers[input.user.level]

allow if {
	input.action == "read"
	input.app.alias in tier.apps
}

allow if {
	input.action == "update"
	input.user.attrs.editor == true
}

include if input.record.owner == input.user.email

include if {
	some tag in input.record.tags
	tag == input.user.org
}
`,
		"p_test.rego": "package kgate_test\n\ntest_nothing if true\n",
		"data.json":   `{"tiers": {"gold": {"apps": ["orders", "docs"]}}}`,
	})})
	ctx := context.Background()
	fail := func(loc, expr string, values ...Operand) *ExprOutcome {
		return &ExprOutcome{Location: loc, Expr: expr, Values: values}
	}
	for _, tc := range []struct {
		name        string
		in          Input
		allow       bool
		why         []RuleOutcome
		included    *bool
		whyExcluded []RuleOutcome
	}{
		{
			name:  "read of an app the tier lists",
			in:    Input{User: User{Level: "gold"}, App: App{Alias: "docs"}, Action: "read"},
			allow: true,
			why: []RuleOutcome{
				{Rule: "allow", Location: "p.rego:5", Held: true},
				{Rule: "allow", Location: "p.rego:10", Failed: fail("p.rego:11", `input.action == "update"`, Operand{"input.action", `"read"`})},
			},
		},
		{
			name: "read of an app the tier does not list",
			in:   Input{User: User{Level: "gold"}, App: App{Alias: "hr"}, Action: "read"},
			why: []RuleOutcome{
				{Rule: "allow", Location: "p.rego:5", Failed: fail("p.rego:7", "input.app.alias in tier.apps",
					Operand{"input.app.alias", `"hr"`}, Operand{"tier.apps", `["orders", "docs"]`})},
				{Rule: "allow", Location: "p.rego:10", Failed: fail("p.rego:11", `input.action == "update"`, Operand{"input.action", `"read"`})},
			},
		},
		{
			name: "a level without a tier: the undefined rule is followed",
			in:   Input{User: User{Level: "bronze"}, App: App{Alias: "docs"}, Action: "read"},
			why: []RuleOutcome{
				{Rule: "tier", Location: "p.rego:3", Failed: fail("p.rego:3", "data.tiers[input.user.level]",
					Operand{"data.tiers[input.user.level]", Undefined})},
				{Rule: "allow", Location: "p.rego:5", Failed: fail("p.rego:7", "tier.apps", Operand{"tier.apps", Undefined})},
				{Rule: "allow", Location: "p.rego:10", Failed: fail("p.rego:11", `input.action == "update"`, Operand{"input.action", `"read"`})},
			},
		},
		{
			name:  "update by an editor, a record of someone else's with the member's tag",
			in:    Input{User: User{Email: "a@x", Org: "acme", Attrs: map[string]any{"editor": true}}, App: App{Alias: "docs"}, Action: "update", Record: map[string]any{"owner": "b@x", "tags": []any{"acme"}}},
			allow: true,
			why: []RuleOutcome{
				{Rule: "allow", Location: "p.rego:5", Failed: fail("p.rego:6", `input.action == "read"`, Operand{"input.action", `"update"`})},
				{Rule: "allow", Location: "p.rego:10", Held: true},
			},
			included: ptr(true),
			whyExcluded: []RuleOutcome{
				{Rule: "include", Location: "p.rego:15", Failed: fail("p.rego:15", "input.record.owner == input.user.email",
					Operand{"input.record.owner", `"b@x"`}, Operand{"input.user.email", `"a@x"`})},
				{Rule: "include", Location: "p.rego:17", Held: true},
			},
		},
		{
			name: "a record neither owned nor tagged",
			in:   Input{User: User{Email: "a@x", Org: "acme"}, App: App{Alias: "docs"}, Action: "update", Record: map[string]any{"owner": "b@x", "tags": []any{"zeta"}}},
			why: []RuleOutcome{
				{Rule: "allow", Location: "p.rego:5", Failed: fail("p.rego:6", `input.action == "read"`, Operand{"input.action", `"update"`})},
				{Rule: "allow", Location: "p.rego:10", Failed: fail("p.rego:12", "input.user.attrs.editor == true", Operand{"input.user.attrs.editor", Undefined})},
			},
			included: ptr(false),
			whyExcluded: []RuleOutcome{
				{Rule: "include", Location: "p.rego:15", Failed: fail("p.rego:15", "input.record.owner == input.user.email",
					Operand{"input.record.owner", `"b@x"`}, Operand{"input.user.email", `"a@x"`})},
				{Rule: "include", Location: "p.rego:17", Failed: fail("p.rego:19", "tag == input.user.org",
					Operand{"tag", `"zeta"`}, Operand{"input.user.org", `"acme"`})},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, err := e.Explain(ctx, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if x.Decision.Allow != tc.allow {
				t.Errorf("allow %v, want %v", x.Decision.Allow, tc.allow)
			}
			if got := explained(x.Why()); !reflect.DeepEqual(got, tc.why) {
				t.Errorf("why:\n got %s\nwant %s", show(got), show(tc.why))
			}
			if !reflect.DeepEqual(x.Included, tc.included) {
				t.Errorf("included %v, want %v", x.Included, tc.included)
			}
			if got := explained(x.WhyExcluded()); tc.included != nil && !reflect.DeepEqual(got, tc.whyExcluded) {
				t.Errorf("include:\n got %s\nwant %s", show(got), show(tc.whyExcluded))
			}
			for _, l := range x.Trace {
				if len(l) > 0 && !regexpPolicyLine.MatchString(l) {
					t.Errorf("trace line outside the policy's own files: %q", l)
				}
			}
		})
	}
}

var regexpPolicyLine = regexp.MustCompile(`^(Enter|Exit|Eval|Fail|Redo) +p\.rego:\d+ `)

func ptr[T any](v T) *T { return &v }

func show(rules []RuleOutcome) string {
	b, _ := json.Marshal(rules)
	return string(b)
}
