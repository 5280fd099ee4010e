package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/kgate/kgate/internal/kql"
)

// Report is an explanation as an operator reads it: `kgate policy
// explain` prints it (as text or JSON) and the portal shows it to staff
// viewing as a member who is refused, so both say the same thing the same
// way.
type Report struct {
	Allowed bool           `json:"allowed"`
	Version string         `json:"policy_version"`
	User    User           `json:"user"`
	Member  *MemberState   `json:"member,omitempty"`
	App     App            `json:"app"`
	Action  string         `json:"action"`
	Status  string         `json:"status_action,omitempty"`
	Reasons []string       `json:"reasons"`
	Why     []RuleOutcome  `json:"why"`
	RowRule *RowRuleReport `json:"row_rule"`
	Fields  FieldsReport   `json:"fields"`
	Presets map[string]any `json:"presets"`
	Rate    int            `json:"rate"` // records per minute; 0 = unlimited
	Record  *RecordReport  `json:"record,omitempty"`
	Rules   []RuleOutcome  `json:"rules,omitempty"`
	Trace   []string       `json:"trace,omitempty"`
}

// MemberState is what the members app said of the person; a Report
// without one was given its user directly.
type MemberState struct {
	App   string `json:"app"`
	State string `json:"state"`
	Found bool   `json:"found"`
}

// RowRuleReport is the compiled row rule.
type RowRuleReport struct {
	// Condition is the kintone query condition; "" when every record is
	// included (All) or none (Never).
	Condition string   `json:"condition"`
	All       bool     `json:"all"`
	Never     bool     `json:"never"`
	Fields    []string `json:"fields"`
	Error     string   `json:"error,omitempty"`
}

// FieldsReport is what the decision opens of the app's fields.
type FieldsReport struct {
	Readable any            `json:"readable"` // "*" or the codes
	Masked   map[string]any `json:"masked"`
	Writable any            `json:"writable"`
}

// RecordReport is the row rule's verdict on in.Record.
type RecordReport struct {
	ID       string        `json:"id"`
	Included bool          `json:"included"`
	Rules    []RuleOutcome `json:"rules"`
}

// NewReport explains the decision for in under v. With form (the app's
// fields) it compiles the row rule too; with in.Record, recordID names
// the record whose inclusion is explained. verbose keeps every rule body
// reached and the trace.
func NewReport(ctx context.Context, v View, in Input, form map[string]kql.Field, recordID string, verbose bool) (*Report, error) {
	// as the policy sees them: no groups is [], no attributes {}
	in.User.Groups = nonNil(in.User.Groups)
	in.User.Attrs = nonNilMap(in.User.Attrs)
	rep := &Report{User: in.User, App: in.App, Action: in.Action, Status: in.StatusAction}
	x, err := v.Explain(ctx, in)
	if err != nil {
		return nil, err
	}
	d := x.Decision
	rep.Allowed, rep.Version = d.Allow, d.Version
	rep.Reasons = nonNil(d.Reasons)
	rep.Why = nonNil(x.Why())
	rep.Fields = FieldsReport{Readable: fieldSet(d.Readable), Masked: nonNilMap(d.Masks), Writable: fieldSet(d.Writable)}
	rep.Presets = nonNilMap(d.Presets)
	rep.Rate = d.Rate
	if form != nil {
		in.Record = nil
		rr, err := v.RowRule(ctx, in, form)
		rep.RowRule = &RowRuleReport{Never: rr.Never, All: !rr.Never && rr.Cond == nil, Fields: nonNil(rr.Fields)}
		if err != nil {
			rep.RowRule.Error = err.Error()
		} else if rr.Cond != nil {
			rep.RowRule.Condition = kql.Format(rr.Cond)
		}
	}
	if x.Included != nil {
		rep.Record = &RecordReport{ID: recordID, Included: *x.Included, Rules: nonNil(x.WhyExcluded())}
	}
	if verbose {
		rep.Rules = slices.Concat(x.Rules, x.Include)
		rep.Trace = x.Trace
	}
	return rep, nil
}

// Refused reports whether the decision or the record's row rule said no.
func (r *Report) Refused() bool { return !r.Allowed || (r.Record != nil && !r.Record.Included) }

