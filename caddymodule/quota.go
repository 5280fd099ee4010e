package caddymodule

import (
	"cmp"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/kgate/kgate/internal/admission"
	"github.com/kgate/kgate/internal/kintone"
)

// The kintone quota shield's settings, in the kintone block. The README's
// "kintone quota shield" section says what each does.

// SharedQuota makes the concurrency cap and the daily counters one for
// every kgate instance that names the same Redis.
type SharedQuota struct {
	// Redis is a redis:// URL (a placeholder such as {env.KGATE_REDIS}
	// is replaced); it may be the session store's.
	Redis string `json:"redis"`
	// Instances is how many instances share it: while Redis does not
	// answer, each keeps to max_concurrent / instances.
	Instances int `json:"instances"`
}

// unmarshalShield reads the shield's settings in the kintone block; it
// reports whether the setting was one of them.
func (k *Kintone) unmarshalShield(d *caddyfile.Dispenser) (bool, error) {
	switch name := d.Val(); name {
	case "member_share":
		return true, parseInt(d, name, &k.MemberShare, 0, 99)
	case "file_share":
		return true, parseInt(d, name, &k.FileShare, 1, 100)
	case "daily_limit":
		var n int
		err := parseInt(d, name, &n, 1, 100_000_000)
		k.DailyLimit = int64(n)
		return true, err
	case "daily_warn":
		args := d.RemainingArgs()
		if len(args) == 0 {
			return true, d.Errf("daily_warn needs one or more percentages, e.g. `daily_warn 80 95`")
		}
		k.DailyWarn = nil
		for _, a := range args {
			n, ok := percent(a)
			if !ok {
				return true, d.Errf("daily_warn %q: want a percentage from 1 to 100, such as 80 or 80%%", a)
			}
			k.DailyWarn = append(k.DailyWarn, n)
		}
		return true, nil
	case "low_priority_cutoff":
		if !d.NextArg() {
			return true, d.ArgErr()
		}
		if d.Val() == "off" {
			k.LowPriorityCutoff = -1
			return true, nil
		}
		n, ok := percent(d.Val())
		if !ok {
			return true, d.Errf("low_priority_cutoff %q: want a percentage from 1 to 100, such as 90 or 90%%, or off", d.Val())
		}
		k.LowPriorityCutoff = n
		return true, nil
	case "shared":
		k.Shared = &SharedQuota{}
		return true, k.Shared.unmarshal(d)
	}
	return false, nil
}

func percent(s string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSuffix(s, "%"))
	return n, err == nil && n >= 1 && n <= 100
}

func (s *SharedQuota) unmarshal(d *caddyfile.Dispenser) error {
	if !d.Args(&s.Redis) {
		return d.Errf("shared needs the Redis URL, e.g. `shared redis://redis:6379/0 { instances 3 }`")
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch d.Val() {
		case "instances":
			if err := parseInt(d, "instances", &s.Instances, 1, 100); err != nil {
				return err
			}
		default:
			return d.Errf("unknown shared setting %q (want instances)", d.Val())
		}
	}
	if s.Instances == 0 {
		return d.Errf("shared needs `instances <n>`, how many kgate instances share Redis: each keeps to its part of max_concurrent while Redis does not answer")
	}
	return nil
}

// clientConfig is the kintone client's configuration: the connection, the
// cap and its shares, the daily budget. A members app gets a tenth of the
// cap for its lookups unless member_share says otherwise.
func (h *Handler) clientConfig(repl *caddy.Replacer) kintone.Config {
	k := h.Kintone
	cfg := kintone.Config{
		BaseURL: k.URL, BasicUser: k.BasicUser, BasicPassword: k.BasicPassword,
		Timeout: time.Duration(k.Timeout), MaxConcurrent: k.MaxConcurrent,
		MaxQueue: k.MaxQueue, CacheTTL: time.Duration(k.CacheTTL),
		Charge:      admission.ChargeAnswer,
		MemberShare: k.MemberShare, FileShare: k.FileShare,
		DailyLimit: k.DailyLimit, DailyWarn: k.DailyWarn, LowPriorityCutoff: k.LowPriorityCutoff,
		Logger: h.logger.Named("kintone"),
	}
	if limit := cmp.Or(cfg.MaxConcurrent, 20); cfg.MemberShare == 0 && h.Members != nil && limit > 1 {
		cfg.MemberShare = max(1, limit/10)
	}
	if k.Shared != nil {
		cfg.Shared, cfg.Instances = repl.ReplaceKnown(k.Shared.Redis, ""), k.Shared.Instances
	}
	return cfg
}
