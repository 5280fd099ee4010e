package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/testworld"
)

// countingTransport counts the record reads that reach kintone.
type countingTransport struct{ reads atomic.Int64 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == "/k/v1/records.json" {
		c.reads.Add(1)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func sharedReadsGateway(t *testing.T, w *testworld.World, ttl time.Duration) (*gateway.Gateway, *countingTransport) {
	t.Helper()
	eng, err := policy.Open(context.Background(), policy.Options{Dir: w.PolicyDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	count := &countingTransport{}
	client, err := kintone.NewClient(kintone.Config{BaseURL: w.URL, CacheTTL: ttl, Transport: count})
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(gateway.Config{Client: client, Policy: eng, Apps: testworld.Apps(),
		Logger: zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))})
	if err != nil {
		t.Fatal(err)
	}
	return gw, count
}

// A thousand members of one organization and level whose policy compiles
// to the same request must cost kintone a handful of calls, not one each:
// the upstream request is canonical (field order, query text), identical
// reads in flight share one call and the short cache serves the rest.
func TestMembersWhoseReadsCompileAlikeShareUpstreamAnswers(t *testing.T) {
	w := testworld.Start(t, 300)
	gw, count := sharedReadsGateway(t, w, time.Minute)
	requests := []gateway.ListRequest{
		{App: gateway.AppRef{ID: testworld.OrdersApp}}, // no fields: every readable one
		{App: gateway.AppRef{ID: testworld.OrdersApp}, Query: `order by $id desc limit 20`},
		{App: gateway.AppRef{ID: testworld.OrdersApp}, Fields: []string{"$id", "org", "amount"}},
		{App: gateway.AppRef{ID: testworld.OrdersApp}, Fields: []string{"amount", "org", "$id"}},
	}
	const members = 1000
	var wg sync.WaitGroup
	var failed atomic.Int64
	sem := make(chan struct{}, 32)
	for i := range members {
		id := *testworld.Identities["bob"] // acme, silver
		id.Subject, id.Email = fmt.Sprintf("u-%d", i), fmt.Sprintf("m%d@acme.example", i)
		for _, req := range requests {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				if _, err := gw.ListRecords(context.Background(), &id, req); err != nil {
					failed.Add(1)
					t.Log(err)
				}
			}()
		}
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d reads failed", failed.Load())
	}
	// The two field lists are one set, so three distinct requests reach
	// kintone; the cache outlives the test, so each costs one call.
	total := int64(members * len(requests))
	if got := count.reads.Load(); got != 3 {
		t.Errorf("%d reads by %d members cost %d kintone calls, want 3: one per distinct request", total, members, got)
	}
	// What the simulator itself counted for the app, the form included.
	if app := int64(w.Sim.RequestCount(10)); app*10 > total {
		t.Errorf("the simulator counted %d requests for the app, above 10 %% of %d reads", app, total)
	}
	t.Logf("%d reads by %d members cost %d kintone calls", total, members, count.reads.Load())
}
