package policy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/kql"
)

const goodPolicy = `package kgate
allow if input.user.level == "gold"
include if input.record.org == input.user.org
`

const goodTest = `package kgate_test
import data.kgate
test_gold if kgate.allow with input as {"user": {"level": "gold"}}
`

func TestOpenRefusesWhatIsInvalid(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		opts  func(*Options)
		want  string
	}{
		{"a failing Rego test", map[string]string{
			"p.rego": goodPolicy,
			"p_test.rego": goodTest + `test_silver if kgate.allow with input as {"user": {"level": "silver"}}
`,
		}, nil, "p_test.rego:4: data.kgate_test.test_silver failed"},
		{"a Rego test that errors", map[string]string{
			"p.rego":      goodPolicy + "rate := 1 if input.x\nrate := 2 if input.x\n",
			"p_test.rego": goodTest + "test_conflict if kgate.rate with input as {\"x\": true}\n",
		}, nil, "test_conflict: p.rego:5: eval_conflict_error"},
		{"a failing case of a parameterized test", map[string]string{
			"p.rego": goodPolicy,
			"p_test.rego": goodTest + `test_levels[level] if {
	some level in ["gold", "silver"]
	kgate.allow with input as {"user": {"level": level}}
}
`,
		}, nil, "cases: silver"},
		{"a syntax error", map[string]string{"p.rego": "package kgate\nallow if {\n"}, nil, "p.rego:3: rego_parse_error"},
		{"a compile error", map[string]string{"p.rego": "package kgate\nallow if undefined_function(1)\n"}, nil, "p.rego:2"},
		{"Rego v0 syntax", map[string]string{"p.rego": "package kgate\nallow { true }\n"}, nil, "p.rego"},
		{"bad data.json", map[string]string{"p.rego": goodPolicy, "data.json": `{"a": `}, nil, "data.json"},
		{"data.json that is not an object", map[string]string{"p.rego": goodPolicy, "data.json": `[1]`}, nil, "data.json"},
		{"another data file", map[string]string{"p.rego": goodPolicy, "sub/data.json": `{}`}, nil, "only data.json at the top"},
		{"no policy", map[string]string{"README.md": "x"}, nil, "no .rego files"},
		{"a package that is not a name", map[string]string{"p.rego": goodPolicy}, func(o *Options) { o.Package = `kgate[x]` }, "invalid package"},
		{"a missing directory", nil, func(o *Options) { o.Dir = "/nonexistent/policies" }, "nonexistent"},
		{"no directory", nil, func(o *Options) { o.Dir = "" }, "no policy directory"},
		{"bad probes", map[string]string{"p.rego": goodPolicy, "data.json": `{"probes": {"users": "alice"}}`}, nil, "probes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := Options{Dir: writeDir(t, c.files)}
			if c.opts != nil {
				c.opts(&opts)
			}
			e, err := Open(context.Background(), opts)
			if err == nil {
				e.Close()
				t.Fatalf("Open succeeded, want an error containing %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not contain %q", err, c.want)
			}
		})
	}
}

func TestOpenServesAPassingDirectory(t *testing.T) {
	e := open(t, Options{Dir: writeDir(t, map[string]string{
		"p.rego":            goodPolicy,
		"tests/p_test.rego": goodTest,
		".hidden/x.json":    "not loaded",
		"README.md":         "not loaded",
	})})
	d, err := e.Decide(context.Background(), Input{User: User{Level: "gold"}, Action: "read"})
	if err != nil || !d.Allow || d.Version != e.Version() {
		t.Fatalf("got %+v, %v", d, err)
	}
}

func TestTheVersionIsAHashOfTheContent(t *testing.T) {
	files := map[string]string{"p.rego": goodPolicy, "p_test.rego": goodTest, "data.json": `{"x": 1}`}
	a := open(t, Options{Dir: writeDir(t, files)})
	b := open(t, Options{Dir: writeDir(t, files)})
	if a.Version() != b.Version() || len(a.Version()) != 12 {
		t.Fatalf("same files, versions %q and %q", a.Version(), b.Version())
	}
	files["data.json"] = `{"x": 2}`
	c := open(t, Options{Dir: writeDir(t, files)})
	if c.Version() == a.Version() {
		t.Fatal("data.json changed but the version did not")
	}
	delete(files, "data.json")
	files["q.rego"] = "package other\n"
	if d := open(t, Options{Dir: writeDir(t, files)}); d.Version() == a.Version() || d.Version() == c.Version() {
		t.Fatal("the files changed but the version did not")
	}
}

