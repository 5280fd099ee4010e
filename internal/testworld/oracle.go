package testworld

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"

	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/policy"
)

// Oracle tells what each member may see without asking kgate: every record
// as the simulator holds it, and the policy's include evaluated by OPA
// directly on each.
type Oracle struct {
	Records map[string]map[string]kintone.Record // app id → record id → record
	include rego.PreparedEvalQuery
}

// Oracle reads every record of the world's apps and prepares the policy.
func (w *World) Oracle(t testing.TB) *Oracle {
	t.Helper()
	o := &Oracle{Records: map[string]map[string]kintone.Record{}}
	for _, app := range []string{OrdersApp, NoticesApp} {
		n, _ := strconv.ParseInt(app, 10, 64)
		o.Records[app] = map[string]kintone.Record{}
		for offset := 0; ; offset += 500 {
			page, err := w.Sim.Select(n, "", fmt.Sprintf("order by $id asc limit 500 offset %d", offset))
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page {
				o.Records[app][ID(r)] = r
			}
			if len(page) < 500 {
				break
			}
		}
	}
	pq, err := rego.New(rego.Query("data.kgate.include"), rego.Load([]string{w.PolicyDir}, nil)).PrepareForEval(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	o.include = pq
	return o
}

// ID returns a record's $id.
func ID(r kintone.Record) string {
	var s string
	json.Unmarshal(r["$id"].Value, &s)
	return s
}

// Visible returns the ids of app's records the member may read.
func (o *Oracle) Visible(t testing.TB, id *identity.Identity, app, alias string) map[string]bool {
	t.Helper()
	// As the policy contract says, an attribute the member lacks is absent
	// from input.user, so that it can never equal an empty record value.
	user := map[string]any{"groups": []any{}, "attrs": map[string]any{}}
	for k, v := range map[string]string{"sub": id.Subject, "email": id.Email, "level": id.Level, "org": id.Org, "name": id.Name} {
		if v != "" {
			user[k] = v
		}
	}
	out := map[string]bool{}
	for rid, rec := range o.Records[app] {
		input := map[string]any{"user": user, "app": map[string]any{"id": app, "alias": alias}, "action": "read", "record": policy.Flatten(rec)}
		rs, err := o.include.Eval(context.Background(), rego.EvalInput(input))
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) > 0 && rs[0].Expressions[0].Value == true {
			out[rid] = true
		}
	}
	return out
}
