package auth

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

var testAllowed = []string{"portal.example.com", ".partners.example.com", "app.example.com:8443"}

// openRedirects builds the open-redirect payloads the return-path check
// must refuse or confine to kgate's own hosts: prefixes that browsers read
// as a new authority (slashes and backslashes in every mix, schemes with
// and without slashes, tabs and newlines browsers strip), hosts that hide
// a foreign host behind userinfo, dots, fragments or look-alike characters,
// and the same again percent-encoded once and twice.
func openRedirects() []string {
	prefixes := []string{"//", "///", "////", `\\`, `/\\`, `\\/`, `\\\\`, "/%2f", "/%5c", "%2f%2f", "%5c%5c",
		"https:", "https:/", "https://", "http://", "HTTPS://", "hTtPs://", "https:\\\\", "//:", ":/",
		" //", "\t//", "\n//", "/\t/", "/%09/", "/%0a/", "/%0d/", "//%09", "/%20/", "\x00//", "%00//",
		"javascript://", "data://", "ftp://", "ws://", "wss://", "/.//", "/./", "/../", "%2e%2e/"}
	hosts := []string{"evil.example", "portal.example.com.evil.example", "portal.example.com@evil.example",
		"evil.example\\@portal.example.com", "evil.example%23@portal.example.com", "evil.example?.portal.example.com",
		"evil.example#.portal.example.com", "evil.example%2f.portal.example.com", "portal.example.com%2eevil.example",
		"evil。example", "evil%E3%80%82example", "ⓔvil.example", "[::1]", "127.0.0.1", "0x7f.1", "2130706433",
		"evil.example:443", "portal.example.com:x@evil.example", "portal.example.com%40evil.example",
		"evil.example\u200b", "xn--evl-6ka.example", "evil.example%00.portal.example.com"}
	suffixes := []string{"", "/", "/apps/2", "?next=/", "#/", "%2f.."}
	var out []string
	for _, p := range prefixes {
		for _, h := range hosts {
			for _, s := range suffixes {
				raw := p + h + s
				out = append(out, raw, url.QueryEscape(raw), url.QueryEscape(url.QueryEscape(raw)))
			}
		}
	}
	return append(out, "", "/", "javascript:alert(1)", "data:text/html,<script>x</script>", "https:evil.example")
}

// landsOn resolves a target against kgate's own page the way a browser
// would (tabs and newlines stripped, backslashes as slashes, surrounding
// spaces and controls trimmed) and returns the host it reaches.
func landsOn(target string) (string, bool) {
	t := strings.Map(func(r rune) rune {
		switch r {
		case '\t', '\n', '\r':
			return -1
		case '\\':
			return '/'
		}
		return r
	}, target)
	t = strings.TrimFunc(t, func(r rune) bool { return r <= ' ' })
	base, _ := url.Parse("https://portal.example.com/login")
	ref, err := url.Parse(t)
	if err != nil {
		return "", false
	}
	u := base.ResolveReference(ref)
	return u.Scheme + "://" + u.Host, true
}

func TestCheckReturnConfinesEveryOpenRedirectPayloadToKgatesHost(t *testing.T) {
	payloads := openRedirects()
	refused := 0
	for _, target := range payloads {
		got, err := CheckReturn(target, []string{"portal.example.com"})
		if err != nil {
			refused++
			continue
		}
		// Accepted: it must land on kgate's own host as it is, and as the
		// next hop would read it after decoding it once more.
		for _, form := range []string{got, unescaped(got)} {
			if host, ok := landsOn(form); !ok || host != "https://portal.example.com" {
				t.Errorf("%q accepted as %q, which a browser takes to %q", target, got, host)
			}
		}
	}
	if len(payloads) < 5000 || refused < len(payloads)*9/10 {
		t.Fatalf("%d payloads, %d refused: the corpus is not doing its job", len(payloads), refused)
	}
	t.Logf("%d payloads, %d refused, the rest stay on kgate's host", len(payloads), refused)
}

