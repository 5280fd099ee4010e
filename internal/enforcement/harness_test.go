package enforcement

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/kgate/kgate/internal/api"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/portal"
	"github.com/kgate/kgate/portalconfig"
)

// Sizes of a run: each world serves several policies, each policy a batch
// of queries asked by every member.
const (
	recordsPerWorld  = 120
	policiesPerWorld = 5
	queriesPerPolicy = 50
	defaultCases     = 10_000
)

func TestExactEnforcementUnderRandomPolicies(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("KGATE_ENFORCEMENT_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("KGATE_ENFORCEMENT_SEED=%q: %v", s, err)
		}
		seed = n
	}
	want := defaultCases
	if s := os.Getenv("KGATE_ENFORCEMENT_CASES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("KGATE_ENFORCEMENT_CASES=%q: want a positive number", s)
		}
		want = n
	}
	t.Logf("seed %d (replay with KGATE_ENFORCEMENT_SEED=%d), %d cases", seed, seed, want)
	r := rand.New(rand.NewPCG(seed, 0x6b67617465))
	tl := newTally()
	start := time.Now()
	for policies := 0; tl.cases < want; {
		w := startWorld(t, r, recordsPerWorld)
		for i := 0; i < policiesPerWorld && tl.cases < want; i++ {
			policies++
			tl.policies = policies
			runPolicy(t, r, w, tl, want-tl.cases)
		}
	}
	tl.report(t, seed, time.Since(start))
}

// harness is one policy over one world: kgate (API and portal) and the
// truth.
type harness struct {
	t      *testing.T
	w      *world
	o      *oracle
	module string
	api    *api.Handler
	portal *portal.Handler
	ms     []member
	tl     *tally
}

func runPolicy(t *testing.T, r *rand.Rand, w *world, tl *tally, budget int) {
	module := genPolicy(r)
	apiH, portalH, stop := kgateOver(t, w, module)
	defer stop()
	tr, err := newTruth(module)
	if err != nil {
		t.Fatalf("OPA refused a generated policy: %v\n%s", err, module)
	}
	ms := members()
	o, err := newOracle(tr, w, ms)
	if err != nil {
		t.Fatalf("truth: %v\n%s", err, module)
	}
	h := &harness{t: t, w: w, o: o, module: module, api: apiH, portal: portalH, ms: ms, tl: tl}
	for _, m := range ms {
		h.checkComments(r, m)
		h.checkFiles(r, m)
	}
	for q := 0; q < queriesPerPolicy && budget > 0; q++ {
		query := genQuery(r)
		for _, m := range ms {
			h.checkCase(r, m, query)
			budget--
		}
	}
}

// kgateOver is kgate — its API and its portal — over the world under the
// policy module, wired as the Caddy module wires them; stop closes its
// policy engine.
func kgateOver(t *testing.T, w *world, module string) (*api.Handler, *portal.Handler, func()) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "policy.rego"), []byte(module), 0o644); err != nil {
		t.Fatal(err)
	}
	eng, err := policy.Open(t.Context(), policy.Options{Dir: dir})
	if err != nil {
		t.Fatalf("kgate refused the policy: %v\n%s", err, module)
	}
	client, err := kintone.NewClient(kintone.Config{BaseURL: w.url})
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(gateway.Config{Client: client, Policy: eng, Logger: quietLogger(t),
		Apps: []gateway.App{{ID: appID, Alias: appAlias, Tokens: []string{appToken}}}})
	if err != nil {
		t.Fatal(err)
	}
	ph, err := portal.New(portal.Config{Gateway: gw, Config: portalconfig.Config{TimeZone: "Asia/Tokyo", DefaultLang: "en"}, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	return &api.Handler{GW: gw, Logger: zap.NewNop(), MaxBody: 1 << 20}, ph, func() { eng.Close() }
}

// quietLogger shows kgate's errors only: a translation mismatch or a
// policy error is logged there, and the test output names it.
func quietLogger(t *testing.T) *zap.Logger {
	return zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel))
}

