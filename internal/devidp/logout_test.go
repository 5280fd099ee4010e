package devidp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// backchannelRP is a relying party's back-channel logout endpoint that
// keeps the logout tokens it receives.
func backchannelRP(t *testing.T) (string, <-chan string) {
	received := make(chan string, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || r.ParseForm() != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		received <- r.PostForm.Get("logout_token")
	}))
	t.Cleanup(srv.Close)
	return srv.URL, received
}

// Each login is a provider session whose sid its ID tokens carry, refreshed
// ones too. When the sessions end — Logout, or end_session — the client's
// back-channel logout URI receives a logout token for each, and their
// refresh tokens stop working.
func TestProviderSessionsEndWithABackchannelLogout(t *testing.T) {
	uri, received := backchannelRP(t)
	p, c := start(t, "/", func(cfg *Config) { cfg.Clients[0].BackchannelLogoutURI = uri })
	ctx := context.Background()
	prov, err := oidc.NewProvider(ctx, p.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	cfg := rpConfig(p, prov)
	verify := prov.Verifier(&oidc.Config{ClientID: "rp"})
	signIn := func() (*oauth2.Token, string) {
		t.Helper()
		v := oauth2.GenerateVerifier()
		code, _ := login(t, c, cfg, "u-alice", oauth2.S256ChallengeOption(v))
		tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(v))
		if err != nil {
			t.Fatal(err)
		}
		return tok, sidOf(t, verify, tok)
	}
	first, sid1 := signIn()
	_, sid2 := signIn()
	if sid1 == "" || sid2 == "" || sid1 == sid2 {
		t.Fatalf("sids %q and %q, want one of its own for each login", sid1, sid2)
	}
	fresh, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: first.RefreshToken, Expiry: time.Unix(1, 0)}).Token()
	if err != nil {
		t.Fatal(err)
	}
	if got := sidOf(t, verify, fresh); got != sid1 {
		t.Fatalf("the refreshed ID token names %q, want its session %q", got, sid1)
	}
	if got := p.Sessions("u-alice"); len(got) != 2 {
		t.Fatalf("sessions %v, want two", got)
	}

	if err := p.Logout(ctx, "u-alice"); err != nil {
		t.Fatal(err)
	}
	var sids []string
	for range 2 {
		sids = append(sids, checkLogoutToken(t, verify, <-received))
	}
	want := []string{sid1, sid2}
	slices.Sort(sids)
	slices.Sort(want)
	if !slices.Equal(sids, want) {
		t.Fatalf("logout tokens for %v, want %v", sids, want)
	}
	if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: fresh.RefreshToken, Expiry: time.Unix(1, 0)}).Token(); err == nil {
		t.Fatal("a refresh token of an ended session still works")
	}
	if got := p.Sessions("u-alice"); len(got) != 0 {
		t.Fatalf("sessions %v after logout", got)
	}

	tok, sid3 := signIn()
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	prov.Claims(&meta)
	q := url.Values{"id_token_hint": {tok.Extra("id_token").(string)}}
	resp, err := c.Get(meta.EndSession + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := checkLogoutToken(t, verify, <-received); got != sid3 {
		t.Fatalf("end_session sent a logout token for %q, want %q", got, sid3)
	}
}

// A relying party that refuses a logout token is reported by Logout.
func TestLogoutReportsARefusedDelivery(t *testing.T) {
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
	}))
	t.Cleanup(refusing.Close)
	p, c := start(t, "/", func(cfg *Config) { cfg.Clients[0].BackchannelLogoutURI = refusing.URL })
	prov, err := oidc.NewProvider(context.Background(), p.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	login(t, c, rpConfig(p, prov), "u-bob", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	if err := p.Logout(context.Background(), "u-bob"); err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("Logout: %v, want the refusal", err)
	}
}

func sidOf(t *testing.T, verify *oidc.IDTokenVerifier, tok *oauth2.Token) string {
	t.Helper()
	idt, err := verify.Verify(context.Background(), tok.Extra("id_token").(string))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		SID string `json:"sid"`
	}
	idt.Claims(&c)
	return c.SID
}

// checkLogoutToken checks a logout token as section 2.4 of the
// specification describes it and returns its sid.
func checkLogoutToken(t *testing.T, verify *oidc.IDTokenVerifier, raw string) string {
	t.Helper()
	lt, err := verify.Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("logout token: %v", err)
	}
	var c map[string]any
	lt.Claims(&c)
	events, _ := c["events"].(map[string]any)
	if _, isObject := events[backchannelEvent].(map[string]any); !isObject || c["sub"] != "u-alice" || c["jti"] == "" || c["iat"] == nil {
		t.Fatalf("logout token claims %v", c)
	}
	if _, ok := c["nonce"]; ok {
		t.Fatal("a logout token with a nonce")
	}
	hdr, _ := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[0])
	var h struct {
		Typ string `json:"typ"`
	}
	if json.Unmarshal(hdr, &h); h.Typ != "logout+jwt" {
		t.Fatalf("typ %q, want logout+jwt", h.Typ)
	}
	sid, _ := c["sid"].(string)
	return sid
}
