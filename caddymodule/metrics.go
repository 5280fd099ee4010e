package caddymodule

import (
	"strconv"

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
	// The quota shield.
	refused, degraded, used, crossed *prometheus.Desc
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
		refused: prometheus.NewDesc("kgate_kintone_refused_total",
			"Requests kgate held back to spare kintone, answered busy (KGATE_UP03), per reason.", []string{"reason"}, nil),
		degraded: prometheus.NewDesc("kgate_kintone_shared_cap_degraded",
			"1 while the cap is shared through Redis and Redis does not answer, so that this instance keeps to its own share.", nil, nil),
		used: prometheus.NewDesc("kgate_kintone_daily_budget_used_ratio",
			"Requests to kintone today per app, as a part of the configured daily limit.", []string{"app"}, nil),
		crossed: prometheus.NewDesc("kgate_kintone_daily_budget_threshold_crossed",
			"1 once an app's requests today passed the warning threshold (percent of the daily limit).", []string{"app", "threshold"}, nil),
	}
}

func (c *collector) alias(id string) string {
	if a := c.aliases[id]; a != "" {
		return a
	}
	return id
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.today
	ch <- c.inFlight
	ch <- c.waiting
	ch <- c.version
	ch <- c.refused
	ch <- c.degraded
	ch <- c.used
	ch <- c.crossed
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	budget := c.client.Budget()
	crossed := budget.Crossed()
	for id, n := range budget.Today() {
		ch <- prometheus.MustNewConstMetric(c.today, prometheus.GaugeValue, float64(n), c.alias(id))
		if id == "" {
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.used, prometheus.GaugeValue, float64(n)/float64(budget.Limit()), c.alias(id))
		for i, pct := range budget.Thresholds() {
			v := 0.0
			if i < crossed[id] {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(c.crossed, prometheus.GaugeValue, v, c.alias(id), strconv.Itoa(pct))
		}
	}
	for reason, n := range c.client.Refused() {
		ch <- prometheus.MustNewConstMetric(c.refused, prometheus.CounterValue, float64(n), reason)
	}
	degraded := 0.0
	if c.client.Degraded() {
		degraded = 1
	}
	ch <- prometheus.MustNewConstMetric(c.degraded, prometheus.GaugeValue, degraded)
	inFlight, waiting := c.client.Load()
	ch <- prometheus.MustNewConstMetric(c.inFlight, prometheus.GaugeValue, float64(inFlight))
	ch <- prometheus.MustNewConstMetric(c.waiting, prometheus.GaugeValue, float64(waiting))
	failed := "false"
	if c.engine.ReloadError() != nil {
		failed = "true"
	}
	ch <- prometheus.MustNewConstMetric(c.version, prometheus.GaugeValue, 1, c.engine.Version(), failed)
}
