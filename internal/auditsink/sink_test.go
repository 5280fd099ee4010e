package auditsink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kintonesim"
)

const auditApp = 9

var simURL = map[*kintonesim.Server]string{} // the base URL of each test's simulator

// world is the simulator with an audit app of Fields, and kgate's client.
func world(t *testing.T) (*kintonesim.Server, *kintone.Client) {
	t.Helper()
	var fields []json.RawMessage
	for _, f := range Fields {
		fields = append(fields, json.RawMessage(fmt.Sprintf(`{"type":%q,"code":%q,"label":%q}`, f.Type, f.Code, f.Code)))
	}
	sim, err := kintonesim.New(&kintonesim.Seed{Apps: []kintonesim.SeedApp{{
		ID: auditApp, Name: "kgate audit", Fields: fields,
		Tokens: []kintonesim.SeedToken{{Token: "tok-audit", Add: true, View: true}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	simURL[sim] = srv.URL
	client, err := kintone.NewClient(kintone.Config{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return sim, client
}

func newSink(client *kintone.Client, tune func(*Config)) *Sink {
	cfg := Config{Client: client, App: fmt.Sprint(auditApp), Tokens: []string{"tok-audit"},
		FlushEvery: time.Hour, Backoff: time.Millisecond} // tests flush by Close or a full batch
	if tune != nil {
		tune(&cfg)
	}
	return New(cfg)
}

func event(i int) audit.Event {
	return audit.Event{Kind: "read", Email: fmt.Sprintf("m%d@acme.example", i), Org: "acme", Level: "gold",
		App: "budget", Action: "read", Allowed: true, Records: 3, RecordIDs: []string{"7", "8"},
		PolicyVersion: "abc123", Outcome: "ok", RemoteIP: "192.0.2.1", RequestID: fmt.Sprint("req-", i), Duration: 1500 * time.Microsecond}
}

func records(t *testing.T, sim *kintonesim.Server, query string) []kintone.Record {
	t.Helper()
	recs, err := sim.Select(auditApp, "", query+" limit 500")
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func closeSink(t *testing.T, s *Sink) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestEventsArriveAsRecordsInBatchesOfAHundred(t *testing.T) {
	sim, client := world(t)
	s := newSink(client, nil)
	at := time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)
	for i := range 250 {
		s.Enqueue(at, event(i))
	}
	closeSink(t, s)
	if n := len(records(t, sim, "")); n != 250 {
		t.Fatalf("%d records, want 250", n)
	}
	st := s.Stats()
	if st.Sent != 250 || st.Queued != 0 || st.Requests != 3 {
		t.Errorf("stats %+v, want 250 sent in 3 requests (100, 100, 50)", st)
	}
	got := records(t, sim, `email = "m42@acme.example"`)
	if len(got) != 1 {
		t.Fatalf("%d records of m42, want 1", len(got))
	}
	want := map[string]string{"kind": "read", "org": "acme", "member_level": "gold", "app": "budget", "action": "read",
		"decision": "allow", "records": "3", "record_ids": "7\n8", "policy_version": "abc123", "outcome": "ok",
		"remote_ip": "192.0.2.1", "request_id": "req-42", "duration": "0.0015", "time": "2026-11-27T09:30:00Z"}
	for code, v := range want {
		var f any
		json.Unmarshal(got[0][code].Value, &f)
		if fmt.Sprint(f) != v {
			t.Errorf("%s = %s, want %q", code, got[0][code].Value, v)
		}
	}
}

func TestAnAbsentKintoneIsRetriedThenGetsTheEvents(t *testing.T) {
	tests := []struct {
		name  string
		fault kintonesim.Fault
	}{
		{"maintenance 503", kintonesim.Fault{Method: "POST", Path: "/k/v1/records.json", Maintenance: true, Times: 3}},
		{"a 502 from a proxy", kintonesim.Fault{Method: "POST", Path: "/k/v1/records.json", Status: 502, Body: "bad gateway", ContentType: "text/plain", Times: 2}},
		{"connections dropped", kintonesim.Fault{Method: "POST", Path: "/k/v1/records.json", Drop: true, Times: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, client := world(t)
			sim.InjectFault(tt.fault)
			s := newSink(client, nil)
			for i := range 10 {
				s.Enqueue(time.Now(), event(i))
			}
			closeSink(t, s)
			if n := len(records(t, sim, "")); n != 10 {
				t.Errorf("%d records, want the 10 events delivered once kintone answered", n)
			}
			if st := s.Stats(); st.Failures == 0 || st.Sent != 10 {
				t.Errorf("stats %+v, want failures retried and 10 sent", st)
			}
		})
	}
}

func TestRecordsKintoneRefusesAreDroppedAndCounted(t *testing.T) {
	sim, client := world(t)
	core, logs := observer.New(zap.WarnLevel)
	s := newSink(client, func(c *Config) { c.Tokens = []string{"wrong-token"}; c.Logger = zap.New(core) })
	s.Enqueue(time.Now(), event(1))
	closeSink(t, s)
	if st := s.Stats(); st.Rejected != 1 || st.Sent != 0 || st.Queued != 0 {
		t.Errorf("stats %+v, want the event rejected, not retried forever", st)
	}
	if len(records(t, sim, "")) != 0 || logs.Len() != 1 {
		t.Errorf("%d warnings, want one", logs.Len())
	}
}

func TestAFullQueueDropsTheOldestAndSaysSoOnce(t *testing.T) {
	sim, client := world(t)
	core, logs := observer.New(zap.WarnLevel)
	hold := make(chan struct{})
	sim.InjectFault(kintonesim.Fault{Method: "POST", Path: "/k/v1/records.json", Hold: hold, Times: -1})
	s := newSink(client, func(c *Config) { c.MaxQueue = 1000; c.Logger = zap.New(core) })
	for i := range 3000 {
		s.Enqueue(time.Now(), event(i))
	}
	st := s.Stats()
	if st.Queued != 1000 || st.Dropped != 2000 {
		t.Errorf("stats %+v, want 1000 queued and 2000 dropped", st)
	}
	if n := logs.FilterMessageSnippet("queue full").Len(); n != 1 {
		t.Errorf("%d queue-full warnings, want one", n)
	}
	sim.ClearFaults()
	close(hold)
	closeSink(t, s)
	got := records(t, sim, "")
	if len(got) > 1000+Batch {
		t.Errorf("%d records, want at most the queue and one batch in flight", len(got))
	}
	if r := records(t, sim, `email = "m2999@acme.example"`); len(r) != 1 {
		t.Errorf("the newest event is missing: %d records of it", len(r))
	}
	if r := records(t, sim, `email = "m1500@acme.example"`); len(r) != 0 {
		t.Errorf("an event the overflow dropped arrived")
	}
}

// The queue's memory is bounded: 10,000 typical events, the ring
// included, measured.
func TestTheQueueOfTenThousandEventsIsSmall(t *testing.T) {
	_, client := world(t)
	before := heap()
	s := newSink(client, nil)
	defer closeSink(t, s)
	s.mu.Lock() // no flush meanwhile: Enqueue's body, under the lock
	for i := range DefaultMaxQueue * 2 {
		s.enqueueLocked(time.Now(), event(i)) // the dropped half is garbage by the next GC
	}
	after := heap()
	n := s.n
	s.mu.Unlock()
	if n != DefaultMaxQueue {
		t.Fatalf("%d queued, want the bound %d", n, DefaultMaxQueue)
	}
	used := int64(after) - int64(before)
	t.Logf("queue of %d events: %d bytes (%d per event)", n, used, used/int64(n))
	if used > 16<<20 {
		t.Errorf("queue holds %d bytes for %d events", used, n)
	}
}

func heap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// Every key of an event becomes a field of the app: an event with every
// field set fills as many fields as Event has, each one of Fields.
func TestEveryRecordFieldIsAnAppField(t *testing.T) {
	codes := map[string]bool{}
	for _, f := range Fields {
		codes[f.Code] = true
	}
	var full audit.Event
	v := reflect.ValueOf(&full).Elem()
	for i := range v.NumField() {
		switch f := v.Field(i); f.Kind() {
		case reflect.String:
			f.SetString("x")
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Int, reflect.Int64:
			f.SetInt(1)
		case reflect.Slice:
			f.Set(reflect.ValueOf([]string{"x"}))
		default:
			t.Fatalf("Event.%s: a kind this test does not fill", v.Type().Field(i).Name)
		}
	}
	full.Action = "read" // decision is written for policy actions
	rec := Record(time.Now(), full)
	for code := range rec {
		if !codes[code] {
			t.Errorf("record field %q is not in Fields", code)
		}
	}
	// Allowed is written as decision; time is the entry's, no Event field.
	if want := v.NumField() + 1; len(rec) != want {
		t.Errorf("a full event fills %d fields, want one per Event field and time (%d): a new field needs a mapping", len(rec), want)
	}
}

// README "Audit" gives every field the app needs, with its type.
func TestTheREADMEListsTheAppsFields(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range Fields {
		if row := "\n| `" + f.Code + "` | " + f.Type + " |"; !strings.Contains(string(readme), row) {
			t.Errorf("README lacks the row %q", strings.TrimSpace(row))
		}
	}
}

// worldWith is world with the client configured by tune.
func worldWith(t *testing.T, tune func(*kintone.Config)) (*kintonesim.Server, *kintone.Client) {
	t.Helper()
	sim, base := world(t)
	base.Close()
	cfg := kintone.Config{BaseURL: simURL[sim]}
	tune(&cfg)
	client, err := kintone.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return sim, client
}

// The sink sends nothing while a member's request waits for a slot to
// kintone: it would take the slot the member waits for.
func TestTheSinkYieldsToWaitingRequests(t *testing.T) {
	sim, client := worldWith(t, func(c *kintone.Config) { c.MaxConcurrent = 1 })
	hold := make(chan struct{})
	sim.InjectFault(kintonesim.Fault{Method: "GET", Path: "/k/v1/records.json", Hold: hold, Times: -1})
	read := func(query string) { // distinct queries: identical reads would share one call
		client.Do(context.Background(), kintone.Request{Method: "GET", API: "records.json", App: fmt.Sprint(auditApp),
			Tokens: []string{"tok-audit"}, Params: map[string][]string{"app": {fmt.Sprint(auditApp)}, "query": {query}}})
	}
	go read("limit 1") // holds the one slot
	go read("limit 2") // waits for it
	for _, waiting := client.Load(); waiting == 0; _, waiting = client.Load() {
		runtime.Gosched()
	}
	s := newSink(client, nil)
	s.Enqueue(time.Now(), event(1))
	if err := s.flushOnce(context.Background(), true); err != errYield {
		t.Errorf("flush while a member waits: %v, want it to yield", err)
	}
	if st := s.Stats(); st.Requests != 0 || st.Queued != 1 {
		t.Errorf("stats %+v, want nothing sent and the event kept", st)
	}
	sim.ClearFaults()
	close(hold)
	closeSink(t, s)
	if n := len(records(t, sim, "")); n != 1 {
		t.Errorf("%d records once the members were served, want 1", n)
	}
}

// Past the low-priority cutoff of the audit app's daily requests the sink
// holds its events instead of spending what is left of the quota.
func TestTheSinkKeepsWithinTheDailyQuota(t *testing.T) {
	sim, client := worldWith(t, func(c *kintone.Config) { c.DailyLimit = 10; c.LowPriorityCutoff = 50 })
	s := newSink(client, func(c *Config) { c.MaxQueue = 10 * Batch })
	for i := range 10 * Batch {
		s.Enqueue(time.Now(), event(i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.Close(ctx) // gives up when ctx ends: the quota does not come back today
	if !errors.Is(err, kintone.ErrDailyBudget) {
		t.Errorf("Close: %v, want the daily budget named", err)
	}
	st := s.Stats()
	if st.Requests != 5 || st.Sent != 5*Batch || st.Queued != 5*Batch || st.Dropped != 0 {
		t.Errorf("stats %+v, want 5 requests (half of 10) sent and the rest kept", st)
	}
	if got := client.Budget().Today()[fmt.Sprint(auditApp)]; got != 5 {
		t.Errorf("the audit app's requests today = %d, want 5", got)
	}
	if n := len(records(t, sim, "")); n != 5*Batch {
		t.Errorf("%d records, want %d", n, 5*Batch)
	}
}

// One record kintone will not take (here a value longer than its field
// allows) is dropped alone; the rest of its batch arrives.
func TestARecordKintoneRefusesCostsOnlyItself(t *testing.T) {
	var fields []json.RawMessage
	for _, f := range Fields {
		p := fmt.Sprintf(`{"type":%q,"code":%q,"label":%q`, f.Type, f.Code, f.Code)
		if f.Code == "email" {
			p += `,"maxLength":"40"`
		}
		fields = append(fields, json.RawMessage(p+"}"))
	}
	sim, err := kintonesim.New(&kintonesim.Seed{Apps: []kintonesim.SeedApp{{ID: auditApp, Name: "audit", Fields: fields,
		Tokens: []kintonesim.SeedToken{{Token: "tok-audit", Add: true}}}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	defer srv.Close()
	client, err := kintone.NewClient(kintone.Config{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	s := newSink(client, nil)
	for i := range Batch {
		e := event(i)
		if i == 37 {
			e.Email = strings.Repeat("x", 50) + "@acme.example"
		}
		s.Enqueue(time.Now(), e)
	}
	closeSink(t, s)
	if n := len(records(t, sim, "")); n != Batch-1 {
		t.Errorf("%d records, want all but the one refused", n)
	}
	if st := s.Stats(); st.Rejected != 1 || st.Sent != Batch-1 {
		t.Errorf("stats %+v, want 1 rejected and %d sent", st, Batch-1)
	}
}
