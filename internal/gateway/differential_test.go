package gateway_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/testworld"
)

// TestDifferentialReadsMatchPolicyAndQueryComputedIndependently sends
// random queries as random members and compares the ids kgate returns with
// the ids computed without kgate: the policy's include evaluated by OPA on
// every record, intersected with the query evaluated by the simulator.
func TestDifferentialReadsMatchPolicyAndQueryComputedIndependently(t *testing.T) {
	if testing.Short() {
		t.Skip("the differential test runs 2,000 queries")
	}
	e := newEnv(t, 2500)
	members := differentialMembers()
	visible := map[string]map[string]bool{}
	for name, id := range members {
		visible[name] = e.want.Visible(t, id, testworld.OrdersApp, "orders")
	}
	r := rand.New(rand.NewPCG(7, 7))
	names := sortedKeys(members)
	pairs, nonEmpty := 0, 0
	for pairs < 2000 {
		name := names[r.IntN(len(names))]
		id := members[name]
		cond := randomCondition(r, id.Level, 3)
		matches, err := e.simMatches(t, cond)
		if err != nil {
			t.Fatalf("the simulator refused %q: %v", cond, err)
		}
		want := map[string]bool{}
		for rid := range matches {
			if visible[name][rid] {
				want[rid] = true
			}
		}
		got, total, err := e.readAll(t, id, cond)
		if err != nil {
			t.Fatalf("%s: kgate refused %q: %v", name, cond, err)
		}
		if extra, missing := diff(set(got), want); len(extra)+len(missing) > 0 || len(got) != len(want) {
			t.Fatalf("%s, %q:\nkgate returned %d extra ids %v and missed %d ids %v (got %d, want %d)",
				name, cond, len(extra), extra, len(missing), missing, len(got), len(want))
		}
		if total != int64(len(want)) {
			t.Fatalf("%s, %q: totalCount %d, want %d", name, cond, total, len(want))
		}
		pairs++
		if len(want) > 0 {
			nonEmpty++
		}
	}
	if nonEmpty < pairs/4 {
		t.Fatalf("only %d of %d queries matched anything; the generator is too narrow", nonEmpty, pairs)
	}
	t.Logf("%d (member, query) pairs, %d with a non-empty result, zero differences", pairs, nonEmpty)
}

func differentialMembers() map[string]*identity.Identity {
	m := map[string]*identity.Identity{}
	for name, id := range testworld.Identities {
		if id.Level != "" {
			m[name] = id
		}
	}
	m["gina"] = &identity.Identity{Subject: "u-gina", Issuer: "https://idp.test", Email: "gina@cosmo.example", Level: "gold", Org: "cosmo"}
	m["orphan"] = &identity.Identity{Subject: "u-orphan", Issuer: "https://idp.test", Email: "o@x.example", Level: "gold"}
	return m
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// simMatches returns every record id the simulator matches for cond,
// asked directly with the app's API token.
func (e *env) simMatches(t testing.TB, cond string) (map[string]bool, error) {
	out := map[string]bool{}
	for offset := 0; ; offset += 500 {
		resp, err := e.direct.Do(e.ctx, kintone.Request{Method: "GET", API: "records.json", App: testworld.OrdersApp,
			Tokens: []string{testworld.OrdersToken}, Params: url.Values{"app": {testworld.OrdersApp}, "fields[0]": {"$id"},
				"query": {fmt.Sprintf("%s order by $id asc limit 500 offset %d", cond, offset)}}})
		if err != nil {
			return nil, err
		}
		var page struct{ Records []kintone.Record }
		if err := json.Unmarshal(resp.Body, &page); err != nil {
			return nil, err
		}
		for _, r := range page.Records {
			out[idOf(r)] = true
		}
		if len(page.Records) < 500 {
			return out, nil
		}
	}
}

// readAll reads every match the way a client would: the first page with
// totalCount through ListRecords, the rest through a cursor. The first
// page must be the first ids of the cursor's sequence.
func (e *env) readAll(t testing.TB, id *identity.Identity, cond string) ([]string, int64, error) {
	size := 500
	if id.Level == "silver" {
		size = 50
	}
	ref := gateway.AppRef{ID: testworld.OrdersApp}
	first, err := e.gw.ListRecords(e.ctx, id, gateway.ListRequest{App: ref,
		Query: fmt.Sprintf("%s order by $id asc limit %d", cond, size), Fields: []string{"$id"}, TotalCount: true})
	if err != nil {
		return nil, 0, err
	}
	var ids []string
	for _, raw := range first.Records {
		ids = append(ids, idOf(decode(t, raw)))
	}
	if len(ids) < size {
		return ids, *first.TotalCount, nil
	}
	key, total, err := e.gw.CreateCursor(e.ctx, id, gateway.CursorRequest{App: ref, Query: cond + " order by $id asc", Fields: []string{"$id"}, Size: size})
	if err != nil {
		return nil, 0, err
	}
	if total != *first.TotalCount {
		t.Fatalf("%q: the cursor counts %d, records.json %d", cond, total, *first.TotalCount)
	}
	var all []string
	for {
		page, err := e.gw.GetCursor(e.ctx, id, key)
		if err != nil {
			return nil, 0, err
		}
		for _, raw := range page.Records {
			all = append(all, idOf(decode(t, raw)))
		}
		if !page.Next {
			break
		}
	}
	if strings.Join(all[:len(ids)], ",") != strings.Join(ids, ",") {
		t.Fatalf("%q: records.json's first page differs from the cursor's", cond)
	}
	return all, total, nil
}

// randomCondition builds a condition over the fields a member of level may
// use, with the operators kintone allows for each type.
func randomCondition(r *rand.Rand, level string, depth int) string {
	if depth == 0 || r.IntN(3) == 0 {
		return randomPredicate(r, level)
	}
	n := 2 + r.IntN(2)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = randomCondition(r, level, depth-1)
	}
	join := " and "
	if r.IntN(2) == 0 {
		join = " or "
	}
	return "(" + strings.Join(parts, join) + ")"
}

