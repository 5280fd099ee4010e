// Package testworld is the world kgate's read-path tests run in: a kintone
// simulator seeded with an orders app of many records and a notices app in
// a guest space, a policy for two partner organizations at two levels plus
// staff, and the identities of those members. Tests of the gateway, the
// API and the Caddy module share it so that they pin down one behaviour.
package testworld

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintonesim"
)

//go:embed policy
var policyFS embed.FS

// App ids and tokens of the world.
const (
	OrdersApp    = "10"
	NoticesApp   = "11"
	NoticesSpace = "7"
	OrdersToken  = "tok-orders"
	NoticesToken = "tok-notices"
)

// Orgs are the organizations records belong to; cosmo has no members.
var Orgs = []string{"acme", "bluebird", "cosmo"}

// Identities are the members of the world, by name.
var Identities = map[string]*identity.Identity{
	"alice": {Subject: "u-alice", Issuer: "https://idp.test", Email: "alice@acme.example", Name: "Alice", Level: "gold", Org: "acme"},
	"bob":   {Subject: "u-bob", Issuer: "https://idp.test", Email: "bob@acme.example", Name: "Bob", Level: "silver", Org: "acme"},
	"carol": {Subject: "u-carol", Issuer: "https://idp.test", Email: "carol@bluebird.example", Name: "Carol", Level: "gold", Org: "bluebird"},
	"dave":  {Subject: "u-dave", Issuer: "https://idp.test", Email: "dave@bluebird.example", Name: "Dave", Level: "silver", Org: "bluebird"},
	"sam":   {Subject: "u-sam", Issuer: "https://idp.test", Email: "sam@operator.example", Name: "Sam", Level: "staff"},
	"nolvl": {Subject: "u-nolvl", Issuer: "https://idp.test", Email: "x@acme.example", Name: "No Level", Org: "acme"},
}

// Apps is the gateway configuration of the world's apps.
func Apps() []gateway.App {
	return []gateway.App{
		{ID: OrdersApp, Alias: "orders", Tokens: []string{OrdersToken}},
		{ID: NoticesApp, Alias: "notices", GuestSpace: NoticesSpace, Tokens: []string{NoticesToken}},
	}
}

// PolicyDir writes the world's policy into a fresh directory (tests may
// change it there) and returns its path.
func PolicyDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := writePolicy(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func writePolicy(dir string) error {
	return fs.WalkDir(policyFS, "policy", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := policyFS.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, filepath.Base(path)), b, 0o644)
	})
}

// Words of titles and memos; like-queries pick from them.
var Words = []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "東京", "大阪"}

// Seed returns the simulator seed with n orders, generated from seed so
// that every run sees the same world.
func Seed(n int, seed uint64) *kintonesim.Seed {
	r := rand.New(rand.NewPCG(seed, 42))
	s := &kintonesim.Seed{
		TimeZone: "Asia/Tokyo", Language: "en",
		Files: []kintonesim.SeedFile{{FileKey: "file-quote", Name: "quote.txt", ContentType: "text/plain", Text: "quote for acme"}},
		Apps:  []kintonesim.SeedApp{ordersApp(r, n), noticesApp(r)},
	}
	return s
}

