package auth

import (
	"net/http"
	"testing"
)

// Behind a load balancer the connection is the balancer's: audit events
// name the address the server trusts as the member's, when it gives one.
func TestAuditEventsNameTheAddressTheServerTrusts(t *testing.T) {
	for _, tt := range []struct {
		name     string
		clientIP func(*http.Request) string
		want     string
	}{
		{"the server names the member's address", func(*http.Request) string { return "203.0.113.7" }, "203.0.113.7"},
		{"the server names none: the connection's", func(*http.Request) string { return "" }, "127.0.0.1"},
		{"no server hook: the connection's", nil, "127.0.0.1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			op := startFakeOP(t)
			cfg := fakeConfig(op)
			cfg.ClientIP = tt.clientIP
			k := startKgate(t, listenTLS(t), cfg)
			if p := loginWith(t, k, op, set("name", "Alice")); p.Status != http.StatusSeeOther {
				t.Fatalf("login: %d %q", p.Status, p.Body)
			}
			logins := k.audits.FilterMessage("login").All()
			if len(logins) == 0 {
				t.Fatalf("no login event among %v", k.auditKinds())
			}
			if got := logins[0].ContextMap()["remote_ip"]; got != tt.want {
				t.Errorf("remote_ip = %v, want %s", got, tt.want)
			}
		})
	}
}