func quote(s string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
}

func randomPredicate(r *rand.Rand, level string) string {
	word := func() string { return testworld.Words[r.IntN(len(testworld.Words))] }
	options := func(opts ...string) string {
		n := 1 + r.IntN(len(opts))
		picked := make([]string, n)
		for i := range picked {
			picked[i] = quote(opts[r.IntN(len(opts))])
		}
		return "(" + strings.Join(picked, ", ") + ")"
	}
	in := func() string { return []string{"in", "not in"}[r.IntN(2)] }
	cmp := func() string { return []string{"=", "!=", "<", ">", "<=", ">="}[r.IntN(6)] }
	preds := []func() string{
		func() string { return "org " + in() + " " + options("acme", "bluebird", "cosmo", "") },
		func() string { return "priority " + in() + " " + options("high", "normal", "low", "") },
		func() string { return "shared " + in() + " " + options("yes", "no", "") },
		func() string { return "title " + []string{"like", "not like"}[r.IntN(2)] + " " + quote(word()) },
		func() string {
			return "title " + []string{"=", "!="}[r.IntN(2)] + " " + quote(word()+" "+word()+" "+strconv.Itoa(r.IntN(2500)))
		},
		func() string {
			return "memo " + []string{"is empty", "is not empty", "like " + quote(word())}[r.IntN(3)]
		},
		func() string {
			return "due " + cmp() + " " + quote(fmt.Sprintf("2026-%02d-%02d", 11+r.IntN(2), 1+r.IntN(28)))
		},
		func() string { return "$id " + cmp() + " " + strconv.Itoa(r.IntN(2600)) },
		func() string { return "item " + in() + " " + options(testworld.Words...) },
		func() string {
			return "qty " + []string{"<", ">", "<=", ">="}[r.IntN(4)] + " " + strconv.Itoa(r.IntN(20))
		},
	}
	if level != "silver" {
		preds = append(preds, func() string { return "amount " + cmp() + " " + strconv.Itoa(r.IntN(10000)) })
		preds = append(preds, func() string { return "cost " + cmp() + " " + strconv.Itoa(r.IntN(5000)) })
	}
	if level == "staff" {
		preds = append(preds, func() string { return "visibility " + in() + " " + options("public", "internal", "") })
		preds = append(preds, func() string {
			v := quote(fmt.Sprintf("s%d", r.IntN(100)))
			if r.IntN(2) == 0 {
				return "secret " + in() + " (" + v + ")"
			}
			return "secret " + []string{"=", "!="}[r.IntN(2)] + " " + v
		})
	}
	return preds[r.IntN(len(preds))]()
}