func raw(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// OrdersViews are the orders app's record list views: one of each type,
// with conditions, sorts, columns and calendar fields on fields some
// members may not read. Their names name no field.
var OrdersViews = []kintonesim.SeedView{
	{Name: "Everything", Fields: []string{"レコード番号", "title", "org", "amount", "cost", "secret", "due", "items"}},
	{Name: "Expensive", Fields: []string{"title", "amount"}, FilterCond: "cost > 1000", Sort: "amount desc"},
	{Name: "Classified order", Fields: []string{"title"}, Sort: "secret asc"},
	{Name: "Urgent", Fields: []string{"title", "priority"}, FilterCond: `priority in ("high")`},
	{Name: "Big baskets", Fields: []string{"title"}, FilterCond: "qty > 5"},
	{Name: "Calendar", Type: "CALENDAR", Date: "due", Title: "title"},
	{Name: "Classified calendar", Type: "CALENDAR", Date: "due", Title: "secret"},
	{Name: "Board", Type: "CUSTOM", HTML: `<div id="board" data-source="amount"></div>`},
}

func ordersApp(r *rand.Rand, n int) kintonesim.SeedApp {
	fields := []any{
		map[string]any{"type": "RECORD_NUMBER", "code": "レコード番号", "label": "Record number"},
		map[string]any{"type": "SINGLE_LINE_TEXT", "code": "title", "label": "Title", "required": true},
		map[string]any{"type": "DROP_DOWN", "code": "org", "label": "Organization", "options": Orgs},
		map[string]any{"type": "NUMBER", "code": "amount", "label": "Amount"},
		map[string]any{"type": "NUMBER", "code": "cost", "label": "Cost"},
		map[string]any{"type": "SINGLE_LINE_TEXT", "code": "secret", "label": "Secret"},
		map[string]any{"type": "DROP_DOWN", "code": "priority", "label": "Priority", "options": []string{"high", "normal", "low"}},
		map[string]any{"type": "DROP_DOWN", "code": "visibility", "label": "Visibility", "options": []string{"public", "internal"}},
		map[string]any{"type": "DROP_DOWN", "code": "shared", "label": "Shared", "options": []string{"yes", "no"}},
		map[string]any{"type": "DATE", "code": "due", "label": "Due"},
		map[string]any{"type": "MULTI_LINE_TEXT", "code": "memo", "label": "Memo"},
		map[string]any{"type": "FILE", "code": "attachment", "label": "Attachment"},
		map[string]any{"type": "SUBTABLE", "code": "items", "label": "Items", "fields": map[string]any{
			"item": map[string]any{"type": "SINGLE_LINE_TEXT", "code": "item", "label": "Item"},
			"qty":  map[string]any{"type": "NUMBER", "code": "qty", "label": "Qty"},
		}},
	}
	app := kintonesim.SeedApp{
		ID: 10, Code: "ORD", Name: "Orders", Description: "Orders of every partner",
		Tokens: []kintonesim.SeedToken{{Token: OrdersToken, View: true, Add: true, Edit: true, Delete: true}},
		Views:  OrdersViews,
	}
	for _, f := range fields {
		app.Fields = append(app.Fields, raw(f))
	}
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := 1; i <= n && i <= 30; i += 3 {
		app.Comments = append(app.Comments, kintonesim.SeedComment{Record: int64(i), Text: fmt.Sprintf("comment on %d", i)})
	}
	for i := 0; i < n; i++ {
		rec := map[string]json.RawMessage{
			"title":      raw(map[string]any{"value": Words[r.IntN(len(Words))] + " " + Words[r.IntN(len(Words))] + fmt.Sprintf(" %d", i)}),
			"org":        raw(map[string]any{"value": pick(r, Orgs, 0.05)}),
			"amount":     raw(map[string]any{"value": fmt.Sprint(r.IntN(10000))}),
			"cost":       raw(map[string]any{"value": fmt.Sprint(r.IntN(5000))}),
			"secret":     raw(map[string]any{"value": fmt.Sprintf("s%d", r.IntN(100))}),
			"priority":   raw(map[string]any{"value": pick(r, []string{"high", "normal", "low"}, 0.1)}),
			"visibility": raw(map[string]any{"value": pick(r, []string{"public", "public", "public", "internal"}, 0.05)}),
			"shared":     raw(map[string]any{"value": pick(r, []string{"yes", "no", "no"}, 0.05)}),
			"due":        raw(map[string]any{"value": base.AddDate(0, 0, r.IntN(90)).Format(time.DateOnly)}),
			"memo":       raw(map[string]any{"value": memo(r)}),
			"items": raw(map[string]any{"value": []any{
				map[string]any{"value": map[string]any{"item": map[string]any{"value": Words[r.IntN(len(Words))]}, "qty": map[string]any{"value": fmt.Sprint(r.IntN(20))}}},
			}}),
		}
		if i%50 == 0 {
			rec["attachment"] = raw(map[string]any{"value": []any{map[string]any{"fileKey": "file-quote"}}})
		}
		app.Records = append(app.Records, rec)
	}
	return app
}

// pick returns one of values, or "" (no selection) with probability empty.
func pick(r *rand.Rand, values []string, empty float64) any {
	if r.Float64() < empty {
		return nil
	}
	return values[r.IntN(len(values))]
}

func memo(r *rand.Rand) string {
	switch r.IntN(4) {
	case 0:
		return ""
	case 1:
		return "  "
	}
	return Words[r.IntN(len(Words))] + " note"
}

func noticesApp(r *rand.Rand) kintonesim.SeedApp {
	app := kintonesim.SeedApp{
		ID: 11, Name: "Notices", SpaceID: 7, ThreadID: 70,
		Tokens: []kintonesim.SeedToken{{Token: NoticesToken, View: true}},
		Fields: []json.RawMessage{
			raw(map[string]any{"type": "SINGLE_LINE_TEXT", "code": "title", "label": "Title"}),
			raw(map[string]any{"type": "NUMBER", "code": "rank", "label": "Rank"}),
			raw(map[string]any{"type": "RICH_TEXT", "code": "body", "label": "Body"}),
			raw(map[string]any{"type": "DATE", "code": "posted", "label": "Posted"}),
		},
	}
	for i := 0; i < 20; i++ {
		app.Records = append(app.Records, map[string]json.RawMessage{
			"title":  raw(map[string]any{"value": fmt.Sprintf("Notice %d", i)}),
			"rank":   raw(map[string]any{"value": fmt.Sprint(1 + r.IntN(5))}),
			"body":   raw(map[string]any{"value": "<p>Hello <b>partners</b></p>"}),
			"posted": raw(map[string]any{"value": "2026-11-" + fmt.Sprintf("%02d", 1+i)}),
		})
	}
	return app
}

// World is a running simulator with the world's seed and a policy
// directory of its own.
type World struct {
	Sim       *kintonesim.Server
	URL       string // the simulator's base URL (http://127.0.0.1:port)
	PolicyDir string

	mu    sync.Mutex
	seen  []http.Header
	close func()
}

// Seen returns the headers of the requests the simulator received (the
// last few hundred at least), so tests can assert what reached kintone.
func (w *World) Seen() []http.Header {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.seen)
}

func (w *World) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		if len(w.seen) == 1000 {
			w.seen = append(w.seen[:0], w.seen[500:]...) // keep the recent half
		}
		w.seen = append(w.seen, r.Header.Clone())
		w.mu.Unlock()
		next.ServeHTTP(rw, r)
	})
}

// Start runs the world with n orders on a loopback port until the test
// ends.
func Start(t testing.TB, n int) *World {
	t.Helper()
	w, err := Open(n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w
}

// Open runs the world with n orders on a loopback port until Close, for
// benchmarks whose world outlives one round.
func Open(n int) (*World, error) {
	sim, err := kintonesim.New(Seed(n, 1))
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "kgate-testworld-")
	if err != nil {
		return nil, err
	}
	if err := writePolicy(dir); err != nil {
		return nil, err
	}
	w := &World{Sim: sim, PolicyDir: dir}
	srv := httptest.NewServer(w.record(sim))
	w.URL = srv.URL
	w.close = func() {
		srv.Close()
		sim.Close()
		os.RemoveAll(dir)
	}
	return w, nil
}

// Close stops the world and removes its policy directory.
func (w *World) Close() { w.close() }
