package portal

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/kgate/kgate/internal/download"
	"github.com/kgate/kgate/portalconfig"
)

// pageHeaders must be on every response the portal gives a member: pages,
// error pages, downloads and redirects.
var pageHeaders = map[string]string{
	"X-Content-Type-Options": "nosniff",
	"Referrer-Policy":        "same-origin",
	"Cache-Control":          "no-store",
	"X-Frame-Options":        "DENY",
}

// cspDirectives are the directives of the page policy.
var cspDirectives = []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'",
	"base-uri 'none'", "frame-ancestors 'none'", "form-action 'self'"}

func TestEveryResponseIsUncacheableAndLockedDown(t *testing.T) {
	w := newWorld(t)
	link := downloadLink(t, w, "alice", "/apps/budget/records/1")
	tests := []struct {
		name, path string
		status     int
	}{
		{"home", "/", 200},
		{"list", "/apps/budget", 200},
		{"record", "/apps/budget/records/1", 200},
		{"calendar", "/apps/schedule/calendar", 200},
		{"download", link, 200},
		{"bad request", "/apps/budget?sort=internal_note", 400},
		{"forbidden", "/apps/members", 403},
		{"not found", "/nowhere", 404},
		{"unknown app", "/apps/nope", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := w.get(t, demoMember("alice"), tt.path)
			if r.Code != tt.status {
				t.Fatalf("status %d, want %d", r.Code, tt.status)
			}
			checkPageHeaders(t, r.Header(), tt.name != "download")
		})
	}
	t.Run("method not allowed", func(t *testing.T) {
		r := w.do(t, demoMember("alice"), httptest.NewRequest(http.MethodPost, "/apps/budget", nil))
		if r.Code != http.StatusMethodNotAllowed || r.Header().Get("Allow") != "GET, HEAD" {
			t.Fatalf("status %d, Allow %q", r.Code, r.Header().Get("Allow"))
		}
		checkPageHeaders(t, r.Header(), true)
	})
	t.Run("language switch redirect", func(t *testing.T) {
		r := w.post(t, "/lang", url.Values{"lang": {"en"}, "return": {"/apps/budget"}}, "Sec-Fetch-Site", "same-origin")
		if r.Code != http.StatusSeeOther {
			t.Fatalf("status %d", r.Code)
		}
		checkPageHeaders(t, r.Header(), true)
	})
	t.Run("error without identity", func(t *testing.T) {
		rec := httptest.NewRecorder()
		w.h.ServeError(rec, httptest.NewRequest(http.MethodGet, "/", nil), http.StatusForbidden, "membership is inactive")
		if rec.Code != http.StatusForbidden {
			t.Fatalf("status %d", rec.Code)
		}
		checkPageHeaders(t, rec.Header(), true)
	})
}

func checkPageHeaders(t *testing.T, h http.Header, page bool) {
	t.Helper()
	for k, want := range pageHeaders {
		if got := h.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	csp := h.Get("Content-Security-Policy")
	if !page {
		if csp != download.CSP {
			t.Errorf("download CSP %q", csp)
		}
		return
	}
	for _, d := range cspDirectives {
		if !strings.Contains(csp, d) {
			t.Errorf("CSP %q lacks %q", csp, d)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q allows something unsafe", csp)
	}
}

func TestFormActionsAllowTheProvidersLogoutRedirect(t *testing.T) {
	w := newWorld(t, func(c *Config) { c.FormActions = []string{"https://idp.example/"} })
	r := w.get(t, demoMember("alice"), "/")
	if csp := r.Header().Get("Content-Security-Policy"); !strings.HasSuffix(csp, "form-action 'self' https://idp.example") {
		t.Errorf("CSP %q", csp)
	}
	for _, bad := range []string{"javascript:alert(1)", "https://idp.example/path", "idp.example", "'unsafe-inline'"} {
		cfg := Config{Gateway: w.gw, Config: portalconfig.Config{FormActions: []string{bad}}}
		if _, err := New(cfg); err == nil {
			t.Errorf("form action %q accepted", bad)
		}
	}
}

func TestAssetsAreFingerprintedAndCachedForAYear(t *testing.T) {
	w := newWorld(t)
	page := w.get(t, demoMember("alice"), "/")
	for _, name := range []string{"portal.css", "theme.css", "portal.js", "logo", "favicon"} {
		u := w.h.assets.url(name)
		if !strings.HasPrefix(u, AssetPrefix) || !strings.Contains(page.body, u) {
			t.Errorf("%s: URL %q is not used by the page", name, u)
			continue
		}
		r := w.get(t, nil, u)
		if r.Code != http.StatusOK || r.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" ||
			r.Header().Get("X-Content-Type-Options") != "nosniff" || r.Header().Get("Content-Security-Policy") != assetCSP {
			t.Errorf("%s: status %d, headers %v", u, r.Code, r.Header())
		}
	}
	for _, path := range []string{AssetPrefix + "portal.css", AssetPrefix + "portal.000000000000.css", AssetPrefix + "../portal.go"} {
		if r := w.get(t, nil, path); r.Code != http.StatusNotFound || r.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s: status %d", path, r.Code)
		}
	}
}

func TestBrandFilesAndColoursAreServedAsAssets(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "logo.png", "\x89PNG fake")
	writeFile(t, dir, "brand.css", ".brand{letter-spacing:1px}")
	w := newWorld(t, func(c *Config) {
		c.Brand.Logo, c.Brand.CustomCSS = dir+"/logo.png", dir+"/brand.css"
		c.Brand.PrimaryColor, c.Brand.AccentColor = "#004d40", "#6a1b9a"
		c.Brand.FooterText = Text{En: "© Example Co."}
		c.Brand.FooterLinks = []Link{{Label: Text{En: "Privacy"}, URL: "https://example.com/privacy"}}
	})
	page := w.get(t, demoMember("alice"), "/", "Accept-Language", "en")
	logo, custom, theme := w.h.assets.url("logo"), w.h.assets.url("custom.css"), w.h.assets.url("theme.css")
	if !strings.HasSuffix(logo, ".png") {
		t.Errorf("logo URL %q", logo)
	}
	mustContain(t, page.body, `<img src="`+logo+`"`, `<link rel="stylesheet" href="`+custom+`">`,
		"© Example Co.", `<a href="https://example.com/privacy">Privacy</a>`)
	mustContain(t, w.get(t, nil, theme).body, "--primary:#004d40", "--accent:#6a1b9a", "--on-primary:#ffffff")
	if r := w.get(t, nil, custom); r.body != ".brand{letter-spacing:1px}" || r.Header().Get("Content-Type") != "text/css; charset=utf-8" {
		t.Errorf("custom CSS %q, %q", r.body, r.Header().Get("Content-Type"))
	}
}
