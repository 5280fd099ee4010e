package policy

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/kgate/kgate/internal/kql"
)

func TestRowRuleCache(t *testing.T) {
	dir := writeDir(t, map[string]string{"p.rego": `package kgate
include if input.record.org == input.user.org
include if { input.action == "update"; input.record.Status == "Draft" }
include if { input.status_action == "Approve"; input.record.amount < 100 }
include if { input.user.attrs.region == "north"; input.record.title == "n" }
include if { input.app.alias == "other"; input.record.title == "o" }
broken if input.user.level == "broken"
include if { broken; startswith(input.record.title, "x") }
`})
	e := open(t, Options{Dir: dir, CacheSize: 8})
	ctx := context.Background()
	form := demoForms["budget"]
	base := Input{User: alice, App: demoApps["budget"], Action: "read"}
	compiles := func() int64 { return e.cur.Load().compiles.Load() }

	first, err := e.RowRule(ctx, base, form)
	if err != nil {
		t.Fatal(err)
	}
	second, _ := e.RowRule(ctx, base, form)
	if compiles() != 1 || !reflect.DeepEqual(first, second) {
		t.Fatalf("a hit compiled again (%d compilations) or differs: %s vs %s", compiles(), describe(first), describe(second))
	}

	misses := map[string]func(*Input){
		"another org":           func(in *Input) { in.User.Org = "bluebird" },
		"another attribute":     func(in *Input) { in.User.Attrs = map[string]any{"region": "north"} },
		"another e-mail":        func(in *Input) { in.User.Email = "x@acme.example" },
		"another action":        func(in *Input) { in.Action = "update" },
		"another status action": func(in *Input) { in.Action, in.StatusAction = "status", "Approve" },
		"another app":           func(in *Input) { in.App = App{ID: "9", Alias: "other"} },
	}
	want := int64(1)
	for name, change := range misses {
		in := base
		change(&in)
		if _, err := e.RowRule(ctx, in, form); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want++
		if compiles() != want {
			t.Fatalf("%s: %d compilations, want %d (a miss)", name, compiles(), want)
		}
	}

	// a rule that does not compile is cached as an error, not recompiled
	bad := base
	bad.User.Level = "broken"
	for range 2 {
		if rr, err := e.RowRule(ctx, bad, form); err == nil || !rr.Never {
			t.Fatalf("broken branch: %s, %v", describe(rr), err)
		}
	}
	if want++; compiles() != want {
		t.Fatalf("errors: %d compilations, want %d", compiles(), want)
	}

	// the cache is bounded: the least recently used entry goes
	for i := range 10 {
		in := base
		in.User.Sub = fmt.Sprint("user-", i)
		e.RowRule(ctx, in, form)
	}
	if n := e.cur.Load().cache.len(); n != 8 {
		t.Fatalf("cache holds %d entries, want its cap 8", n)
	}
	before := compiles()
	e.RowRule(ctx, base, form) // long evicted
	if compiles() != before+1 {
		t.Fatal("an evicted entry was served")
	}

	// a reload starts an empty cache under the new version
	writeFile(t, dir, "p.rego", `package kgate
include if input.record.org in {input.user.org, "cosmo"}
`)
	if err := e.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	after, err := e.RowRule(ctx, base, form)
	if err != nil || describe(after) != `org in ("acme", "cosmo")` || after.Version == first.Version {
		t.Fatalf("after reload: %s (version %s), %v", describe(after), after.Version, err)
	}
	if compiles() != 1 || e.cur.Load().cache.len() != 1 {
		t.Fatalf("after reload: %d compilations, %d cached", compiles(), e.cur.Load().cache.len())
	}
}

// Translation runs per call, so a changed form takes effect at once even
// for a cached rule.
func TestCachedRulesFollowTheForm(t *testing.T) {
	e := openPolicy(t, "package kgate\ninclude if input.record.org == \"cosmo\"\n")
	in := Input{Action: "read"}
	rr, err := e.RowRule(context.Background(), in, demoForms["budget"])
	if err != nil || describe(rr) != `org in ("cosmo")` {
		t.Fatalf("%s, %v", describe(rr), err)
	}
	rr, err = e.RowRule(context.Background(), in, map[string]kql.Field{"org": dropDown("org", "acme")})
	if err != nil || !rr.Never {
		t.Fatalf("cosmo no longer an option: %s, %v", describe(rr), err)
	}
	if _, err = e.RowRule(context.Background(), in, map[string]kql.Field{}); err == nil {
		t.Fatal("org removed from the form: want an error")
	}
}

