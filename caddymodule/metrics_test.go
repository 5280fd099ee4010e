package caddymodule

import (
	"context"
	"net/url"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/testworld"
)

func TestMetricsCountKintoneRequestsPerAppAndNameThePolicyVersion(t *testing.T) {
	w := testworld.Start(t, 5)
	client, err := kintone.NewClient(kintone.Config{BaseURL: w.URL})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := policy.Open(context.Background(), policy.Options{Dir: w.PolicyDir})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	for i := 0; i < 3; i++ {
		client.Do(context.Background(), kintone.Request{Method: "GET", API: "records.json", App: testworld.OrdersApp,
			Tokens: []string{testworld.OrdersToken}, Params: url.Values{"app": {testworld.OrdersApp}}})
	}
	got := gather(t, newCollector(client, eng, []App{{ID: testworld.OrdersApp, Alias: "orders"}}))
	want := map[string]float64{
		"kgate_kintone_requests_today,app=orders":                        3,
		"kgate_kintone_requests_in_flight":                               0,
		"kgate_kintone_requests_waiting":                                 0,
		"kgate_policy_info,reload_failed=false,version=" + eng.Version(): 1,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}

// gather registers collector and returns each metric's value by its name
// and labels ("name,label=value,…"), gauges and counters alike.
func gather(t *testing.T, collector prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	if err := reg.Register(collector); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			got[key] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	return got
}
