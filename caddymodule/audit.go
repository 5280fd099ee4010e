package caddymodule

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/kgate/kgate/internal/audit"
)

// withAuditRequest returns r carrying the request id and client address
// that every audit event written while serving it records. The id is
// Caddy's {http.request.uuid}, so an access log that includes it can be
// joined to the audit log; the address honours the server's trusted_proxies.
func withAuditRequest(r *http.Request) *http.Request {
	var req audit.Request
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		req.ID = repl.ReplaceAll("{http.request.uuid}", "")
	}
	req.RemoteIP, _ = caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string)
	return r.WithContext(audit.WithRequest(r.Context(), req))
}
