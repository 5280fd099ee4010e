package caddymodule

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/notify"
	"github.com/kgate/kgate/portalconfig"
)

// webhookPrefix is where kintone's webhooks reach kgate: the secret
// follows it.
const webhookPrefix = "/kgate/webhooks/"

// Notify tells members by e-mail when a record they may read changes:
// kintone's webhooks post to webhookPrefix + Secret, and kgate mails every
// active member of the members app whose policy lets them read the record
// (internal/notify). It needs the members app, kgate's oidc login and a
// mail block.
type Notify struct {
	// Secret is the last segment of the webhook URL given to kintone,
	// /kgate/webhooks/<secret>: at least 32 characters, best a
	// placeholder such as {env.KGATE_WEBHOOK_SECRET}. A request with
	// another is answered 404 and does nothing.
	Secret string `json:"secret"`
	// PortalURL is the portal's external URL the e-mail links to
	// (default the oidc block's base_url).
	PortalURL string `json:"portal_url,omitempty"`
	// Apps are the aliases of the apps whose changes are told (default
	// every app).
	Apps []string `json:"apps,omitempty"`
	// Rate is how many e-mails one member gets an hour at most (default
	// 20); changes past it wait for the member's next digest.
	Rate int `json:"rate,omitempty"`
	// DigestEvery is the period of the digest: members who asked for it,
	// and changes held back by Rate, get one e-mail per period (default
	// 1h).
	DigestEvery caddy.Duration `json:"digest_every,omitempty"`
}

// unmarshal reads:
//
//	notify {
//	    secret <secret>
//	    portal_url <url>
//	    apps <alias>...
//	    rate <per hour>
//	    digest_every <duration>
//	}
func (n *Notify) unmarshal(d *caddyfile.Dispenser) error {
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch key := d.Val(); key {
		case "secret":
			if !d.Args(&n.Secret) {
				return d.Errf("secret needs a value, e.g. `secret {env.KGATE_WEBHOOK_SECRET}`")
			}
		case "portal_url":
			if !d.Args(&n.PortalURL) {
				return d.Errf("portal_url needs the portal's URL, e.g. `portal_url https://partners.example.com`")
			}
		case "apps":
			n.Apps = d.RemainingArgs()
			if len(n.Apps) == 0 {
				return d.Errf("apps needs at least one app alias")
			}
		case "rate":
			err = parseInt(d, "rate", &n.Rate, 1, 10000)
		case "digest_every":
			err = parseDuration(d, "digest_every", &n.DigestEvery)
		default:
			return d.Errf("unknown notify setting %q (want secret, portal_url, apps, rate or digest_every)", key)
		}
		if err != nil {
			return err
		}
	}
	if n.Secret == "" {
		return d.Errf("notify needs a secret (secret {env.KGATE_WEBHOOK_SECRET})")
	}
	return nil
}

// startNotify wires the notifier and starts its digest loop; stopNotify
// ends it at Cleanup.
func (h *Handler) startNotify(repl *caddy.Replacer, gw *gateway.Gateway, client *kintone.Client) error {
	c := h.Notify
	if c == nil {
		return nil
	}
	outbox := h.mailOutbox()
	switch {
	case outbox == nil:
		return errors.New("kgate notify: e-mail needs a mail block (mail { smtp … from … })")
	case h.auth == nil || h.Members == nil:
		return errors.New("kgate notify: notifications need kgate's oidc login and a members app (members <alias>)")
	}
	roster, _, err := h.memberDirectory(client)
	if err != nil {
		return err
	}
	secret := repl.ReplaceKnown(c.Secret, "")
	if len(secret) < notify.MinSecret {
		return fmt.Errorf("kgate notify: the secret must be at least %d characters after replacing placeholders (is the environment variable set?)", notify.MinSecret)
	}
	cfg := notify.Config{
		Gateway: gw, Members: roster, Identify: h.auth.IdentityOf, Outbox: outbox, Audit: h.audit,
		Logger: h.logger.Named("notify"), Secret: secret, Apps: c.Apps, Rate: c.Rate,
		DigestEvery: time.Duration(c.DigestEvery),
		PortalURL:   cmp.Or(repl.ReplaceKnown(c.PortalURL, ""), repl.ReplaceKnown(h.OIDC.BaseURL, "")),
	}
	if err := h.digestStore(repl, &cfg); err != nil {
		return err
	}
	if r := time.Duration(h.Members.Recheck); r > 0 && r < 30*time.Second {
		cfg.MembersTTL = r // never older than the members' answers elsewhere
	}
	if p := h.Portal; p != nil {
		cfg.Site, cfg.DefaultLang = p.Brand.Title, p.DefaultLang
		cfg.AppNames, cfg.TitleFields = map[string]portalconfig.Text{}, map[string]string{}
		for alias, s := range p.Apps {
			cfg.AppNames[alias], cfg.TitleFields[alias] = s.Name, s.TitleField
		}
	}
	n, err := notify.New(cfg)
	if err != nil {
		return fmt.Errorf("kgate %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go n.Run(ctx)
	h.notifier, h.stopNotify = n, func() { cancel(); n.Close() }
	return nil
}

// digestStore keeps the changes waiting for digests where the mail queue
// is: in the shared Redis, else beside queue_dir.
func (h *Handler) digestStore(repl *caddy.Replacer, cfg *notify.Config) error {
	client, err := h.redisClient(repl)
	if err != nil {
		return err
	}
	if client != nil {
		cfg.Redis = client // not a nil *redis.Client in the interface
	} else {
		cfg.DigestDir = h.Mail.queueDir(repl) + "-digests"
	}
	return nil
}
