package policy

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/kgate/kgate/internal/kql"
)

// writeDir writes a policy directory with the given files (name → content)
// and returns its path.
func writeDir(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		writeFile(t, dir, name, src)
	}
	return dir
}

func writeFile(t testing.TB, dir, name, src string) {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

// open opens an engine on dir and closes it with the test.
func open(t testing.TB, opts Options) *Engine {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e, err := Open(ctx, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// openPolicy opens an engine on a directory holding one policy file.
func openPolicy(t testing.TB, src string) *Engine {
	t.Helper()
	return open(t, Options{Dir: writeDir(t, map[string]string{"p.rego": src})})
}

// observed returns a logger whose entries the test can read.
func observed() (*zap.Logger, *observer.ObservedLogs) {
	core, logs := observer.New(zap.DebugLevel)
	return zap.New(core), logs
}

const defaultPolicies = "../../policies"

// The demo users of team/DEMO.md, as auth hands them over.
var (
	alice = User{Sub: "u-alice", Email: "alice@acme.example", Name: "Alice Sato", Org: "acme", Level: "gold"}
	bob   = User{Sub: "u-bob", Email: "bob@acme.example", Name: "Bob Suzuki", Org: "acme", Level: "silver"}
	carol = User{Sub: "u-carol", Email: "carol@bluebird.example", Name: "Carol Tanaka", Org: "bluebird", Level: "gold"}
	dave  = User{Sub: "u-dave", Email: "dave@bluebird.example", Name: "Dave Ito", Org: "bluebird", Level: "silver"}
	sam   = User{Sub: "u-sam", Email: "sam@operator.example", Name: "Sam Yamada", Level: "staff"}
	frank = User{Sub: "u-frank", Email: "frank@unknown.example", Name: "Frank Mori"}
)

var demoApps = map[string]App{
	"members":   {ID: "1", Alias: "members"},
	"budget":    {ID: "2", Alias: "budget"},
	"documents": {ID: "3", Alias: "documents"},
	"survey":    {ID: "4", Alias: "survey"},
	"schedule":  {ID: "5", Alias: "schedule"},
}

func dropDown(code string, options ...string) kql.Field {
	return kql.Field{Code: code, Type: "DROP_DOWN", Options: options}
}

// demoForms are the form fields of the demo apps (the parts row rules use).
var demoForms = map[string]map[string]kql.Field{
	"budget": {
		"title":           {Code: "title", Type: "SINGLE_LINE_TEXT"},
		"org":             dropDown("org", "acme", "bluebird", "cosmo"),
		"amount":          {Code: "amount", Type: "NUMBER"},
		"category":        dropDown("category", "marketing", "event", "training", "other"),
		"requested_by":    {Code: "requested_by", Type: "SINGLE_LINE_TEXT"},
		"approved_amount": {Code: "approved_amount", Type: "NUMBER"},
		"internal_note":   {Code: "internal_note", Type: "MULTI_LINE_TEXT"},
		"Status":          {Code: "Status", Type: "STATUS", Options: []string{"Draft", "Submitted", "Approved", "Rejected"}},
	},
	"documents": {
		"title":     {Code: "title", Type: "SINGLE_LINE_TEXT"},
		"org":       dropDown("org", "all", "acme", "bluebird", "cosmo"),
		"audience":  dropDown("audience", "silver", "gold"),
		"published": {Code: "published", Type: "DATE"},
	},
	"survey": {
		"seminar":    dropDown("seminar", "kintone-basics", "api-workshop", "security-101"),
		"rating":     {Code: "rating", Type: "RADIO_BUTTON", Options: []string{"1", "2", "3", "4", "5"}},
		"org":        dropDown("org", "acme", "bluebird", "cosmo"),
		"respondent": {Code: "respondent", Type: "SINGLE_LINE_TEXT"},
	},
	"schedule": {
		"title": {Code: "title", Type: "SINGLE_LINE_TEXT"},
		"org":   dropDown("org", "all", "acme", "bluebird", "cosmo"),
		"start": {Code: "start", Type: "DATETIME"},
	},
	"members": {
		"email": {Code: "email", Type: "SINGLE_LINE_TEXT"},
		"org":   dropDown("org", "acme", "bluebird", "cosmo"),
	},
}

var (
	sharedOnce sync.Once
	shared     *Engine
	sharedErr  error
)

// defaultEngine is one engine on the default policies, shared by the tests
// that only read from it (opening runs the Rego tests and the probes).
func defaultEngine(t testing.TB) *Engine {
	t.Helper()
	sharedOnce.Do(func() {
		shared, sharedErr = Open(context.Background(), Options{Dir: defaultPolicies})
	})
	if sharedErr != nil {
		t.Fatalf("Open: %v", sharedErr)
	}
	return shared
}
