package auth

import (
	"net/http"
	"testing"
	"time"
)

// One setting, clock_skew (default a minute), is the tolerance on exp, nbf
// and iat of ID tokens and bearer tokens alike.
func TestClockSkewGovernsExpNbfAndIat(t *testing.T) {
	now := time.Now()
	at := func(d time.Duration) int64 { return now.Add(d).Unix() }
	for _, tc := range []struct {
		name  string
		skew  time.Duration // zero: the default
		claim func(map[string]any)
		ok    bool
	}{
		{"exp 30s ago, default skew", 0, set("exp", at(-30*time.Second)), true},
		{"exp 2m ago, default skew", 0, set("exp", at(-2*time.Minute)), false},
		{"exp 30s ago, skew 10s", 10 * time.Second, set("exp", at(-30*time.Second)), false},
		{"no exp", 0, set("exp", nil), false},
		{"nbf 30s ahead, default skew", 0, set("nbf", at(30*time.Second)), true},
		{"nbf 2m ahead, default skew", 0, set("nbf", at(2*time.Minute)), false},
		{"nbf 2m ahead, skew 5m", 5 * time.Minute, set("nbf", at(2*time.Minute)), true},
		{"nbf 30s ahead, skew 10s", 10 * time.Second, set("nbf", at(30*time.Second)), false},
		{"nbf not a time", 0, set("nbf", "soon"), false},
		{"iat 30s ahead, default skew", 0, set("iat", at(30*time.Second)), true},
		{"iat 2m ahead, default skew", 0, set("iat", at(2*time.Minute)), false},
		{"iat 30s ahead, skew 10s", 10 * time.Second, set("iat", at(30*time.Second)), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := startFakeOP(t)
			cfg := fakeConfig(op)
			cfg.BearerAudiences, cfg.ClockSkew = []string{"kgate-api"}, tc.skew
			k := startKgate(t, listenTLS(t), cfg)
			if p := loginWith(t, k, op, tc.claim); (p.Status == http.StatusSeeOther) != tc.ok {
				t.Errorf("ID token: callback answered %d %q, want accepted=%v", p.Status, p.Body, tc.ok)
			}
			if p := k.bearer(t, op.accessToken(nil, tc.claim)); (p.Status == 200) != tc.ok {
				t.Errorf("bearer token: %d %q, want accepted=%v", p.Status, p.Body, tc.ok)
			}
		})
	}
}
