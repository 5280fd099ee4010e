package caddymodule

import (
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("kgate", parseCaddyfile)
	httpcaddyfile.RegisterDirectiveOrder("kgate", httpcaddyfile.Before, "reverse_proxy")
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	var k Handler
	err := k.UnmarshalCaddyfile(h.Dispenser)
	return &k, err
}

// UnmarshalCaddyfile reads the kgate directive:
//
//	kgate {
//	    kintone <url> {
//	        basic_auth <user> <password>
//	        timeout <duration>
//	        max_concurrent <n>
//	        max_queue <n>
//	        cache_ttl <duration>
//	        member_share <n>            # the quota shield: see quota.go
//	        file_share <n>
//	        shared <redis-url> {
//	            instances <n>
//	        }
//	        daily_limit <n>
//	        daily_warn <percent>...
//	        low_priority_cutoff <percent>|off
//	    }
//	    app <alias> <id> {
//	        guest_space <id>
//	        token <api-token>      # repeat for lookups into other apps
//	    }
//	    policy <dir> {
//	        package <name>
//	        watch
//	    }
//	    oidc <issuer> { … }        # see OIDC.unmarshal
//	    members <app alias> { … }  # see Members.unmarshal
//	    mail <host:port> { … }     # see Mail.unmarshal
//	    portal { … }               # see unmarshalPortal
//	    identity <module> { … }
//	    limits {
//	        max_read_body <size>
//	        max_body <size>
//	        max_upload <size>
//	        memory <size>
//	        per_member <n>
//	        per_member_memory <size>
//	        per_member_bytes <size>
//	        per_member_rate <size>      # per second
//	        body_timeout <duration>
//	        min_body_rate <size>        # per second
//	    }
//	    file_token_ttl <duration>
//	    upload_token_ttl <duration>
//	    file_key <base64> [<previous>...]  # first seals, all open
//	    max_body <size>                 # limits.max_body, kept for older configurations
//	}
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive's name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		var err error
		switch d.Val() {
		case "kintone":
			err = h.Kintone.unmarshal(d)
		case "app":
			var a App
			if err = a.unmarshal(d); err == nil {
				h.Apps = append(h.Apps, a)
			}
		case "policy":
			err = h.Policy.unmarshal(d)
		case "identity":
			err = h.unmarshalIdentity(d)
		case "oidc":
			h.OIDC = &OIDC{}
			err = h.OIDC.unmarshal(d)
		case "members":
			h.Members = &Members{}
			err = h.Members.unmarshal(d)
		case "audit_app":
			h.AuditApp = &AuditApp{}
			err = h.AuditApp.unmarshal(d)
		case "mail":
			h.Mail = &Mail{}
			err = h.Mail.unmarshal(d)
		case "portal":
			h.Portal, err = unmarshalPortal(d)
		case "notify":
			h.Notify = &Notify{}
			err = h.Notify.unmarshal(d)
		case "max_body":
			err = parseSize(d, "max_body", &h.MaxBody)
		case "limits":
			h.Limits = &Limits{}
			err = h.Limits.unmarshal(d)
		case "file_token_ttl":
			err = parseDuration(d, "file_token_ttl", &h.FileTokenTTL)
		case "upload_token_ttl":
			err = parseDuration(d, "upload_token_ttl", &h.UploadTokenTTL)
		case "file_key":
			if h.FileKeys = d.RemainingArgs(); len(h.FileKeys) == 0 {
				return d.Errf("file_key needs a key, e.g. `file_key {env.KGATE_FILE_KEY}` (make one with `openssl rand -base64 32`)")
			}
		default:
			return d.Errf("unknown kgate setting %q (want kintone, app, policy, oidc, members, audit_app, mail, portal, notify, identity, limits, file_token_ttl, upload_token_ttl, file_key or max_body)", d.Val())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (k *Kintone) unmarshal(d *caddyfile.Dispenser) error {
	if !d.Args(&k.URL) {
		return d.Errf("kintone needs the domain's URL, e.g. `kintone https://example.cybozu.com`")
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch d.Val() {
		case "basic_auth":
			if !d.Args(&k.BasicUser, &k.BasicPassword) {
				return d.Errf("basic_auth needs a user and a password")
			}
		case "timeout":
			err = parseDuration(d, "timeout", &k.Timeout)
		case "cache_ttl":
			err = parseDuration(d, "cache_ttl", &k.CacheTTL)
		case "max_concurrent":
			err = parseInt(d, "max_concurrent", &k.MaxConcurrent, 1, 100)
		case "max_queue":
			err = parseInt(d, "max_queue", &k.MaxQueue, 1, 100000)
		default:
			var known bool
			if known, err = k.unmarshalShield(d); !known {
				return d.Errf("unknown kintone setting %q (want basic_auth, timeout, max_concurrent, max_queue, cache_ttl, member_share, file_share, shared, daily_limit, daily_warn or low_priority_cutoff)", d.Val())
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (a *App) unmarshal(d *caddyfile.Dispenser) error {
	if !d.Args(&a.Alias, &a.ID) {
		return d.Errf("app needs an alias and kintone's app id, e.g. `app orders 12`")
	}
	if n, err := strconv.ParseUint(a.ID, 10, 63); err != nil || n == 0 {
		return d.Errf("app %s: %q is not a kintone app id (a number such as 12)", a.Alias, a.ID)
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch d.Val() {
		case "guest_space":
			if !d.Args(&a.GuestSpace) {
				return d.ArgErr()
			}
		case "token":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.Errf("app %s: token needs a value, e.g. `token {env.KINTONE_TOKEN_%s}`", a.Alias, a.Alias)
			}
			a.Tokens = append(a.Tokens, args...)
		default:
			return d.Errf("unknown app setting %q (want guest_space or token)", d.Val())
		}
	}
	if len(a.Tokens) == 0 {
		return d.Errf("app %s: at least one `token` is required", a.Alias)
	}
	return nil
}

func (p *Policy) unmarshal(d *caddyfile.Dispenser) error {
	if !d.Args(&p.Dir) {
		return d.Errf("policy needs its directory, e.g. `policy ./policies`")
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch d.Val() {
		case "package":
			if !d.Args(&p.Package) {
				return d.ArgErr()
			}
		case "watch":
			p.Watch = true
		default:
			return d.Errf("unknown policy setting %q (want package or watch)", d.Val())
		}
	}
	return nil
}

func (h *Handler) unmarshalIdentity(d *caddyfile.Dispenser) error {
	if !d.NextArg() {
		return d.Errf("identity needs a source module name")
	}
	name := d.Val()
	mod, err := caddyfile.UnmarshalModule(d, "kgate.identity."+name)
	if err != nil {
		return err
	}
	h.IdentityRaw = caddyconfig.JSONModuleObject(mod, "source", name, nil)
	return nil
}

func (l *Limits) unmarshal(d *caddyfile.Dispenser) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch name := d.Val(); name {
		case "max_read_body":
			err = parseSize(d, name, &l.MaxReadBody)
		case "max_body":
			err = parseSize(d, name, &l.MaxBody)
		case "max_upload":
			err = parseSize(d, name, &l.MaxUpload)
		case "memory":
			err = parseSize(d, name, &l.Memory)
		case "per_member_memory":
			err = parseSize(d, name, &l.PerMemberMemory)
		case "per_member_bytes":
			err = parseSize(d, name, &l.PerMemberBytes)
		case "per_member_rate":
			err = parseSize(d, name, &l.PerMemberRate)
		case "min_body_rate":
			err = parseSize(d, name, &l.MinBodyRate)
		case "per_member":
			err = parseInt(d, name, &l.PerMember, 1, 10000)
		case "body_timeout":
			err = parseDuration(d, name, &l.BodyTimeout)
		default:
			return d.Errf("unknown limits setting %q (want max_read_body, max_body, max_upload, memory, per_member, per_member_memory, per_member_bytes, per_member_rate, body_timeout or min_body_rate)", name)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func parseSize(d *caddyfile.Dispenser, name string, into *int64) error {
	if !d.NextArg() {
		return d.ArgErr()
	}
	size, err := humanize.ParseBytes(d.Val())
	if err != nil || size == 0 || size > 1<<40 {
		return d.Errf("%s %q: want a size such as 16MiB", name, d.Val())
	}
	*into = int64(size)
	return nil
}

func parseDuration(d *caddyfile.Dispenser, name string, into *caddy.Duration) error {
	if !d.NextArg() {
		return d.ArgErr()
	}
	v, err := caddy.ParseDuration(d.Val())
	if err != nil || v < 0 {
		return d.Errf("%s %q: want a duration such as 30s", name, d.Val())
	}
	*into = caddy.Duration(v)
	return nil
}

func parseInt(d *caddyfile.Dispenser, name string, into *int, lo, hi int) error {
	if !d.NextArg() {
		return d.ArgErr()
	}
	n, err := strconv.Atoi(d.Val())
	if err != nil || n < lo || n > hi {
		return d.Errf("%s %q: want a whole number from %d to %d", name, d.Val(), lo, hi)
	}
	*into = n
	return nil
}

var _ caddyfile.Unmarshaler = (*Handler)(nil)