// Run with -race: requests on every method while the policy reloads.
func TestConcurrentUseDuringReloads(t *testing.T) {
	dir := writeDir(t, map[string]string{"p.rego": goodPolicy, "p_test.rego": goodTest})
	e := open(t, Options{Dir: dir})
	ctx := context.Background()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := range 4 {
		wg.Go(func() {
			u := User{Level: "gold", Org: fmt.Sprint("org", g%2)}
			for {
				select {
				case <-stop:
					return
				default:
				}
				in := Input{User: u, App: demoApps["budget"], Action: "read"}
				if d, err := e.Decide(ctx, in); err != nil || !d.Allow {
					t.Errorf("decide: %+v, %v", d, err)
					return
				}
				if _, err := e.RowRule(ctx, in, demoForms["budget"]); err != nil {
					t.Errorf("row rule: %v", err)
					return
				}
				in.Record = map[string]any{"org": u.Org}
				if ok, err := e.Include(ctx, in); err != nil || !ok {
					t.Errorf("include: %v, %v", ok, err)
					return
				}
			}
		})
	}
	for i := range 5 {
		writeFile(t, dir, "p.rego", goodPolicy+fmt.Sprintf("\nrate := %d\n", i+1))
		if err := e.Reload(ctx); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
}

func TestDecisionsWithoutARecordAreReused(t *testing.T) {
	dir := writeDir(t, map[string]string{"p.rego": `package kgate
allow if input.user.level == "gold"
writable contains "title" if input.record.Status == "Draft"
`})
	e := open(t, Options{Dir: dir})
	ctx := context.Background()
	evaluations := func() int64 { return e.cur.Load().evaluations.Load() }
	base := Input{User: alice, App: demoApps["budget"], Action: "read"}
	for i := 0; i < 3; i++ {
		if d, err := e.Decide(ctx, base); err != nil || !d.Allow {
			t.Fatalf("decision %+v, %v", d, err)
		}
	}
	if evaluations() != 1 {
		t.Fatalf("three identical decisions took %d evaluations, want 1", evaluations())
	}
	other := base
	other.User.Level = "silver"
	if d, _ := e.Decide(ctx, other); d.Allow || evaluations() != 2 {
		t.Fatalf("another member reused the decision (allow %v, %d evaluations)", d.Allow, evaluations())
	}
	withRecord := base
	withRecord.Action = "update"
	for _, status := range []string{"Draft", "Submitted"} {
		withRecord.Record = map[string]any{"Status": status}
		d, _ := e.Decide(ctx, withRecord)
		if d.Writable.Has("title") != (status == "Draft") {
			t.Fatalf("a decision on a %s record was reused from another record", status)
		}
	}
	if evaluations() != 4 {
		t.Fatalf("decisions on records: %d evaluations, want each evaluated", evaluations())
	}
}

func TestIncludeVerdictsAreReusedPerRecordValues(t *testing.T) {
	dir := writeDir(t, map[string]string{"p.rego": `package kgate
include if input.record.org == input.user.org
`})
	e := open(t, Options{Dir: dir})
	ctx := context.Background()
	inclusions := func() int64 { return e.cur.Load().inclusions.Load() }
	in := Input{User: alice, App: demoApps["budget"], Action: "read"}
	check := func(org string, want bool) {
		t.Helper()
		in.Record = map[string]any{"org": org}
		if ok, err := e.Include(ctx, in); err != nil || ok != want {
			t.Fatalf("Include(org %s) = %v, %v; want %v", org, ok, err, want)
		}
	}
	check(alice.Org, true)
	check(alice.Org, true)
	check("bluebird", false)
	check("bluebird", false)
	if inclusions() != 2 {
		t.Fatalf("four checks of two records took %d evaluations, want 2", inclusions())
	}
	other := in
	other.User.Org = "bluebird"
	other.Record = map[string]any{"org": "bluebird"}
	if ok, _ := e.Include(ctx, other); !ok || inclusions() != 3 {
		t.Fatalf("another member reused a verdict (ok %v, %d evaluations)", ok, inclusions())
	}
}
