package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/kgate/kgate/internal/kintone"
)

// Run: go test -run '^$' -bench . -benchmem ./internal/policy
// BenchmarkReferenceEval is the floor: OPA's own prepared evaluation of a
// one-line boolean rule. Compare the others with it, in the same run.

func BenchmarkReferenceEval(b *testing.B) {
	ctx := context.Background()
	pq, err := rego.New(
		rego.Query("data.ref.allow"),
		rego.Module("ref.rego", "package ref\nallow if input.user.level == \"gold\"\n"),
	).PrepareForEval(ctx)
	if err != nil {
		b.Fatal(err)
	}
	input := map[string]any{"user": map[string]any{"level": "gold"}}
	b.ReportAllocs()
	for b.Loop() {
		rs, err := pq.Eval(ctx, rego.EvalInput(input))
		if err != nil || !rs.Allowed() {
			b.Fatal(rs, err)
		}
	}
}

// The engine's own cost around OPA: a decision and an include on a policy
// as small as the reference's.
const minimalPolicy = `package kgate
allow if input.user.level == "gold"
include if input.record.org == input.user.org
`

func BenchmarkDecideMinimalPolicy(b *testing.B) {
	e := openPolicy(b, minimalPolicy)
	ctx := context.Background()
	in := Input{User: alice, App: demoApps["budget"], Action: "read"}
	s := e.cur.Load()
	b.ReportAllocs()
	for b.Loop() {
		d, err := s.decide(ctx, &in) // past the decision cache
		if err != nil || !d.Allow {
			b.Fatal(d, err)
		}
	}
}

func BenchmarkIncludeMinimalPolicy(b *testing.B) {
	e := openPolicy(b, minimalPolicy)
	ctx := context.Background()
	in := Input{User: carol, App: demoApps["documents"], Action: "read", Record: Flatten(benchRecord())}
	s := e.cur.Load()
	b.ReportAllocs()
	for b.Loop() {
		ok, err := s.includes(ctx, &in) // past the verdict cache
		if err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

// A full decision: every rule of the default policies for a gold member
// reading the budget app.
func BenchmarkDecide(b *testing.B) {
	e := defaultEngine(b)
	ctx := context.Background()
	in := Input{User: alice, App: demoApps["budget"], Action: "read"}
	s := e.cur.Load()
	b.ReportAllocs()
	for b.Loop() {
		d, err := s.decide(ctx, &in) // the evaluation itself, past the decision cache
		if err != nil || !d.Allow {
			b.Fatal(d, err)
		}
	}
}

// A decision the engine has made for the same member, app and action in
// the last seconds: what most requests of a busy member pay.
func BenchmarkDecideCached(b *testing.B) {
	e := defaultEngine(b)
	ctx := context.Background()
	in := Input{User: alice, App: demoApps["budget"], Action: "read"}
	b.ReportAllocs()
	for b.Loop() {
		d, err := e.Decide(ctx, in)
		if err != nil || !d.Allow {
			b.Fatal(d, err)
		}
	}
}

// Row-rule compilation on a cache miss: OPA's filter compilation (partial
// evaluation, fragment check, UCAST) plus the translation into KQL.
func BenchmarkRowRuleMiss(b *testing.B) {
	e := defaultEngine(b)
	ctx := context.Background()
	in := Input{User: carol, App: demoApps["documents"], Action: "read"}
	form := demoForms["documents"]
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		in.User.Sub = fmt.Sprint("bench-", i) // a new identity: never cached
		rr, err := e.RowRule(ctx, in, form)
		if err != nil || rr.Cond == nil {
			b.Fatal(rr, err)
		}
	}
}

// Row-rule compilation on a cache hit: the cache lookup (hashing the user)
// plus the translation into KQL.
func BenchmarkRowRuleHit(b *testing.B) {
	e := defaultEngine(b)
	ctx := context.Background()
	in := Input{User: carol, App: demoApps["documents"], Action: "read"}
	form := demoForms["documents"]
	if _, err := e.RowRule(ctx, in, form); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		rr, err := e.RowRule(ctx, in, form)
		if err != nil || rr.Cond == nil {
			b.Fatal(rr, err)
		}
	}
}

// The re-check of one record read from kintone: include evaluated with the
// flattened record known.
func BenchmarkInclude(b *testing.B) {
	e := defaultEngine(b)
	ctx := context.Background()
	in := Input{User: carol, App: demoApps["documents"], Action: "read", Record: Flatten(benchRecord())}
	s := e.cur.Load()
	b.ReportAllocs()
	for b.Loop() {
		ok, err := s.includes(ctx, &in) // the evaluation itself, past the verdict cache
		if err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

// A verdict on the same record values for the same member in the last
// seconds: what the re-check of a page mostly pays.
func BenchmarkIncludeCached(b *testing.B) {
	e := defaultEngine(b)
	ctx := context.Background()
	in := Input{User: carol, App: demoApps["documents"], Action: "read", Record: Flatten(benchRecord())}
	b.ReportAllocs()
	for b.Loop() {
		ok, err := e.Include(ctx, in)
		if err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

// Flattening one record of 20 fields, the step before Include.
func BenchmarkFlatten(b *testing.B) {
	rec := benchRecord()
	b.ReportAllocs()
	for b.Loop() {
		if len(Flatten(rec)) != len(rec) {
			b.Fatal("lost fields")
		}
	}
}

func benchRecord() kintone.Record {
	rec := kintone.Record{
		"$id":        {Type: "__ID__", Value: json.RawMessage(`"42"`)},
		"$revision":  {Type: "__REVISION__", Value: json.RawMessage(`"3"`)},
		"title":      {Type: "SINGLE_LINE_TEXT", Value: json.RawMessage(`"Partner onboarding guide"`)},
		"org":        {Type: "DROP_DOWN", Value: json.RawMessage(`"bluebird"`)},
		"audience":   {Type: "DROP_DOWN", Value: json.RawMessage(`"gold"`)},
		"published":  {Type: "DATE", Value: json.RawMessage(`"2024-06-01"`)},
		"file":       {Type: "FILE", Value: json.RawMessage(`[{"contentType":"application/pdf","fileKey":"k","name":"guide.pdf","size":"123456"}]`)},
		"Created_by": {Type: "CREATOR", Value: json.RawMessage(`{"code":"sam","name":"Sam"}`)},
	}
	for i := len(rec); i < 20; i++ {
		rec[fmt.Sprint("text", i)] = kintone.FieldValue{Type: "SINGLE_LINE_TEXT", Value: json.RawMessage(`"some text value"`)}
	}
	return rec
}