// checkCase compares every read surface for one member and query.
func (h *harness) checkCase(r *rand.Rand, m member, q memberQuery) {
	h.tl.cases++
	exp := h.expect(m, q)
	form := h.tl.cases % 3
	got := h.records(m, q, form)
	h.compareList(m, q, exp, got, fmt.Sprintf("records.json (form %d)", form))
	// The surfaces checked every few queries are checked for every member
	// then: counted by case, a period dividing the number of members would
	// meet the same members every time.
	query := (h.tl.cases - 1) / len(h.ms)
	if query%4 == 0 {
		h.checkRecord(m, pick(r, h.w.order))
	}
	if h.tl.cases%5 == 0 {
		h.checkCursor(r, m, q)
	}
	if query%8 == 0 {
		h.checkPortal(m, pick(r, words))
		h.checkPortalRecord(m, pick(r, h.w.order))
	}
}

// tally counts cases, leaks and over-filtering.
type tally struct {
	cases, policies int
	surfaces        map[string]int
	leaks           []string
	leakKinds       map[string]int
	over            map[string]int
	overSamples     []string
	mismatches      int
	// what the cases exercised: answers by kind, records compared
	outcomes map[string]int
	compared int
}

func newTally() *tally {
	return &tally{surfaces: map[string]int{}, over: map[string]int{}, outcomes: map[string]int{}, leakKinds: map[string]int{}}
}

func (h *harness) leak(surface, what string, m member, detail string) {
	h.tl.leakKinds[surface+": "+what]++
	h.tl.leaks = append(h.tl.leaks, fmt.Sprintf("%s: %s for %s (level %q, org %q): %s", surface, what, m.name, m.id.Level, m.id.Org, detail))
	if len(h.tl.leaks) == 1 {
		h.t.Errorf("LEAK %s\npolicy:\n%s", h.tl.leaks[0], h.module)
	}
}

func (h *harness) overFilter(surface, what string, m member, detail string) {
	h.tl.over[surface+": "+what]++
	if len(h.tl.overSamples) < 10 {
		h.tl.overSamples = append(h.tl.overSamples, fmt.Sprintf("%s: %s for %s: %s", surface, what, m.name, detail))
	}
}

func (tl *tally) report(t *testing.T, seed uint64, took time.Duration) {
	surfaces := make([]string, 0, len(tl.surfaces))
	for s, n := range tl.surfaces {
		surfaces = append(surfaces, fmt.Sprintf("%s %d", s, n))
	}
	sort.Strings(surfaces)
	over := make([]string, 0, len(tl.over))
	total := 0
	for k, n := range tl.over {
		over = append(over, fmt.Sprintf("%s %d", k, n))
		total += n
	}
	sort.Strings(over)
	t.Logf("%d cases under %d policies in %s; requests per surface: %s", tl.cases, tl.policies, took.Round(time.Second), strings.Join(surfaces, ", "))
	t.Logf("expected answers: %v; records compared field by field: %d", tl.outcomes, tl.compared)
	kinds := make([]string, 0, len(tl.leakKinds))
	for k, n := range tl.leakKinds {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(kinds)
	t.Logf("leaks: %d %v; translation mismatches (KGATE_PO02): %d; over-filtering: %d %v", len(tl.leaks), kinds, tl.mismatches, total, over)
	for _, s := range tl.overSamples {
		t.Logf("over-filtering sample: %s", s)
	}
	for i, l := range tl.leaks {
		if i == 20 {
			t.Errorf("… and %d more leaks", len(tl.leaks)-20)
			break
		}
		t.Errorf("LEAK %s", l)
	}
	if len(tl.leaks) > 0 {
		t.Errorf("seed %d: replay with KGATE_ENFORCEMENT_SEED=%d", seed, seed)
	}
}