func unescaped(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

func TestCheckReturnAcceptsSafeTargets(t *testing.T) {
	for _, target := range []string{
		"/",
		"/apps/2",
		"/apps/2/records?query=status%20in%20(%22Draft%22)&page=2",
		"/k/v1/records.json?app=2#top",
		"/members/alice%40acme.example",
		"/ja/%E4%BA%88%E7%AE%97",
		"/予算",
		"https://portal.example.com/",
		"https://portal.example.com/apps/2?x=1",
		"https://a.partners.example.com/x",
		"https://app.example.com:8443/x",
		"https://PORTAL.example.com/",
	} {
		got, err := CheckReturn(target, testAllowed)
		if err != nil || got != target {
			t.Errorf("CheckReturn(%q) = %q, %v; want it accepted unchanged", target, got, err)
		}
	}
}

func TestCheckReturnRejectsLookalikesAndTricks(t *testing.T) {
	for _, target := range []string{
		"",
		"//evil.example",
		"/\\evil.example",
		"/%2fevil.example",
		"/%5Cevil.example",
		"/a/%2e%2e/b",
		"/a/../b",
		"/./x",
		"/a?next=http://evil.example",
		"/a\tb",
		"/a\u200bb",
		"/a b",
		"/%0aevil",
		"/%252f",
		"/%",
		"/%zz",
		"http://portal.example.com/",          // plain http
		"https://portal.example.com.evil.io/", // allowed name as a prefix
		"https://evilportal.example.com/",     // allowed name as a suffix
		"https://partners.example.com/",       // the dot entry is for subdomains only
		"https://xpartners.example.com/",
		"https://portal.example.com./",
		"https://portal.example.com:444/", // another port
		"https://app.example.com/",        // entry names a port
		"https://user@portal.example.com/",
		"https://portal.example.com@evil.example/",
		"https:portal.example.com",
		"https:/portal.example.com",
		"javascript:alert(1)",
		"data:text/html,x",
		"apps/2",
		"/" + string(make([]byte, MaxReturnLen)),
	} {
		if got, err := CheckReturn(target, testAllowed); err == nil {
			t.Errorf("CheckReturn(%q) accepted as %q", target, got)
		}
	}
}

func TestSameOrigin(t *testing.T) {
	const origin = "https://portal.example.com"
	for _, tc := range []struct {
		name    string
		headers map[string]string
		want    bool
	}{
		{"matching Origin", map[string]string{"Origin": origin}, true},
		{"Sec-Fetch-Site same-origin", map[string]string{"Sec-Fetch-Site": "same-origin"}, true},
		{"both agree", map[string]string{"Origin": origin, "Sec-Fetch-Site": "same-origin"}, true},
		{"no headers", nil, false},
		{"foreign Origin", map[string]string{"Origin": "https://evil.example"}, false},
		{"null Origin", map[string]string{"Origin": "null"}, false},
		{"same-site is not enough", map[string]string{"Sec-Fetch-Site": "same-site"}, false},
		{"cross-site", map[string]string{"Sec-Fetch-Site": "cross-site"}, false},
		{"Origin right, fetch site wrong", map[string]string{"Origin": origin, "Sec-Fetch-Site": "cross-site"}, false},
		{"fetch site right, Origin wrong", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "same-origin"}, false},
		{"other scheme", map[string]string{"Origin": "http://portal.example.com"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "https://portal.example.com/x", nil)
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			if got := SameOrigin(r, origin); got != tc.want {
				t.Fatalf("SameOrigin = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRequireSameOriginBlocksUnsafeCrossSiteRequests(t *testing.T) {
	reached := 0
	h := RequireSameOrigin("https://portal.example.com", httpHandlerFunc(func() { reached++ }))
	for _, tc := range []struct {
		method, origin string
		want           int
	}{
		{"GET", "https://evil.example", 200},
		{"POST", "https://evil.example", 403},
		{"DELETE", "", 403},
		{"POST", "https://portal.example.com", 200},
	} {
		r := httptest.NewRequest(tc.method, "https://portal.example.com/x", nil)
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.want {
			t.Errorf("%s from %q: status %d, want %d", tc.method, tc.origin, w.Code, tc.want)
		}
	}
	if reached != 2 {
		t.Fatalf("handler reached %d times, want 2", reached)
	}
}
