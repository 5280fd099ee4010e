package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

const demoSeed = "../../examples/partner-portal/seed.json"

// explainRun runs `kgate policy explain` with o and returns its exit code
// and output.
func explainRun(t *testing.T, o explainOptions) (int, string) {
	t.Helper()
	var out bytes.Buffer
	code, err := policyExplain(context.Background(), &out, o)
	if err != nil && code != explainUsage {
		t.Fatalf("an error with exit code %d: %v", code, err)
	}
	if err != nil {
		return code, err.Error()
	}
	return code, out.String()
}

// regoLine returns "kgate.rego:N" for the nth (from 1) line of
// policies/kgate.rego containing text, so that the expectations follow
// the rules when comments move them.
func regoLine(t *testing.T, text string, nth int) string {
	t.Helper()
	src, err := os.ReadFile("../../policies/kgate.rego")
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(src), "\n") {
		if strings.Contains(line, text) {
			if nth--; nth == 0 {
				return fmt.Sprintf("kgate.rego:%d", i+1)
			}
		}
	}
	t.Fatalf("policies/kgate.rego has no line %d containing %q", nth, text)
	return ""
}

// TestPolicyExplainOnTheDefaultPolicies pins what an operator reads for
// the demo's members: the verdict, the rule bodies with their lines and
// the values they compared, the compiled row rule, the fields and the
// read rate, and the row-rule body that excluded a record.
func TestPolicyExplainOnTheDefaultPolicies(t *testing.T) {
	var (
		allowBody       = regoLine(t, "allow if {", 1)
		statusBody      = regoLine(t, "allow if {", 2)
		statusTest      = regoLine(t, `input.action == "status"`, 1)
		actionsTest     = regoLine(t, "input.action in level.actions", 1)
		levelRule       = regoLine(t, "level := app.levels[input.user.level]", 1)
		allInclude      = regoLine(t, `include if level.scope == "all"`, 1)
		orgInclude      = regoLine(t, "include if {", 1)
		orgTest         = regoLine(t, "input.record[app.org_field] in member_orgs", 1)
		audienceInclude = regoLine(t, "include if {", 2)
		audienceTest    = regoLine(t, "input.record[app.audience_field] in level.audiences", 1)
		readableBody    = regoLine(t, "readable contains field if {", 1)
	)
	for _, tc := range []struct {
		name   string
		o      explainOptions
		code   int
		want   []string
		absent []string
	}{
		{
			name: "silver reads budget: allowed, own organization, masked approval",
			o:    explainOptions{User: "bob@acme.example", App: "budget"},
			code: explainAllowed,
			want: []string{
				`ALLOWED: read in app "budget" (id 2) for bob@acme.example`,
				`member: level silver, org acme (members app "members", state active)`,
				"  held    allow          " + allowBody + "\n",
				"  failed  allow          " + statusBody + "  at " + statusTest + ": input.action == \"status\"\n          input.action = \"read\"\n",
				`row rule: org in ("acme")`,
				`masked:   approved_amount=""`,
				"rate: 3000 records per minute",
			},
		},
		{
			name: "silver may not update budget: the action is not in the level's list",
			o:    explainOptions{User: "bob@acme.example", App: "budget", Action: "update"},
			code: explainRefused,
			want: []string{
				`REFUSED: update in app "budget" (id 2) for bob@acme.example`,
				`reason: your member level may not update in app "budget"`,
				"  failed  allow          " + allowBody + "  at " + actionsTest + ": input.action in level.actions\n" +
					"          input.action = \"update\"\n" +
					"          level.actions = [\"read\", \"comment.read\", \"comment.write\", \"file.read\"]\n",
			},
		},
		{
			name: "gold creates in budget: allowed, writable fields and presets",
			o:    explainOptions{User: "alice@acme.example", App: "budget", Action: "create"},
			code: explainAllowed,
			want: []string{
				"writable: amount, attachment, category, items, purpose, title",
				`presets:  org="acme", requested_by="alice@acme.example"`,
				"rate: 6000 records per minute",
			},
		},
		{
			name: "unknown person: no level, and the rule that says so",
			o:    explainOptions{User: "frank@unknown.example", App: "budget"},
			code: explainRefused,
			want: []string{
				`(not in the members app "members")`,
				"  failed  level          " + levelRule + "  at " + levelRule + ": input.user.level\n          input.user.level = undefined\n",
				"  failed  allow          " + allowBody + "  at " + actionsTest + ": level.actions\n          level.actions = undefined\n",
				"row rule: no record",
			},
		},
		{
			name: "staff reads the members app: every record",
			o:    explainOptions{User: "sam@operator.example", App: "members"},
			code: explainAllowed,
			want: []string{"row rule: every record", "readable: * (every field)", "rate: unlimited"},
		},
		{
			name: "silver on the members app: the app's closed reason",
			o:    explainOptions{User: "bob@acme.example", App: "1"},
			code: explainRefused,
			want: []string{`REFUSED: read in app "members" (id 1)`, "reason: Member records are visible to the operator's staff only."},
		},
		{
			name: "a record of another organization is excluded by the org body",
			o:    explainOptions{User: "bob@acme.example", App: "budget", Record: "8"},
			code: explainRefused,
			want: []string{
				"record 8: EXCLUDED by the row rule",
				"  failed  include        " + orgInclude + "  at " + orgTest + ": input.record[app.org_field] in member_orgs\n" +
					"          input.record[app.org_field] = \"bluebird\"\n" +
					"          member_orgs = [\"acme\"]\n",
				"  failed  include        " + allInclude + "  at " + allInclude + ": level.scope == \"all\"\n          level.scope = \"org\"\n",
			},
		},
		{
			name: "a gold document is excluded for silver by the audience",
			o:    explainOptions{User: "bob@acme.example", App: "documents", Record: "2"},
			code: explainRefused,
			want: []string{
				`row rule: (org in ("acme", "all")) and (audience in ("silver"))`,
				"record 2: EXCLUDED by the row rule",
				"  failed  include        " + audienceInclude + "  at " + audienceTest + ": input.record[app.audience_field] in level.audiences\n" +
					"          input.record[app.audience_field] = \"gold\"\n" +
					"          level.audiences = [\"silver\"]\n",
			},
		},
		{
			name: "the same document is included for gold",
			o:    explainOptions{User: "alice@acme.example", App: "documents", Record: "2"},
			code: explainAllowed,
			want: []string{"record 2: included by the row rule", "  held    include        " + audienceInclude + "\n"},
		},
		{
			name: "--attrs overrides the members app",
			o:    explainOptions{User: "bob@acme.example", App: "budget", Action: "update", Attrs: `{"level": "gold"}`},
			code: explainAllowed,
			want: []string{"member: level gold, org acme"},
		},
		{
			name:   "-v adds every body reached and the trace, still only the policy's own files",
			o:      explainOptions{User: "bob@acme.example", App: "budget", Verbose: true},
			code:   explainAllowed,
			want:   []string{"every rule body reached:", "  held    readable       " + readableBody, "trace:", "Enter " + allowBody + " allow", "Fail  " + statusTest + " input.action == \"status\""},
			absent: []string{"kgate_test.rego", "query:", "data.kgate.allow"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Policies, tc.o.Data, tc.o.Members = "../../policies", demoSeed, "members"
			if tc.o.Action == "" {
				tc.o.Action = "read"
			}
			code, out := explainRun(t, tc.o)
			if code != tc.code {
				t.Errorf("exit code %d, want %d\n%s", code, tc.code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(out, a) {
					t.Errorf("output has %q:\n%s", a, out)
				}
			}
		})
	}
}

// TestPolicyExplainJSON pins the JSON shape a script reads.
func TestPolicyExplainJSON(t *testing.T) {
	code, out := explainRun(t, explainOptions{Policies: "../../policies", Data: demoSeed, Members: "members",
		User: "bob@acme.example", App: "documents", Action: "read", Record: "2", JSON: true})
	if code != explainRefused {
		t.Fatalf("exit code %d, want %d\n%s", code, explainRefused, out)
	}
	var got struct {
		Allowed bool   `json:"allowed"`
		Version string `json:"policy_version"`
		User    struct {
			Sub, Email, Name, Level, Org string
			Groups                       []string
			Attrs                        map[string]any
		} `json:"user"`
		Member struct {
			App, State string
			Found      bool
		} `json:"member"`
		App     struct{ ID, Alias string } `json:"app"`
		Action  string                     `json:"action"`
		Reasons []string                   `json:"reasons"`
		Why     []json.RawMessage          `json:"why"`
		RowRule struct {
			Condition string   `json:"condition"`
			All       bool     `json:"all"`
			Never     bool     `json:"never"`
			Fields    []string `json:"fields"`
		} `json:"row_rule"`
		Fields struct {
			Readable []string       `json:"readable"`
			Masked   map[string]any `json:"masked"`
			Writable []string       `json:"writable"`
		} `json:"fields"`
		Presets map[string]any `json:"presets"`
		Rate    int            `json:"rate"`
		Record  struct {
			ID       string `json:"id"`
			Included bool   `json:"included"`
			Rules    []struct {
				Rule, Location string
				Held           bool
				Failed         *struct {
					Location, Expr string
					Values         []struct{ Term, Value string }
				}
			} `json:"rules"`
		} `json:"record"`
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !got.Allowed || got.Version == "" || got.User.Level != "silver" || got.User.Groups == nil || got.User.Attrs == nil ||
		got.Member != (struct {
			App, State string
			Found      bool
		}{"members", "active", true}) ||
		got.App.ID != "3" || got.App.Alias != "documents" || got.Action != "read" || got.Reasons == nil || len(got.Why) == 0 {
		t.Errorf("head: %+v", got)
	}
	if got.RowRule.Condition != `(org in ("acme", "all")) and (audience in ("silver"))` || got.RowRule.All || got.RowRule.Never ||
		strings.Join(got.RowRule.Fields, ",") != "audience,org" {
		t.Errorf("row_rule: %+v", got.RowRule)
	}
	if len(got.Fields.Readable) == 0 || got.Fields.Writable == nil || got.Fields.Masked == nil || got.Presets == nil || got.Rate != 3000 {
		t.Errorf("fields: %+v presets %v rate %d", got.Fields, got.Presets, got.Rate)
	}
	if got.Record.ID != "2" || got.Record.Included {
		t.Fatalf("record: %+v", got.Record)
	}
	var excluded bool
	audienceInclude, audienceTest := regoLine(t, "include if {", 2), regoLine(t, "input.record[app.audience_field] in level.audiences", 1)
	for _, r := range got.Record.Rules {
		if r.Location == audienceInclude && !r.Held && r.Failed != nil && r.Failed.Location == audienceTest &&
			len(r.Failed.Values) == 2 && r.Failed.Values[0].Value == `"gold"` && r.Failed.Values[1].Value == `["silver"]` {
			excluded = true
		}
	}
	if !excluded {
		t.Errorf("the audience body is not the one that excluded the record: %+v", got.Record.Rules)
	}
}

// perActionPolicy lets each action through a different rule, so that an
// explanation naming the wrong body, line or value shows.
const perActionPolicy = `package kgate

allow if input.action in {"read", "comment.read"}

allow if {
	input.action == "update"
	input.user.level == "gold"
}

allow if {
	input.action == "file.read"
	input.user.attrs.nda == true
}

include if input.record.owner == input.user.email

include if {
	input.action == "comment.read"
	input.record.public == true
}

readable contains "title"

writable contains "title" if input.action == "update"

rate := 20 if input.action == "read"
`

func TestPolicyExplainOnAPolicyWithPerActionRules(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "p.rego", perActionPolicy)
	for _, tc := range []struct {
		name   string
		action string
		attrs  string
		code   int
		want   []string
	}{
		{"read is allowed by the first body", "read", `{"level": "silver"}`, explainAllowed, []string{
			"  held    allow          p.rego:3\n",
			"  failed  allow          p.rego:5  at p.rego:6: input.action == \"update\"\n          input.action = \"read\"\n",
			"  failed  allow          p.rego:10  at p.rego:11: input.action == \"file.read\"\n          input.action = \"read\"\n",
			"rate: 20 records per minute",
		}},
		{"comment.read is allowed by the same body", "comment.read", `{"level": "silver"}`, explainAllowed, []string{
			"  held    allow          p.rego:3\n", "rate: unlimited",
		}},
		{"update is refused for silver at the level test", "update", `{"level": "silver"}`, explainRefused, []string{
			"REFUSED: update in app \"orders\" (id 7)",
			"  failed  allow          p.rego:3  at p.rego:3: input.action in {\"read\", \"comment.read\"}\n          input.action = \"update\"\n",
			"  failed  allow          p.rego:5  at p.rego:7: input.user.level == \"gold\"\n          input.user.level = \"silver\"\n",
		}},
		{"update is allowed for gold, with the field it opens", "update", `{"level": "gold"}`, explainAllowed, []string{
			"  held    allow          p.rego:5\n", "writable: title",
		}},
		{"file.read without the NDA attribute: undefined", "file.read", `{"level": "gold"}`, explainRefused, []string{
			"  failed  allow          p.rego:10  at p.rego:12: input.user.attrs.nda == true\n          input.user.attrs.nda = undefined\n",
		}},
		{"file.read with the NDA attribute false", "file.read", `{"level": "gold", "nda": false}`, explainRefused, []string{
			"          input.user.attrs.nda = false\n",
			`attrs {"nda":false}`,
		}},
		{"file.read with the NDA attribute", "file.read", `{"attrs": {"nda": true}}`, explainAllowed, []string{
			"  held    allow          p.rego:10\n",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := explainRun(t, explainOptions{Policies: dir, Package: "kgate", User: "pat@x.example",
				App: "orders=7", Action: tc.action, Attrs: tc.attrs})
			if code != tc.code {
				t.Errorf("exit code %d, want %d\n%s", code, tc.code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestPolicyExplainUsageErrorsExitTwo(t *testing.T) {
	broken := t.TempDir()
	write(t, broken, "p.rego", "package kgate\n\nallow if {\n")
	base := explainOptions{Policies: "../../policies", User: "bob@acme.example", App: "budget", Action: "read",
		Data: demoSeed, Members: "members"}
	for _, tc := range []struct {
		name string
		edit func(*explainOptions)
		want string
	}{
		{"no user", func(o *explainOptions) { o.User = "" }, "--user required"},
		{"no policies", func(o *explainOptions) { o.Policies = "" }, "--policies required"},
		{"both sources", func(o *explainOptions) { o.Kintone = "http://127.0.0.1:1" }, "not both"},
		{"record without a source", func(o *explainOptions) { o.Data, o.Record = "", "1" }, "--record needs"},
		{"kintone without a token", func(o *explainOptions) { o.Data, o.Kintone = "", "http://127.0.0.1:1" }, "--token"},
		{"status without its action", func(o *explainOptions) { o.Action = "status" }, "--status-action"},
		{"attrs not an object", func(o *explainOptions) { o.Attrs = "[1]" }, "--attrs"},
		{"level not a string", func(o *explainOptions) { o.Attrs = `{"level": 3}` }, "level must be a string"},
		{"app not in the seed", func(o *explainOptions) { o.App = "nope" }, `app "nope" is not in the seed`},
		{"record not in the app", func(o *explainOptions) { o.Record = "9999" }, "record 9999 of app 2"},
		{"seed missing", func(o *explainOptions) { o.Data = "no-such-seed.json" }, "--data"},
		{"policy does not parse", func(o *explainOptions) { o.Policies = broken }, "p.rego:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := base
			tc.edit(&o)
			code, out := explainRun(t, o)
			if code != explainUsage || !strings.Contains(out, tc.want) {
				t.Errorf("exit code %d, output %q; want %d and %q", code, out, explainUsage, tc.want)
			}
		})
	}
}

// TestPolicyExplainREADMEExampleIsReal runs the README's example and
// compares the output, the policy version aside (it changes with any edit
// of policies/).
func TestPolicyExplainREADMEExampleIsReal(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const cmd = "$ kgate policy explain --policies policies --data examples/partner-portal/seed.json \\\n" +
		"    --user bob@acme.example --app documents --record 2\n"
	_, shown, ok := strings.Cut(string(readme), cmd)
	if !ok {
		t.Fatal("the README's example is gone")
	}
	shown, _, _ = strings.Cut(shown, "$ echo $?")
	code, out := explainRun(t, explainOptions{Policies: "../../policies", Data: demoSeed, Members: "members",
		User: "bob@acme.example", App: "documents", Action: "read", Record: "2"})
	version := regexp.MustCompile(`policy version [0-9a-f]+`)
	if code != explainRefused || version.ReplaceAllString(out, "V") != version.ReplaceAllString(shown, "V") {
		t.Errorf("exit %d; the README shows\n%s\nkgate prints\n%s", code, shown, out)
	}
}
