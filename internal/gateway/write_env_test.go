package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/testworld"
)

// wenv is a gateway over the write world, with the audit log observed and
// every upstream request counted.
type wenv struct {
	gw    *gateway.Gateway
	world *testworld.World
	ctx   context.Context
	audit *observer.ObservedLogs
	up    *upstream
}

// upstream is the transport between kgate and the simulator: it counts
// requests and can act just before one is sent.
type upstream struct {
	mu     sync.Mutex
	calls  []string // "METHOD /path"
	before func(r *http.Request)
}

func (u *upstream) RoundTrip(r *http.Request) (*http.Response, error) {
	u.mu.Lock()
	method := r.Method
	if o := r.Header.Get("X-HTTP-Method-Override"); o != "" {
		method = o
	}
	u.calls = append(u.calls, method+" "+r.URL.Path)
	before := u.before
	u.mu.Unlock()
	if before != nil {
		before(r)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// writes returns the non-GET calls made so far.
func (u *upstream) writes() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []string
	for _, c := range u.calls {
		if !strings.HasPrefix(c, "GET ") {
			out = append(out, c)
		}
	}
	return out
}

func newWriteEnv(t testing.TB, tune ...func(*kintone.Config, *gateway.Config)) *wenv {
	t.Helper()
	w := testworld.StartWrites(t, 30)
	ctx := context.Background()
	eng, err := policy.Open(ctx, policy.Options{Dir: w.PolicyDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	up := &upstream{}
	kc := kintone.Config{BaseURL: w.URL, Transport: up}
	core, logs := observer.New(zapcore.InfoLevel)
	gc := gateway.Config{Policy: eng, Apps: testworld.WriteApps(), Audit: audit.New(zap.New(core))}
	for _, f := range tune {
		f(&kc, &gc)
	}
	client, err := kintone.NewClient(kc)
	if err != nil {
		t.Fatal(err)
	}
	gc.Client = client
	gw, err := gateway.New(gc)
	if err != nil {
		t.Fatal(err)
	}
	return &wenv{gw: gw, world: w, ctx: ctx, audit: logs, up: up}
}

// regoEngine is a policy engine over one policy file of a test's own.
func regoEngine(t testing.TB, rego string) *policy.Engine {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "policy.rego"), []byte(rego), 0o644); err != nil {
		t.Fatal(err)
	}
	eng, err := policy.Open(context.Background(), policy.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}

var (
	alice = testworld.Identities["alice"] // gold, acme
	bob   = testworld.Identities["bob"]   // silver, acme
	carol = testworld.Identities["carol"] // gold, bluebird
	sam   = testworld.Identities["sam"]   // staff
)

var (
	budget  = gateway.AppRef{ID: testworld.BudgetApp}
	tickets = gateway.AppRef{ID: testworld.TicketsApp, Space: testworld.NoticesSpace}
)

// values builds a record in kintone's write format from code → value.
func values(fields map[string]any) kintone.Record {
	out := kintone.Record{}
	for code, v := range fields {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		out[code] = kintone.FieldValue{Value: b}
	}
	return out
}

// stored reads a record straight from the simulator, past kgate; nil when
// there is none.
func (e *wenv) stored(t testing.TB, app, id string) kintone.Record {
	t.Helper()
	n, _ := strconv.ParseInt(app, 10, 64)
	recs, err := e.world.Sim.Select(n, "", "$id = "+id)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 {
		return nil
	}
	return recs[0]
}

// count is how many records of app match query, past kgate.
func (e *wenv) count(t testing.TB, app, query string) int {
	t.Helper()
	n, _ := strconv.ParseInt(app, 10, 64)
	recs, err := e.world.Sim.Select(n, "", query)
	if err != nil {
		t.Fatal(err)
	}
	return len(recs)
}

func textOf(r kintone.Record, code string) string {
	var s string
	json.Unmarshal(r[code].Value, &s)
	return s
}

// refusal asserts err is a kintone error with code and status.
func refusal(t testing.TB, err error, code string, status int) *kintone.Error {
	t.Helper()
	var ke *kintone.Error
	if !errors.As(err, &ke) {
		t.Fatalf("err = %v, want kintone error %s", err, code)
	}
	if ke.Code != code || ke.Status != status {
		t.Fatalf("err = %d %s %s %v, want %d %s", ke.Status, ke.Code, ke.Message, ke.Errors, status, code)
	}
	return ke
}

// events returns the audit events written so far.
func (e *wenv) events() []map[string]any {
	var out []map[string]any
	for _, l := range e.audit.All() {
		out = append(out, l.ContextMap())
	}
	return out
}

func (e *wenv) lastEvent(t testing.TB) map[string]any {
	t.Helper()
	ev := e.events()
	if len(ev) == 0 {
		t.Fatal("no audit event")
	}
	return ev[len(ev)-1]
}
