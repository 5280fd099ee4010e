package kintonesim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestARequestOverTheLimitIsRefusedBeforeAnyOfItsWork: kintone checks the
// limit first, so a refused request takes no injected latency (it would
// otherwise hold a slot while it waits) and uses up no fault.
func TestARequestOverTheLimitIsRefusedBeforeAnyOfItsWork(t *testing.T) {
	s := newSim(t, WithConcurrencyLimit(1))
	hold := make(chan struct{})
	s.InjectFault(Fault{Path: "/k/v1/record.json", Hold: hold})
	done := make(chan reply)
	go func() {
		done <- do(t, s, req{method: "GET", path: "/k/v1/record.json?app=2&id=1", token: "tok-orders"})
	}()
	for s.Running() != 1 {
		time.Sleep(time.Millisecond)
	}
	never := make(chan struct{}) // a request that took this fault would hang
	s.InjectFault(Fault{Path: "/k/v1/records.json", Hold: never, Latency: time.Hour})
	r := do(t, s, req{method: "GET", path: "/k/v1/records.json?app=2", token: "tok-orders"})
	if r.status != 429 || r.code() != "GAIA_TO04" {
		t.Fatalf("over the limit: %d %s, want 429 GAIA_TO04", r.status, r.body)
	}
	s.faults.mu.Lock()
	armed := len(s.faults.list)
	s.faults.mu.Unlock()
	if armed != 1 {
		t.Fatalf("%d faults armed after the refusal, want the latency fault still armed", armed)
	}
	close(hold)
	<-done
	s.ClearFaults()
	if _, peak, refused := s.Load(); peak != 2 || refused != 1 {
		t.Errorf("Load: peak %d, refused %d; want 2 at once (the refused one included) and 1 refusal", peak, refused)
	}
	s.ResetLoad()
	if _, peak, refused := s.Load(); peak != 0 || refused != 0 {
		t.Errorf("after ResetLoad: peak %d, refused %d, want 0 and 0", peak, refused)
	}
}

// TestDailyCountersArePresetAndTheLimitIsReportedNotEnforced: a test
// presets today's counts; past the daily limit kintone keeps answering
// and reports the app (the administrator's mail), and so does the
// simulator.
func TestDailyCountersArePresetAndTheLimitIsReportedNotEnforced(t *testing.T) {
	s := newSim(t, WithControl(), WithDailyLimit(100))
	srv := httptest.NewServer(s)
	defer srv.Close()
	post := func(body string) (int, counters) {
		t.Helper()
		resp, err := http.Post(srv.URL+"/_sim/counters", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var c counters
		json.NewDecoder(resp.Body).Decode(&c)
		return resp.StatusCode, c
	}
	for _, bad := range []string{`{"apps":{"x":1}}`, `{"apps":{"2":-1}}`, `{"apps":{"0":5}}`, `not json`} {
		if status, _ := post(bad); status != http.StatusBadRequest {
			t.Errorf("POST /_sim/counters %s: %d, want 400", bad, status)
		}
	}
	if s.RequestCount(2) != 0 {
		t.Fatalf("a refused preset changed the count to %d", s.RequestCount(2))
	}
	if status, c := post(`{"apps":{"2":100}}`); status != 200 || c.Apps["2"] != 100 || c.Limit != 100 || len(c.Over) != 0 {
		t.Fatalf("preset: %d %+v, want app 2 at 100 of 100 and none over", status, c)
	}
	r := do(t, s, req{method: "GET", path: "/k/v1/records.json?app=2", token: "tok-orders"})
	if r.status != 200 {
		t.Fatalf("the 101st request of the day: %d %s, want it served as kintone serves it", r.status, r.body)
	}
	if got := s.OverDailyLimit(); len(got) != 1 || got[0] != 2 || s.RequestCount(2) != 101 {
		t.Fatalf("over the limit: %v with count %d, want app 2 at 101", got, s.RequestCount(2))
	}
	s.SetClock(func() time.Time { return fixedNow.Add(24 * time.Hour) })
	if got := s.OverDailyLimit(); len(got) != 0 {
		t.Fatalf("the next day still lists %v", got)
	}
}

// TestLoadIsReadAndResetThroughTheControlAPI: a test of kgate as a process
// reads the peak and the 429s over HTTP.
func TestLoadIsReadAndResetThroughTheControlAPI(t *testing.T) {
	s := newSim(t, WithControl())
	srv := httptest.NewServer(s)
	defer srv.Close()
	do(t, s, req{method: "GET", path: "/k/v1/records.json?app=2", token: "tok-orders"})
	get := func() map[string]int {
		resp, err := http.Get(srv.URL + "/_sim/load")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]int
		json.NewDecoder(resp.Body).Decode(&m)
		return m
	}
	if m := get(); m["peak"] != 1 || m["refused"] != 0 || m["running"] != 0 {
		t.Fatalf("load: %v, want one at most, none refused, none running", m)
	}
	req, _ := http.NewRequest("DELETE", srv.URL+"/_sim/load", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("DELETE /_sim/load: %v", err)
	}
	if m := get(); m["peak"] != 0 {
		t.Fatalf("after the reset: %v", m)
	}
}
