package gateway_test

import (
	"testing"

	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/gateway"
)

// Reads and writes alike carry the request id and client address the HTTP
// layer put in the context, so an auditor can join an event to the access
// log and tell where it came from.
func TestEventsCarryTheRequestOfTheirContext(t *testing.T) {
	e := newWriteEnv(t)
	ctx := audit.WithRequest(e.ctx, audit.Request{ID: "req-42", RemoteIP: "203.0.113.9"})
	calls := []struct {
		name string
		call func()
	}{
		{"read", func() { e.gw.GetRecord(ctx, alice, budget, "1") }},
		{"write", func() { e.gw.AddRecord(ctx, alice, gateway.AddRecordRequest{App: budget}) }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			before := len(e.events())
			c.call()
			evs := e.events()[before:]
			if len(evs) == 0 {
				t.Fatal("no audit event")
			}
			for _, ev := range evs {
				if ev["request_id"] != "req-42" || ev["remote_ip"] != "203.0.113.9" || ev["email"] != alice.Email {
					t.Errorf("event %v, want the request's id and address and the member's e-mail", ev)
				}
			}
		})
	}
}
