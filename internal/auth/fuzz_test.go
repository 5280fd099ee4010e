package auth

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// Whatever a client puts in the session cookie, Identify answers "no
// identity" without panicking, unless the value was sealed by kgate.
func FuzzSessionCookie(f *testing.F) {
	a, err := New(Config{Issuer: "https://op.example.com", ClientID: "c", ClientSecret: "s",
		BaseURL: "https://portal.example.com", SessionKeys: [][]byte{testKey}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(a.cookieSeal.seal(SessionCookie, []byte(`{"s":"x","g":1}`)))
	f.Add(a.cookieSeal.seal(SessionCookie, []byte(`not json`)))
	f.Add("AQAAAAA")
	f.Add("")
	f.Fuzz(func(t *testing.T, v string) {
		r := httptest.NewRequest("GET", "https://portal.example.com/", nil)
		r.Header.Set("Cookie", SessionCookie+"="+v)
		if _, err := a.Identify(httptest.NewRecorder(), r); err == nil {
			t.Fatalf("identified from %q", v)
		}
	})
}

// Whatever CheckReturn accepts stays on this site or goes to an allowed
// host over https.
func FuzzCheckReturn(f *testing.F) {
	for _, s := range []string{"/", "/apps/2?x=1", "//evil", "/\\evil", "https://portal.example.com/x",
		"https://a.partners.example.com/", "/%2f%2fevil", "javascript:alert(1)", "/a\tb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		got, err := CheckReturn(target, testAllowed)
		if err != nil {
			return
		}
		u, perr := url.Parse(got)
		switch {
		case perr != nil:
			t.Fatalf("accepted unparseable %q", got)
		case strings.HasPrefix(got, "/"):
			if u.Host != "" || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\t\r\n ") {
				t.Fatalf("accepted %q, which leaves the site", got)
			}
		case u.Scheme != "https" || !hostAllowed(u.Host, testAllowed):
			t.Fatalf("accepted %q for host %q", got, u.Host)
		}
	})
}
