package auth

import (
	"bufio"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

var testAllowed = []string{"portal.example.com", ".partners.example.com", "app.example.com:8443"}

// sharedTestdata finds /work/shared/testdata (a sibling of the repository).
func sharedTestdata(t testing.TB, name string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "testdata", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("test vectors missing: %v", err)
	}
	return p
}

func TestCheckReturnRejectsEveryOpenRedirectPayload(t *testing.T) {
	f, err := os.Open(sharedTestdata(t, "openredirects.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		target, err := url.QueryUnescape(line)
		if err != nil {
			target = line // an undecodable line is tried as it is
		}
		if got, err := CheckReturn(target, []string{"portal.example.com"}); err == nil {
			t.Errorf("line %d: %q accepted as %q", n, line, got)
		}
	}
	if n != 559 {
		t.Fatalf("read %d payloads, want 559", n)
	}
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
