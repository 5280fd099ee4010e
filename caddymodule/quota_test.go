package caddymodule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/kgate/kgate/internal/auth"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/testworld"
)

func adaptKgate(t *testing.T, block string) (map[string]any, error) {
	t.Helper()
	cfg := ":8080 {\n\troute {\n\t\tkgate {\n" + block + "\n\t\t}\n\t}\n}\n"
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), nil)
	if err != nil {
		return nil, err
	}
	var v struct {
		Apps struct {
			HTTP struct {
				Servers map[string]struct {
					Routes []struct {
						Handle []struct {
							Routes []struct {
								Handle []map[string]any `json:"handle"`
							} `json:"routes"`
						} `json:"handle"`
					} `json:"routes"`
				} `json:"servers"`
			} `json:"http"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	return v.Apps.HTTP.Servers["srv0"].Routes[0].Handle[0].Routes[0].Handle[0]["kintone"].(map[string]any), nil
}

func TestCaddyfileAdaptsTheQuotaShield(t *testing.T) {
	got, err := adaptKgate(t, `kintone https://example.cybozu.com {
	max_concurrent 30
	member_share 3
	file_share 6
	shared {env.KGATE_REDIS} {
		instances 3
	}
	daily_limit 100000
	daily_warn 70 90%
	low_priority_cutoff 85%
}`)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	want := `{"daily_limit":100000,"daily_warn":[70,90],"file_share":6,"low_priority_cutoff":85,"max_concurrent":30,"member_share":3,"shared":{"instances":3,"redis":"{env.KGATE_REDIS}"},"url":"https://example.cybozu.com"}`
	if string(b) != want {
		t.Errorf("kintone = %s\nwant %s", b, want)
	}
	got, err = adaptKgate(t, "kintone https://x {\n low_priority_cutoff off\n}")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(got); string(b) != `{"low_priority_cutoff":-1,"url":"https://x"}` {
		t.Errorf("off: %s", b)
	}
}

func TestCaddyfileQuotaShieldErrorsSayWhatIsWanted(t *testing.T) {
	tests := []struct{ block, want string }{
		{"kintone https://x {\n shared\n}", "shared needs the Redis URL"},
		{"kintone https://x {\n shared redis://r:6379\n}", "shared needs `instances <n>`"},
		{"kintone https://x {\n shared redis://r:6379 {\n instancs 3\n }\n}", `unknown shared setting "instancs"`},
		{"kintone https://x {\n daily_warn\n}", "daily_warn needs one or more percentages"},
		{"kintone https://x {\n daily_warn 80 120\n}", `daily_warn "120": want a percentage from 1 to 100`},
		{"kintone https://x {\n low_priority_cutoff most\n}", `low_priority_cutoff "most"`},
		{"kintone https://x {\n member_share 100\n}", "member_share \"100\": want a whole number from 0 to 99"},
		{"kintone https://x {\n max_conurrent 5\n}", `unknown kintone setting "max_conurrent" (want basic_auth, timeout, max_concurrent, max_queue, cache_ttl, member_share, file_share, shared, daily_limit, daily_warn or low_priority_cutoff)`},
	}
	for _, tt := range tests {
		if _, err := adaptKgate(t, tt.block); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want %q", tt.block, err, tt.want)
		}
	}
}

func TestTheClientConfigKeepsAShareForMemberLookups(t *testing.T) {
	tests := []struct {
		name     string
		k        Kintone
		members  bool
		want     int
		instance int
	}{
		{"no members app: none", Kintone{}, false, 0, 0},
		{"members app: a tenth of the default cap", Kintone{}, true, 2, 0},
		{"members app: at least one", Kintone{MaxConcurrent: 5}, true, 1, 0},
		{"one slot cannot be split", Kintone{MaxConcurrent: 1}, true, 0, 0},
		{"as configured", Kintone{MemberShare: 4}, true, 4, 0},
		{"shared", Kintone{Shared: &SharedQuota{Redis: "redis://r", Instances: 3}}, true, 2, 3},
	}
	for _, tt := range tests {
		h := &Handler{Kintone: tt.k, logger: zap.NewNop()}
		if tt.members {
			h.Members = &Members{App: "members"}
		}
		cfg := h.clientConfig(caddy.NewReplacer())
		if cfg.MemberShare != tt.want || cfg.Instances != tt.instance {
			t.Errorf("%s: member share %d, instances %d; want %d, %d", tt.name, cfg.MemberShare, cfg.Instances, tt.want, tt.instance)
		}
	}
}

func TestAMembersAppBusyForLoadAnswersKgatesBusyWithoutALogLine(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	h := &Handler{logger: zap.New(core)}
	w := httptest.NewRecorder()
	h.refuseAPI(w, httptest.NewRequest("GET", "/k/v1/records.json?app=1", nil),
		fmt.Errorf("auth: members directory: members app: %w", kintone.ErrBusy))
	var body struct{ Code string }
	json.Unmarshal(w.Body.Bytes(), &body)
	if w.Code != http.StatusServiceUnavailable || body.Code != "KGATE_UP03" || w.Header().Get("Retry-After") == "" {
		t.Errorf("answer: %d %s (Retry-After %q), want 503 KGATE_UP03 with Retry-After", w.Code, body.Code, w.Header().Get("Retry-After"))
	}
	if logs.Len() != 0 {
		t.Errorf("%d log lines, want none: refusals for load are counted by the client", logs.Len())
	}
}

func TestMetricsTellTheDailyBudgetAndTheRefusals(t *testing.T) {
	w := testworld.Start(t, 5)
	client, err := kintone.NewClient(kintone.Config{BaseURL: w.URL, DailyLimit: 4, DailyWarn: []int{50, 90}, LowPriorityCutoff: 60})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := policy.Open(context.Background(), policy.Options{Dir: w.PolicyDir})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	ctx := context.Background()
	for range 3 {
		client.Do(ctx, kintone.Request{Method: "GET", API: "records.json", App: testworld.OrdersApp,
			Tokens: []string{testworld.OrdersToken}, Params: url.Values{"app": {testworld.OrdersApp}}})
	}
	client.Do(kintone.WithPriority(ctx, kintone.PriorityLow), kintone.Request{Method: "GET", API: "records.json", App: testworld.OrdersApp,
		Tokens: []string{testworld.OrdersToken}, Params: url.Values{"app": {testworld.OrdersApp}, "query": {"limit 1"}}})
	got := gather(t, newCollector(client, eng, []App{{ID: testworld.OrdersApp, Alias: "orders"}}))
	want := map[string]float64{
		"kgate_kintone_daily_budget_used_ratio,app=orders":                     0.75,
		"kgate_kintone_daily_budget_threshold_crossed,app=orders,threshold=50": 1,
		"kgate_kintone_daily_budget_threshold_crossed,app=orders,threshold=90": 0,
		"kgate_kintone_refused_total,reason=low_priority":                      1,
		"kgate_kintone_refused_total,reason=queue_full":                        0,
		"kgate_kintone_shared_cap_degraded":                                    0,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
}

// When who is asking cannot be established, the 503 says what kgate could
// not reach, in the member's language.
func TestAnUnreachableServiceIsNamedInTheRefusal(t *testing.T) {
	tests := []struct {
		name, lang string
		err        error
		want       string
	}{
		{"the members app", "en", fmt.Errorf("%w: %w", auth.ErrDirectoryUnavailable, errors.New("dial tcp: refused")), "kintone (the members app)"},
		{"the members app, in Japanese", "ja", fmt.Errorf("%w: %w", auth.ErrDirectoryUnavailable, errors.New("dial tcp: refused")), "kintone(メンバーアプリ)"},
		{"the OpenID Provider", "en", fmt.Errorf("%w: discovery: timeout", auth.ErrProviderUnavailable), "OpenID Provider"},
		{"the session store", "en", errors.New("redis: connection refused"), "session store"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &Handler{logger: zap.NewNop()}
			w := httptest.NewRecorder()
			r := httptest.NewRequest("GET", "/k/v1/records.json?app=1", nil)
			r.Header.Set("Accept-Language", tt.lang)
			h.refuseAPI(w, r, tt.err)
			var body struct{ Code, Message string }
			json.Unmarshal(w.Body.Bytes(), &body)
			if w.Code != http.StatusServiceUnavailable || body.Code != "KGATE_ID01" || !strings.Contains(body.Message, tt.want) {
				t.Errorf("answer: %d %s %q, want 503 KGATE_ID01 naming %q", w.Code, body.Code, body.Message, tt.want)
			}
		})
	}
}
