package portal

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"

	"github.com/kgate/kgate/identity"
)

// Forms that change something carry a form token, on top of the
// same-origin check the module makes. The token is an HMAC, under a key
// only kgate holds, of the member's identity and of a random value kept
// in a cookie of the portal's own for the browser session:
//
//   - another site cannot read it (the page is same-origin, the cookie is
//     HttpOnly), nor make one without the key;
//   - it is good only with the cookie it was made for, so a token that
//     leaked does not outlive the browser session it belongs to;
//   - it is good only for the member it was made for, so a token or a
//     cookie planted by another member (or a sibling site) does not pass.
//
// The auth session itself cannot be the bound value: its cookie is
// re-sealed as it is used, and the portal only sees the identity.

// formCookie holds the browser session's random value. __Host- makes
// browsers insist on Secure, Path=/ and no Domain, so no sibling site can
// set it. It is SameSite=Lax rather than Strict: a member who follows a
// link from elsewhere must not arrive without it, or the page would make
// a new one and break the forms open in their other tabs.
const formCookie = "__Host-kgate-form"

// Hidden fields every state-changing form carries.
const (
	tokenField = "_token"
	idemField  = "_idem"
)

// formGuard makes and checks form tokens. The first key makes them; every
// key is accepted, so that the secret can be rotated without refusing the
// forms members have open.
type formGuard struct{ keys [][]byte }

// newFormGuard derives the HMAC keys from the configured secrets, the
// current one first, or makes a random one: forms rendered by another
// process are then refused, with a message that asks the member to reload.
func newFormGuard(secrets ...string) *formGuard {
	if len(secrets) == 0 {
		k := make([]byte, 32)
		rand.Read(k)
		return &formGuard{keys: [][]byte{k}}
	}
	g := &formGuard{}
	for _, s := range secrets {
		sum := sha256.Sum256([]byte("kgate portal form key\x00" + s))
		g.keys = append(g.keys, sum[:])
	}
	return g
}

func (g *formGuard) mac(id *identity.Identity, browser string) string {
	return macWith(g.keys[0], id, browser)
}

func macWith(key []byte, id *identity.Identity, browser string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("kgate form token v1\x00" + id.Issuer + "\x00" + id.Subject + "\x00" + browser))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// check reports whether token was made for this member and this browser
// session, under any of the keys.
func (g *formGuard) check(r *http.Request, id *identity.Identity, token string) bool {
	c, err := r.Cookie(formCookie)
	if err != nil || len(c.Value) < 32 || token == "" {
		return false
	}
	for _, k := range g.keys {
		if hmac.Equal([]byte(token), []byte(macWith(k, id, c.Value))) {
			return true
		}
	}
	return false
}

// formToken returns the token for the page's forms, setting the browser
// session's cookie when the request has none.
func (c *call) formToken() string {
	if c.token != "" {
		return c.token
	}
	browser := ""
	if ck, err := c.r.Cookie(formCookie); err == nil && len(ck.Value) >= 32 {
		browser = ck.Value
	} else {
		browser = randomKey(32)
		http.SetCookie(c.w, &http.Cookie{Name: formCookie, Value: browser, Path: "/", Secure: true, HttpOnly: true,
			SameSite: http.SameSiteLaxMode})
	}
	c.token = c.h.guard.mac(c.author(), browser)
	return c.token
}

// randomKey returns n random bytes, base64url-encoded.
func randomKey(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
