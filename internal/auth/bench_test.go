package auth

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/devidp"
)

// Run with: go test -run '^$' -bench . ./internal/auth/
// Each kgate figure sits beside the primitive it cannot avoid, measured in
// the same run: one AES-GCM open of a cookie-sized value, one RS256 verify.

func benchSession(b *testing.B) (*Auth, *http.Request, int) {
	a, err := New(Config{Issuer: "https://op.example.com", ClientID: "c", ClientSecret: "s",
		BaseURL: "https://portal.example.com", SessionKeys: [][]byte{testKey}})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	rec := &record{Gen: 1, Iss: "https://op.example.com", Sub: "u-alice", Exp: now.Add(time.Hour).Unix(),
		Due: now.Add(time.Hour).Unix(), Claims: []byte(`{"sub":"u-alice"}`)}
	if err := a.saveRecord(context.Background(), "sid-1", rec, true); err != nil {
		b.Fatal(err)
	}
	id := &identity.Identity{Subject: "u-alice", Issuer: rec.Iss, Email: "alice@acme.example", Name: "Alice Sato",
		Level: "gold", Org: "acme", Groups: []string{"partners", "budget-editors"}, Lang: "ja"}
	w := httptest.NewRecorder()
	a.writeSessionCookie(w, &sessionCookie{SID: "sid-1", Gen: 1, Iat: now.Unix(), Exp: rec.Exp, Seen: now.Unix(),
		Due: rec.Due, ID: summarize(id)})
	c := w.Result().Cookies()[0]
	r := httptest.NewRequest("GET", "https://portal.example.com/apps/2", nil)
	r.AddCookie(c)
	raw, _ := base64.RawURLEncoding.DecodeString(c.Value)
	return a, r, len(raw) - 5 - 12 - 16 // plaintext size
}

func BenchmarkIdentifySessionCookie(b *testing.B) {
	a, r, _ := benchSession(b)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Identify(w, r); err != nil {
			b.Fatal(err)
		}
	}
}

// FirstSight: a cookie this instance has not opened before (after a
// restart, or on another instance): AES-GCM and decoding every time.
func BenchmarkIdentifySessionCookieFirstSight(b *testing.B) {
	a, r, _ := benchSession(b)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		a.opened.m = nil
		if _, err := a.Identify(w, r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReferenceAESGCMOpenOfTheSameSize(b *testing.B) {
	_, _, n := benchSession(b)
	block, _ := aes.NewCipher(testKey)
	aead, _ := cipher.NewGCM(block)
	nonce := make([]byte, aead.NonceSize())
	sealed := aead.Seal(nil, nonce, make([]byte, n), []byte(SessionCookie))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := aead.Open(nil, nonce, sealed, []byte(SessionCookie)); err != nil {
			b.Fatal(err)
		}
	}
}

func benchBearer(b *testing.B) (*Auth, *http.Request, *devidp.Provider) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	p, err := devidp.New(devidp.Config{Issuer: "http://" + l.Addr().String() + "/", Users: devidp.DemoUsers(),
		Clients: []devidp.Client{{ID: "machine", Secret: "machine-secret", ActAsUsers: true, Audience: []string{"kgate-api"}}}})
	if err != nil {
		b.Fatal(err)
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: p}}
	srv.Start()
	b.Cleanup(srv.Close)
	a, err := New(Config{Issuer: p.Issuer(), ClientID: "c", ClientSecret: "s", BaseURL: "https://portal.example.com",
		SessionKeys: [][]byte{testKey}, BearerAudiences: []string{"kgate-api"}})
	if err != nil {
		b.Fatal(err)
	}
	tok, err := p.MintAccessToken("machine", "u-alice", []string{"kgate-api"}, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest("GET", "https://portal.example.com/k/v1/records.json", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	if _, err := a.Identify(httptest.NewRecorder(), r); err != nil { // discovery and keys, once
		b.Fatal(err)
	}
	return a, r, p
}

func BenchmarkIdentifyBearerJWT(b *testing.B) {
	a, r, _ := benchBearer(b)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Identify(w, r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReferenceRS256Verify(b *testing.B) {
	_, r, _ := benchBearer(b)
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	key, _ := rsa.GenerateKey(rand.Reader, 2048) // same size as the provider's
	input := tok[:strings.LastIndexByte(tok, '.')]
	sum := sha256.Sum256([]byte(input))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	b.ReportAllocs()
	for b.Loop() {
		sum := sha256.Sum256([]byte(input))
		if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}
