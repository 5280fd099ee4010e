package gateway_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kintonesim"
	"github.com/kgate/kgate/internal/testworld"
)

// When kintone's answer to a write does not say whether it was applied,
// the member is told so, kgate never sends the write again, and the audit
// log says "unknown".
func TestWritesWhoseOutcomeKintoneDoesNotConfirm(t *testing.T) {
	kintoneError := func(status int, code string) kintonesim.Fault {
		return kintonesim.Fault{Status: status, Body: `{"code":"` + code + `","id":"x","message":"m"}`}
	}
	cases := []struct {
		name    string
		fault   kintonesim.Fault
		status  int    // what the member gets
		code    string // and its code
		outcome string
		applied bool // the fault lets kintone apply the write
	}{
		{"kintone times out", kintonesim.Fault{}, http.StatusGatewayTimeout, "KGATE_WR01", "unknown", true},
		{"kintone answers 500", kintoneError(500, "GAIA_UN01"), http.StatusBadGateway, "KGATE_WR01", "unknown", false},
		{"kintone is in maintenance", kintonesim.Fault{Maintenance: true}, http.StatusBadGateway, "KGATE_WR01", "unknown", false},
		{"kintone answers 429", kintoneError(429, "GAIA_TO04"), http.StatusBadGateway, "KGATE_WR01", "unknown", false},
		{"kintone's answer is malformed", kintonesim.Fault{Malformed: true}, http.StatusBadGateway, "KGATE_WR01", "unknown", true},
		{"the connection drops", kintonesim.Fault{Drop: true}, http.StatusBadGateway, "KGATE_WR01", "unknown", false},
		{"kintone refuses", kintoneError(400, "CB_VA01"), http.StatusBadRequest, "CB_VA01", "error", false},
	}
	for _, c := range cases {
		for _, bulk := range []bool{false, true} {
			name := c.name
			if bulk {
				name += " (bulkRequest)"
			}
			t.Run(name, func(t *testing.T) {
				e := newWriteEnv(t, func(k *kintone.Config, _ *gateway.Config) { k.Timeout = 500 * time.Millisecond })
				title := "fault " + strings.ReplaceAll(name, " ", "-")
				f := c.fault
				f.Method, f.Path = http.MethodPost, "/k/v1/record.json"
				if bulk {
					f.Path = "/k/v1/bulkRequest.json"
				}
				hold := make(chan struct{})
				if c.name == "kintone times out" {
					f.Hold = hold // kintone answers only after kgate gave up
				}
				e.world.Sim.InjectFault(f)
				var err error
				record := values(map[string]any{"title": title})
				if bulk {
					_, err = e.gw.Bulk(e.ctx, alice, "", []gateway.WriteOp{&gateway.AddRecordRequest{App: budget, Record: record}})
				} else {
					_, err = e.gw.AddRecord(e.ctx, alice, gateway.AddRecordRequest{App: budget, Record: record})
				}
				close(hold)
				ke := refusal(t, err, c.code, c.status)
				if c.outcome == "unknown" && !strings.Contains(ke.Message, "may or may not have been applied") {
					t.Errorf("message %q does not tell the member the outcome is unknown", ke.Message)
				}
				if w := e.up.writes(); len(w) != 1 {
					t.Errorf("upstream writes %v, want exactly one: writes are never retried", w)
				}
				ev := e.lastEvent(t)
				if ev["outcome"] != c.outcome || ev["action"] != "create" {
					t.Errorf("audit %v, want outcome %s", ev, c.outcome)
				}
				waitIdle(t, e.world.Sim)
				n := e.count(t, testworld.BudgetApp, `title = "`+title+`"`)
				if (c.applied && n != 1) || (!c.applied && n != 0) {
					t.Errorf("%d records written, want %v", n, c.applied)
				}
			})
		}
	}
}

// waitIdle waits until the simulator has finished every request, so that
// a write kgate gave up on has landed (or not) before the test counts.
func waitIdle(t testing.TB, sim *kintonesim.Server) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for sim.Running() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the simulator never became idle")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAnUnknownUpdateOutcomeIsNotMistakenForAConflict(t *testing.T) {
	e := newWriteEnv(t)
	e.world.Sim.InjectFault(kintonesim.Fault{Method: http.MethodPut, Path: "/k/v1/record.json", Malformed: true})
	_, err := e.gw.UpdateRecord(e.ctx, alice, gateway.UpdateRecordRequest{App: budget, RecordUpdate: gateway.RecordUpdate{
		ID: "2", Record: values(map[string]any{"title": "applied, unconfirmed"})}})
	refusal(t, err, "KGATE_WR01", http.StatusBadGateway)
	if got := textOf(e.stored(t, testworld.BudgetApp, "2"), "title"); got != "applied, unconfirmed" {
		t.Errorf("title %q: the simulator applied the write before breaking its answer", got)
	}
	if ev := e.lastEvent(t); ev["outcome"] != "unknown" || ev["upstream_status"] != int64(200) {
		t.Errorf("audit %v", ev)
	}
}