func TestAnotherPackage(t *testing.T) {
	e := open(t, Options{Dir: writeDir(t, map[string]string{
		"p.rego": "package acme.portal\nallow := true\ninclude if input.record.org == \"acme\"\n",
	}), Package: "acme.portal"})
	d, _ := e.Decide(context.Background(), Input{Action: "read"})
	rr, err := e.RowRule(context.Background(), Input{Action: "read"}, demoForms["budget"])
	if !d.Allow || err != nil || describe(rr) != `org in ("acme")` {
		t.Fatalf("got %+v, %s, %v", d, describe(rr), err)
	}
}

// The load-time check: include is compiled for every probe identity, app
// and action before a version activates.
func TestProbesCatchRowRulesOutsideTheFragment(t *testing.T) {
	policy := `package kgate
include if { input.user.level == "gold"; input.record.org == input.user.org }
# only silver members reach this branch, and it cannot be a filter
include if { input.user.level == "silver"; startswith(input.record.title, "A") }
`
	probes := `{"probes": {
		"users": [{"sub": "g", "level": "gold", "org": "acme"}, PROBE],
		"apps": [{"id": "2", "alias": "budget"}],
		"actions": ["read"]
	}}`
	t.Run("a probe reaching the branch refuses the version", func(t *testing.T) {
		dir := writeDir(t, map[string]string{"p.rego": policy,
			"data.json": strings.Replace(probes, "PROBE", `{"sub": "s", "level": "silver"}`, 1)})
		_, err := Open(context.Background(), Options{Dir: dir})
		if err == nil || !strings.Contains(err.Error(), "probe s, app budget, read") ||
			!strings.Contains(err.Error(), "startswith") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("without such a probe the request fails, and is denied", func(t *testing.T) {
		dir := writeDir(t, map[string]string{"p.rego": policy,
			"data.json": strings.Replace(probes, "PROBE", `{"sub": "g2", "level": "gold", "org": "bluebird"}`, 1)})
		e := open(t, Options{Dir: dir})
		rr, err := e.RowRule(context.Background(), Input{User: User{Level: "silver"}, Action: "read"}, demoForms["budget"])
		if err == nil || !rr.Never {
			t.Fatalf("got %s, %v", describe(rr), err)
		}
	})
	t.Run("with the form, probes also catch translation errors", func(t *testing.T) {
		dir := writeDir(t, map[string]string{
			"p.rego":    "package kgate\ninclude if input.record.amount == \"5\"\n",
			"data.json": `{"probes": {"apps": [{"id": "2", "alias": "budget"}], "actions": ["read"]}}`,
		})
		if _, err := Open(context.Background(), Options{Dir: dir}); err != nil {
			t.Fatalf("without the form the rule compiles: %v", err)
		}
		_, err := Open(context.Background(), Options{Dir: dir, Schemas: map[string]map[string]kql.Field{"2": demoForms["budget"]}})
		if err == nil || !strings.Contains(err.Error(), `field "amount"`) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("the probe without attributes is always added", func(t *testing.T) {
		dir := writeDir(t, map[string]string{
			"p.rego":    "package kgate\ninclude if { not input.user.org; regex.match(\"a\", input.record.title) }\n",
			"data.json": `{"probes": {"apps": [{"id": "2"}], "actions": ["read"]}}`,
		})
		_, err := Open(context.Background(), Options{Dir: dir})
		if err == nil || !strings.Contains(err.Error(), "probe (no attributes)") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("probes evaluate the decision rules too", func(t *testing.T) {
		dir := writeDir(t, map[string]string{
			"p.rego":    "package kgate\nrate := 1 if input.action == \"read\"\nrate := 2 if input.app.id == \"2\"\n",
			"data.json": `{"probes": {"apps": [{"id": "2"}], "actions": ["read"]}}`,
		})
		_, err := Open(context.Background(), Options{Dir: dir})
		if err == nil || !strings.Contains(err.Error(), "conflict") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("status actions are probed by name", func(t *testing.T) {
		dir := writeDir(t, map[string]string{
			"p.rego":    "package kgate\ninclude if { input.status_action == \"Approve\"; contains(input.record.title, \"x\") }\n",
			"data.json": `{"probes": {"apps": [{"id": "2"}], "actions": ["status"], "status_actions": ["Submit", "Approve"]}}`,
		})
		_, err := Open(context.Background(), Options{Dir: dir})
		if err == nil || !strings.Contains(err.Error(), "status Approve") || strings.Contains(err.Error(), "status Submit") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestTheDefaultPoliciesPassTheProbesWithTheDemoForms(t *testing.T) {
	schemas := map[string]map[string]kql.Field{}
	for alias, app := range demoApps {
		schemas[app.ID] = demoForms[alias]
	}
	open(t, Options{Dir: defaultPolicies, Schemas: schemas})
}

func TestRecoveredTurnsPanicsIntoErrors(t *testing.T) {
	f := func() (err error) {
		defer recovered(&err)
		var m map[string]int
		m["x"] = 1
		return nil
	}
	if err := f(); err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Fatalf("got %v", err)
	}
}

// reloads collects OnReload calls so tests wait on them, not on time.
type reloads chan reload

type reload struct {
	version string
	err     error
}

func (r reloads) on(version string, err error) { r <- reload{version, err} }

// replace writes a file of a watched directory in one step (written
// elsewhere, then renamed into place), so that no reload can see it half
// written.
func replace(t *testing.T, dir, name, src string) {
	t.Helper()
	tmp := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(tmp, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// next waits for the next reload attempt, or fails the test after a
// generous timeout.
func (r reloads) next(t *testing.T) reload {
	t.Helper()
	select {
	case x := <-r:
		return x
	case <-time.After(30 * time.Second):
		t.Fatal("no reload within 30s")
		return reload{}
	}
}

func TestHotReloadKeepsServingOnErrorsAndPicksUpFixes(t *testing.T) {
	dir := writeDir(t, map[string]string{"p.rego": goodPolicy, "p_test.rego": goodTest})
	logger, logs := observed()
	got := make(reloads, 16)
	e := open(t, Options{Dir: dir, Watch: true, Debounce: 20 * time.Millisecond, Logger: logger, OnReload: got.on})
	ctx := context.Background()
	v1 := e.Version()
	gold := Input{User: User{Level: "gold", Org: "acme"}, App: demoApps["budget"], Action: "read"}

	// warm the row-rule cache of v1
	rr, _ := e.RowRule(ctx, gold, demoForms["budget"])
	if describe(rr) != `org in ("acme")` {
		t.Fatalf("v1 row rule %s", describe(rr))
	}

	// a syntax error: v1 keeps serving, the error names the file and line
	replace(t, dir, "p.rego", goodPolicy+"\nallow if {\n")
	r := got.next(t)
	if r.err == nil || r.version != v1 || e.Version() != v1 {
		t.Fatalf("broken file: reload %+v, serving %s; want v1 %s kept", r, e.Version(), v1)
	}
	if !strings.Contains(r.err.Error(), "p.rego:") || e.ReloadError() == nil {
		t.Fatalf("the error %v should name p.rego and stay visible", r.err)
	}
	if d, err := e.Decide(ctx, gold); err != nil || !d.Allow || d.Version != v1 {
		t.Fatalf("while broken: %+v, %v", d, err)
	}
	if logs.FilterMessageSnippet("previous version keeps serving").Len() == 0 {
		t.Fatal("the failed reload was not logged")
	}

	// a failing Rego test is an error too
	replace(t, dir, "p.rego", "package kgate\nallow := false\ninclude := true\n")
	if r := got.next(t); r.err == nil || !strings.Contains(r.err.Error(), "test_gold") || e.Version() != v1 {
		t.Fatalf("failing test: %+v, serving %s", r, e.Version())
	}

	// fixed: the new version serves, the error clears, the cache is new
	replace(t, dir, "p.rego", `package kgate
allow if input.user.level == "gold"
include if input.record.org in {input.user.org, "all"}
`)
	r = got.next(t)
	if r.err != nil || r.version == v1 || e.Version() != r.version || e.ReloadError() != nil {
		t.Fatalf("fixed: reload %+v, serving %s, reload error %v", r, e.Version(), e.ReloadError())
	}
	rr, err := e.RowRule(ctx, gold, demoForms["budget"])
	if err != nil || describe(rr) != `org in ("acme")` && describe(rr) != `org in ("acme", "all")` {
		t.Fatalf("v2 row rule %s, %v", describe(rr), err)
	}
	if rr.Version != r.version {
		t.Fatalf("row rule from version %s, want %s", rr.Version, r.version)
	}
}

func TestHotReloadFollowsNewFilesAndRemovals(t *testing.T) {
	dir := writeDir(t, map[string]string{"p.rego": goodPolicy})
	got := make(reloads, 16)
	e := open(t, Options{Dir: dir, Watch: true, Debounce: 20 * time.Millisecond, OnReload: got.on})
	v1 := e.Version()
	replace(t, dir, "sub/q.rego", "package kgate\nrate := 7\n")
	r := got.next(t)
	if r.err == nil && r.version == v1 {
		// the new directory's reload ran before the file arrived in it
		r = got.next(t)
	}
	if r.err != nil || r.version == v1 {
		t.Fatalf("new file in a new directory: %+v", r)
	}
	if d, _ := e.Decide(context.Background(), Input{Action: "read"}); d.Rate != 7 {
		t.Fatalf("rate %d, want 7", d.Rate)
	}
	if err := os.Remove(filepath.Join(dir, "sub", "q.rego")); err != nil {
		t.Fatal(err)
	}
	for {
		r = got.next(t)
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.version == v1 {
			break // the directory is back to its first content
		}
	}
}

func TestReloadByHandAndClose(t *testing.T) {
	dir := writeDir(t, map[string]string{"p.rego": goodPolicy})
	e := open(t, Options{Dir: dir})
	v1 := e.Version()
	if err := e.Reload(context.Background()); err != nil || e.Version() != v1 {
		t.Fatalf("unchanged reload: %v, %s", err, e.Version())
	}
	writeFile(t, dir, "p.rego", "package kgate\nallow if {\n")
	if err := e.Reload(context.Background()); err == nil || e.Version() != v1 || !errors.Is(e.ReloadError(), err) {
		t.Fatalf("broken reload: %v, %s", err, e.Version())
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if d, _ := e.Decide(context.Background(), Input{User: User{Level: "gold"}}); !d.Allow {
		t.Fatal("a closed engine keeps answering with its version")
	}
}

func TestAViewKeepsItsVersionAcrossAReload(t *testing.T) {
	dir := writeDir(t, map[string]string{"p.rego": goodPolicy})
	e := open(t, Options{Dir: dir})
	ctx := context.Background()
	v := e.View()
	gold := Input{User: User{Level: "gold", Org: "acme"}, App: demoApps["budget"], Action: "read"}
	writeFile(t, dir, "p.rego", "package kgate\nallow := false\ninclude if input.record.org == \"cosmo\"\n")
	if err := e.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if v.Version() == e.Version() {
		t.Fatal("the reload did not change the version")
	}
	d, _ := v.Decide(ctx, gold)
	rr, _ := v.RowRule(ctx, gold, demoForms["budget"])
	gold.Record = map[string]any{"org": "acme"}
	ok, _ := v.Include(ctx, gold)
	if !d.Allow || d.Version != v.Version() || describe(rr) != `org in ("acme")` || rr.Version != v.Version() || !ok {
		t.Fatalf("the view answered with the new version: %+v, %s, %v", d, describe(rr), ok)
	}
	if d, _ := e.Decide(ctx, gold); d.Allow {
		t.Fatal("the engine still answers with the old version")
	}
}
