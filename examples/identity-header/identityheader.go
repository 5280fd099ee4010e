// Package identityheader is an identity source for kgate written the way
// any outside Caddy module would be: it imports only kgate's public
// packages (caddymodule for the interface and its error, identity for the
// type it returns). It takes the member from headers a trusted front proxy
// sets after its own login (a single sign-on proxy, say), as the Caddy
// module kgate.identity.header:
//
//	kgate {
//	    …
//	    identity header {
//	        trusted_proxies 10.0.0.0/8
//	        issuer https://sso.example.com
//	    }
//	}
//
// Build it into Caddy next to kgate with xcaddy's --with.
package identityheader

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/kgate/kgate/caddymodule"
	"github.com/kgate/kgate/identity"
)

func init() { caddy.RegisterModule(Header{}) }

// Header identifies a request by the member headers of a trusted proxy.
type Header struct {
	// TrustedProxies are the networks (CIDR, e.g. 10.0.0.0/8) of the
	// proxies that set the headers. A request from anywhere else has no
	// identity, whatever headers it carries: the proxy must be the only
	// way in, and must replace these headers on every request.
	TrustedProxies []string `json:"trusted_proxies"`
	// Issuer names who vouched for the member, as policies see it in
	// input.user.issuer (default "header").
	Issuer string `json:"issuer,omitempty"`
	// Subject is the header holding the member's stable id (default
	// X-Member-Id); a request without it has no identity.
	Subject string `json:"subject,omitempty"`
	// Email is the header holding the member's e-mail address (default
	// X-Member-Email).
	Email string `json:"email,omitempty"`
	// Name is the header holding the display name (default X-Member-Name).
	Name string `json:"name,omitempty"`
	// Level is the header holding the member level (default
	// X-Member-Level).
	Level string `json:"level,omitempty"`
	// Org is the header holding the organization (default X-Member-Org).
	Org string `json:"org,omitempty"`

	trusted []netip.Prefix
}

// CaddyModule returns the Caddy module information.
func (Header) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "kgate.identity.header", New: func() caddy.Module { return new(Header) }}
}

// Provision parses the trusted networks and fills in the default headers.
func (h *Header) Provision(caddy.Context) error {
	if len(h.TrustedProxies) == 0 {
		return fmt.Errorf("identity header: trusted_proxies is required: headers from anyone else must not count")
	}
	for _, s := range h.TrustedProxies {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return fmt.Errorf("identity header: trusted proxy %q: want a network such as 10.0.0.0/8", s)
		}
		h.trusted = append(h.trusted, p.Masked())
	}
	for p, def := range map[*string]string{&h.Issuer: "header", &h.Subject: "X-Member-Id", &h.Email: "X-Member-Email",
		&h.Name: "X-Member-Name", &h.Level: "X-Member-Level", &h.Org: "X-Member-Org"} {
		if *p == "" {
			*p = def
		}
	}
	return nil
}

// Identify returns the member the trusted proxy names, or
// caddymodule.ErrNoIdentity.
func (h *Header) Identify(_ http.ResponseWriter, r *http.Request) (*identity.Identity, error) {
	if !h.fromTrustedProxy(r) || r.Header.Get(h.Subject) == "" {
		return nil, caddymodule.ErrNoIdentity
	}
	return &identity.Identity{
		Subject: r.Header.Get(h.Subject), Issuer: h.Issuer,
		Email: r.Header.Get(h.Email), Name: r.Header.Get(h.Name),
		Level: r.Header.Get(h.Level), Org: r.Header.Get(h.Org),
		// The proxy's login rides on a cookie, so kgate's guards for
		// sessions (same origin, X-Requested-With on the API) apply.
		Via: "session",
	}, nil
}

func (h *Header) fromTrustedProxy(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range h.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// UnmarshalCaddyfile reads:
//
//	identity header {
//	    trusted_proxies <cidr>...
//	    issuer <name>
//	    subject|email|name|level|org <header>
//	}
func (h *Header) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the module's name
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		key := d.Val()
		args := d.RemainingArgs()
		if key == "trusted_proxies" {
			if len(args) == 0 {
				return d.Errf("trusted_proxies needs at least one network, e.g. 10.0.0.0/8")
			}
			h.TrustedProxies = append(h.TrustedProxies, args...)
			continue
		}
		into := map[string]*string{"issuer": &h.Issuer, "subject": &h.Subject, "email": &h.Email,
			"name": &h.Name, "level": &h.Level, "org": &h.Org}[key]
		if into == nil {
			return d.Errf("unknown identity header setting %q (want trusted_proxies, issuer, subject, email, name, level or org)", key)
		}
		if len(args) != 1 {
			return d.Errf("%s takes one value", key)
		}
		*into = args[0]
	}
	return nil
}

// Interface guards.
var (
	_ caddy.Provisioner          = (*Header)(nil)
	_ caddyfile.Unmarshaler      = (*Header)(nil)
	_ caddymodule.IdentitySource = (*Header)(nil)
)
