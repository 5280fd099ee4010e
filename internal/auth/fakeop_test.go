package auth

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

// forger signs whatever a test asks for, with any alg and kid: the raw
// material for hand-made bad tokens.
type forger struct {
	key *rsa.PrivateKey
	kid string
}

var (
	forgerOnce sync.Once
	forgerKeys [2]*rsa.PrivateKey
)

// newForger returns a signer with a fixed (per test binary) RSA key.
func newForger(t testing.TB) *forger {
	forgerOnce.Do(func() {
		for i := range forgerKeys {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			forgerKeys[i] = k
		}
	})
	return &forger{key: forgerKeys[0], kid: "forger-1"}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func (f *forger) sign(t testing.TB, alg, kid string, claims map[string]any) string {
	return signWith(t, f.key, alg, kid, claims)
}

func signWith(t testing.TB, key *rsa.PrivateKey, alg, kid string, claims map[string]any) string {
	t.Helper()
	hdr := map[string]any{"alg": alg, "typ": "JWT"}
	if kid != "" {
		hdr["kid"] = kid
	}
	return signHeader(t, key, hdr, claims)
}

// signHeader signs claims under exactly the header hdr (its "alg" picks
// the algorithm).
func signHeader(t testing.TB, key *rsa.PrivateKey, hdr, claims map[string]any) string {
	t.Helper()
	alg, _ := hdr["alg"].(string)
	h, _ := json.Marshal(hdr)
	p, _ := json.Marshal(claims)
	input := b64(h) + "." + b64(p)
	switch alg {
	case "none":
		return input + "."
	case "RS256":
		sum := sha256.Sum256([]byte(input))
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		return input + "." + b64(sig)
	case "HS256": // keyed with the public key, the classic confusion attack
		der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
		mac := hmac.New(sha256.New, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
		mac.Write([]byte(input))
		return input + "." + b64(mac.Sum(nil))
	}
	t.Fatalf("forger: alg %s", alg)
	return ""
}

// fakeOP is a minimal OpenID Provider whose ID tokens the test writes: the
// way to hand kgate each kind of bad token through a real login.
type fakeOP struct {
	srv      *httptest.Server
	issuer   string
	f        *forger
	clientID string

	mu          sync.Mutex
	codes       map[string]fakeCode
	userinfoSub string
	// idToken makes the ID token for a code's nonce; nil means good.
	idToken func(op *fakeOP, nonce string) string
	// refreshed makes the ID token of a refresh; nil means a good one.
	refreshed  func(op *fakeOP) string
	tokenCalls int
}

func (op *fakeOP) calls() int {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.tokenCalls
}

type fakeCode struct{ challenge, nonce string }

const fakeAccessToken = "fake-access-token"

func startFakeOP(t *testing.T) *fakeOP {
	op := &fakeOP{f: newForger(t), clientID: "kgate", codes: map[string]fakeCode{}, userinfoSub: "user-1"}
	op.srv = httptest.NewUnstartedServer(http.HandlerFunc(op.serve))
	op.issuer = "http://" + op.srv.Listener.Addr().String()
	op.srv.Start()
	t.Cleanup(op.srv.Close)
	return op
}

// claims are good ID-token claims for nonce.
func (op *fakeOP) claims(nonce string) map[string]any {
	now := time.Now()
	return map[string]any{"iss": op.issuer, "sub": "user-1", "aud": op.clientID, "exp": now.Add(time.Hour).Unix(),
		"iat": now.Unix(), "nonce": nonce, "email": "alice@acme.example", "email_verified": true}
}

func (op *fakeOP) good(nonce string) string {
	c := op.claims(nonce)
	if nonce == "" {
		delete(c, "nonce")
	}
	c["at_hash"] = atHash(fakeAccessToken)
	return op.f.sign(testingTB{}, "RS256", op.f.kid, c)
}

func atHash(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return b64(sum[:16])
}

func (op *fakeOP) serve(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": op.issuer, "authorization_endpoint": op.issuer + "/authorize",
			"token_endpoint": op.issuer + "/token", "jwks_uri": op.issuer + "/jwks",
			"userinfo_endpoint": op.issuer + "/userinfo", "id_token_signing_alg_values_supported": []string{"RS256"},
		})
	case "/jwks":
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: &op.f.key.PublicKey, KeyID: op.f.kid, Algorithm: "RS256", Use: "sig"}}})
	case "/authorize":
		q := r.URL.Query()
		if q.Get("code_challenge_method") != "S256" || q.Get("client_id") != op.clientID {
			http.Error(w, "bad request", 400)
			return
		}
		code := randomString()
		op.mu.Lock()
		op.codes[code] = fakeCode{challenge: q.Get("code_challenge"), nonce: q.Get("nonce")}
		op.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?"+url.Values{"code": {code}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
	case "/token":
		r.ParseForm()
		id, secret, _ := r.BasicAuth()
		op.mu.Lock()
		op.tokenCalls++
		if r.PostForm.Get("grant_type") == "refresh_token" {
			mk := op.refreshed
			op.mu.Unlock()
			idt := op.good("")
			if mk != nil {
				idt = mk(op)
			}
			w.Header().Set("Content-Type", "application/json")
			if id != op.clientID || secret != "secret" || r.PostForm.Get("refresh_token") != "rt-1" {
				w.WriteHeader(400)
				fmt.Fprint(w, `{"error":"invalid_grant"}`)
				return
			}
			json.NewEncoder(w).Encode(map[string]any{"access_token": fakeAccessToken, "token_type": "Bearer",
				"expires_in": 3600, "id_token": idt, "refresh_token": "rt-1"})
			return
		}
		c, ok := op.codes[r.PostForm.Get("code")]
		delete(op.codes, r.PostForm.Get("code"))
		mk := op.idToken
		op.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if id != op.clientID || secret != "secret" {
			w.WriteHeader(401)
			fmt.Fprint(w, `{"error":"invalid_client"}`)
			return
		}
		if !ok || oauth2.S256ChallengeFromVerifier(r.PostForm.Get("code_verifier")) != c.challenge {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":"invalid_grant"}`)
			return
		}
		idt := op.good(c.nonce)
		if mk != nil {
			idt = mk(op, c.nonce)
		}
		json.NewEncoder(w).Encode(map[string]any{"access_token": fakeAccessToken, "token_type": "Bearer",
			"expires_in": 3600, "id_token": idt, "refresh_token": "rt-1"})
	case "/userinfo":
		if r.Header.Get("Authorization") != "Bearer "+fakeAccessToken {
			http.Error(w, "no", 401)
			return
		}
		op.mu.Lock()
		sub := op.userinfoSub
		op.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"sub": sub, "email": "alice@acme.example", "email_verified": true})
	default:
		http.NotFound(w, r)
	}
}

// testingTB lets the OP sign outside a test's goroutine; signing with
// valid input cannot fail.
type testingTB struct{ testing.TB }

func (testingTB) Helper()                   {}
func (testingTB) Fatal(args ...any)         { panic(fmt.Sprint(args...)) }
func (testingTB) Fatalf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }

func fakeConfig(op *fakeOP) Config {
	return Config{Issuer: op.issuer, ClientID: op.clientID, ClientSecret: "secret", DefaultLevel: "silver"}
}

// fakeLoginToCallback starts a login at kgate and returns the callback
// URL the fake provider sends the browser back to.
func (b *browser) fakeLoginToCallback(k *kgate) string {
	b.t.Helper()
	p := b.Chase(b.Get(k.url("/apps/1")), atCallback)
	if !atCallback(mustParse(p.Location)) {
		b.t.Fatalf("no callback: %d %q %s", p.Status, p.Location, p.Body)
	}
	return p.Location
}

func doJSON(req *http.Request, v any) error {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
