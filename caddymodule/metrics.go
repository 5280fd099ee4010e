package caddymodule

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/policy"
)

// collector exposes kgate's use of kintone and its policy version through
// Caddy's metrics (the `metrics` directive or the admin API's /metrics).
// kintone counts about 10,000 requests per app per day and allows 100 in
// flight per domain, shared by every integration of the company: these are
// the numbers an operator watches.
type collector struct {
	client  *kintone.Client
	engine  *policy.Engine
	aliases map[string]string // app id → alias

	today, inFlight, waiting, version *prometheus.Desc
}

func newCollector(client *kintone.Client, engine *policy.Engine, apps []App) *collector {
	aliases := make(map[string]string, len(apps))
	for _, a := range apps {
		aliases[a.ID] = a.Alias
	}
	return &collector{
		client: client, engine: engine, aliases: aliases,
		today: prometheus.NewDesc("kgate_kintone_requests_today",
			"Requests kgate sent to kintone today, per app (kintone's day starts at 09:00 JST).", []string{"app"}, nil),
		inFlight: prometheus.NewDesc("kgate_kintone_requests_in_flight",
			"Requests kgate has in flight to kintone.", nil, nil),
		waiting: prometheus.NewDesc("kgate_kintone_requests_waiting",
			"Requests waiting for one of kgate's slots to kintone.", nil, nil),
		version: prometheus.NewDesc("kgate_policy_info",
			"The policy version serving (1), and whether the last reload failed.", []string{"version", "reload_failed"}, nil),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.today
	ch <- c.inFlight
	ch <- c.waiting
	ch <- c.version
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	for id, n := range c.client.Budget().Today() {
		alias := c.aliases[id]
		if alias == "" {
			alias = id
		}
		ch <- prometheus.MustNewConstMetric(c.today, prometheus.GaugeValue, float64(n), alias)
	}
	inFlight, waiting := c.client.Load()
	ch <- prometheus.MustNewConstMetric(c.inFlight, prometheus.GaugeValue, float64(inFlight))
	ch <- prometheus.MustNewConstMetric(c.waiting, prometheus.GaugeValue, float64(waiting))
	failed := "false"
	if c.engine.ReloadError() != nil {
		failed = "true"
	}
	ch <- prometheus.MustNewConstMetric(c.version, prometheus.GaugeValue, 1, c.engine.Version(), failed)
}
