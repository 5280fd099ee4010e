package auth

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// countingVerify stands for go-oidc's check: "good…" tokens pass.
func countingVerify(calls *int) func(context.Context, string) (*oidc.IDToken, error) {
	return func(_ context.Context, raw string) (*oidc.IDToken, error) {
		*calls++
		if raw[:4] != "good" {
			return nil, errors.New("bad signature")
		}
		return &oidc.IDToken{Subject: raw}, nil
	}
}

func TestASignatureIsCheckedOnceWithinTheRememberedTime(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name   string
		tokens []string
		later  time.Duration // between the first and the other uses
		checks int
	}{
		{"the same good token three times", []string{"good-a", "good-a", "good-a"}, time.Minute, 1},
		{"two good tokens", []string{"good-a", "good-b", "good-a", "good-b"}, 0, 2},
		{"a forged token every time", []string{"forged", "forged", "forged"}, 0, 3},
		{"the same good token after the remembered time", []string{"good-a", "good-a"}, verifiedTTL, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			v := newVerifiedTokens(countingVerify(&calls))
			for i, raw := range tt.tokens {
				at := now
				if i > 0 {
					at = now.Add(tt.later)
				}
				tok, err := v.Verify(context.Background(), raw, at)
				if good := raw[:4] == "good"; good != (err == nil) || good && tok.Subject != raw {
					t.Fatalf("use %d of %q: %v, %v", i, raw, tok, err)
				}
			}
			if calls != tt.checks {
				t.Errorf("the signature was checked %d times, want %d", calls, tt.checks)
			}
		})
	}
}

func TestRememberedSignaturesAreBounded(t *testing.T) {
	calls := 0
	v := newVerifiedTokens(countingVerify(&calls))
	for i := range maxVerified + 10 {
		v.Verify(context.Background(), "good-"+strconv.Itoa(i), time.Now())
		if len(v.m) > maxVerified {
			t.Fatalf("%d tokens remembered, above %d", len(v.m), maxVerified)
		}
	}
}

// A remembered signature spares the check, not the judgement: a token
// that has expired since is refused.
func TestARememberedTokenIsStillRefusedOnceExpired(t *testing.T) {
	op := startFakeOP(t)
	cfg := fakeConfig(op)
	cfg.BearerAudiences = []string{"kgate-api"}
	k := startKgate(t, listenTLS(t), cfg)
	tok := op.accessToken(nil, set("exp", time.Now().Add(3*time.Minute).Unix()))
	if p := k.bearer(t, tok); p.Status != http.StatusOK {
		t.Fatalf("fresh token: %d %q", p.Status, p.Body)
	}
	k.clock.advance(4*time.Minute + cfg.ClockSkew + time.Minute)
	if p := k.bearer(t, tok); p.Status != http.StatusUnauthorized {
		t.Errorf("expired token: %d %q, want 401", p.Status, p.Body)
	}
}