func fieldSet(s FieldSet) any {
	if s.All {
		return "*"
	}
	return nonNil(s.Codes)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func nonNilMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// maxValue bounds a value in the text output; the JSON has them whole.
const maxValue = 120

// WriteText writes the report as `kgate policy explain` prints it; verbose
// adds every rule body reached and the trace.
func (r *Report) WriteText(w io.Writer, verbose bool) {
	verdict := "ALLOWED"
	if !r.Allowed {
		verdict = "REFUSED"
	}
	action := r.Action
	if r.Status != "" {
		action = fmt.Sprintf("status %q", r.Status)
	}
	fmt.Fprintf(w, "%s: %s in app %q (id %s) for %s\n", verdict, action, r.App.Alias, orDash(r.App.ID), orDash(r.User.Email))
	fmt.Fprintf(w, "policy version %s\n", r.Version)
	fmt.Fprintf(w, "member: level %s, org %s", orDash(r.User.Level), orDash(r.User.Org))
	if len(r.User.Groups) > 0 {
		fmt.Fprintf(w, ", groups %s", strings.Join(r.User.Groups, ", "))
	}
	if len(r.User.Attrs) > 0 {
		b, _ := json.Marshal(r.User.Attrs)
		fmt.Fprintf(w, ", attrs %s", b)
	}
	switch {
	case r.Member == nil:
		fmt.Fprintln(w, " (from --user and --attrs)")
	case !r.Member.Found:
		fmt.Fprintf(w, " (not in the members app %q)\n", r.Member.App)
	default:
		fmt.Fprintf(w, " (members app %q, state %s)\n", r.Member.App, orDash(r.Member.State))
	}
	for _, reason := range r.Reasons {
		fmt.Fprintf(w, "reason: %s\n", reason)
	}
	fmt.Fprintln(w, "\nwhy:")
	writeRules(w, r.Why)
	fmt.Fprintln(w)
	switch rr := r.RowRule; {
	case rr == nil:
		fmt.Fprintln(w, "row rule: (needs the app's form: give --kintone or --data)")
	case rr.Error != "":
		fmt.Fprintf(w, "row rule: ERROR %s (no record is served)\n", rr.Error)
	case rr.Never:
		fmt.Fprintln(w, "row rule: no record")
	case rr.All:
		fmt.Fprintln(w, "row rule: every record")
	default:
		fmt.Fprintf(w, "row rule: %s\n", rr.Condition)
	}
	fmt.Fprintf(w, "readable: %s\n", codes(r.Fields.Readable))
	fmt.Fprintf(w, "masked:   %s\n", values(r.Fields.Masked))
	fmt.Fprintf(w, "writable: %s\n", codes(r.Fields.Writable))
	fmt.Fprintf(w, "presets:  %s\n", values(r.Presets))
	if r.Rate > 0 {
		fmt.Fprintf(w, "rate: %d records per minute\n", r.Rate)
	} else {
		fmt.Fprintln(w, "rate: unlimited")
	}
	if rec := r.Record; rec != nil {
		if rec.Included {
			fmt.Fprintf(w, "\nrecord %s: included by the row rule\n", rec.ID)
		} else {
			fmt.Fprintf(w, "\nrecord %s: EXCLUDED by the row rule\n", rec.ID)
		}
		writeRules(w, rec.Rules)
	}
	if verbose {
		fmt.Fprintln(w, "\nevery rule body reached:")
		writeRules(w, r.Rules)
		fmt.Fprintln(w, "\ntrace:")
		for _, l := range r.Trace {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
}

func writeRules(w io.Writer, rules []RuleOutcome) {
	if len(rules) == 0 {
		fmt.Fprintln(w, "  (no rule body of the policy was reached)")
	}
	for _, o := range rules {
		if o.Held {
			fmt.Fprintf(w, "  held    %-14s %s\n", o.Rule, o.Location)
			continue
		}
		if o.Failed == nil {
			fmt.Fprintf(w, "  failed  %-14s %s\n", o.Rule, o.Location)
			continue
		}
		fmt.Fprintf(w, "  failed  %-14s %s  at %s: %s\n", o.Rule, o.Location, o.Failed.Location, o.Failed.Expr)
		for _, v := range o.Failed.Values {
			val := v.Value
			if len(val) > maxValue {
				val = val[:maxValue] + "…"
			}
			fmt.Fprintf(w, "          %s = %s\n", v.Term, val)
		}
	}
}

func codes(v any) string {
	switch c := v.(type) {
	case string:
		return "* (every field)"
	case []string:
		if len(c) == 0 {
			return "(none)"
		}
		return strings.Join(c, ", ")
	}
	return fmt.Sprint(v)
}

func values(m map[string]any) string {
	if len(m) == 0 {
		return "(none)"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		b, _ := json.Marshal(m[k])
		parts = append(parts, fmt.Sprintf("%s=%s", k, b))
	}
	return strings.Join(parts, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
