package portal

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/kgate/kgate/internal/kintonesim"
)

func TestForbiddenPageShowsThePolicysReasonsInTheMembersLanguage(t *testing.T) {
	closed := func(reason any) func(map[string]any) {
		return func(d map[string]any) {
			d["apps"].(map[string]any)["members"].(map[string]any)["closed_reason"] = reason
		}
	}
	tests := []struct {
		name   string
		policy func(map[string]any) // nil: the demo policy
		lang   string
		want   string
	}{
		{"the demo policy in English", nil, "en", "<li>Member records are visible to the operator&#39;s staff only.</li>"},
		{"the demo policy in Japanese", nil, "ja", "<li>会員情報は運営スタッフのみが閲覧できます。</li>"},
		{"a policy's own Japanese", closed(map[string]any{"ja": "スタッフ専用です。", "en": "Staff only."}), "ja", "<li>スタッフ専用です。</li>"},
		{"a policy's own English", closed(map[string]any{"ja": "スタッフ専用です。", "en": "Staff only."}), "en", "<li>Staff only.</li>"},
		{"English only, on a Japanese page", closed(map[string]any{"en": "Staff only."}), "ja", "<li>Staff only.</li>"},
		{"Japanese only, on an English page", closed(map[string]any{"ja": "スタッフ専用です。"}), "en", "<li>スタッフ専用です。</li>"},
		{"a plain string, in any language", closed("Staff only."), "ja", "<li>Staff only.</li>"},
		{"the level reasons in Japanese", nil, "ja", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorldWith(t, worldOptions{policy: tt.policy})
			who, path, want := demoMember("bob"), "/apps/members", tt.want
			if want == "" { // a reason of kgate.rego's own, made with sprintf
				who.Level, path, want = "", "/apps/budget", "<li>あなたの会員レベルではアプリ「budget」を利用できません</li>"
			}
			r := w.get(t, who, path, "Accept-Language", tt.lang)
			if r.Code != http.StatusForbidden {
				t.Fatalf("status %d", r.Code)
			}
			mustContain(t, r.body, want)
		})
	}
}

func TestPolicyReasonsCanBeTranslatedByTheCatalogue(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "ja.json", `{"reason:Staff only.": "会員情報は運営スタッフのみ閲覧できます。"}`)
	w := newWorldWith(t, worldOptions{policy: func(d map[string]any) {
		d["apps"].(map[string]any)["members"].(map[string]any)["closed_reason"] = "Staff only."
	}}, func(c *Config) { c.MessagesDir = dir })
	r := w.get(t, demoMember("bob"), "/apps/members", "Accept-Language", "ja")
	mustContain(t, r.body, "<h1>アクセス権がありません</h1>", "<li>会員情報は運営スタッフのみ閲覧できます。</li>")
}

func TestErrorPagesForWhatDoesNotExist(t *testing.T) {
	w := newWorld(t)
	for _, path := range []string{"/nowhere", "/apps/nope", "/apps/nope/records/1", "/apps/budget/records/1/extra", "/apps/budget%2F..%2Fmembers"} {
		r := w.get(t, demoMember("alice"), path, "Accept-Language", "en")
		if r.Code != http.StatusNotFound {
			t.Errorf("%s: status %d", path, r.Code)
		}
		mustContain(t, r.body, "<h1>Not found</h1>", `<a class="button" href="/">`)
	}
}

func TestUnavailableKintoneGivesARetryHint(t *testing.T) {
	tests := []struct {
		name   string
		fault  kintonesim.Fault
		status int
	}{
		{"kintone down", kintonesim.Fault{Status: 503, Times: -1}, http.StatusServiceUnavailable},
		{"kintone over its limits", kintonesim.Fault{Status: 429, Times: -1}, http.StatusServiceUnavailable},
		{"kintone broken", kintonesim.Fault{Status: 500, Times: -1}, http.StatusBadGateway},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.sim.InjectFault(tt.fault)
			r := w.get(t, demoMember("alice"), "/apps/budget", "Accept-Language", "ja")
			if r.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", r.Code, tt.status, between(r.body, "<main", "</main>"))
			}
			if r.Header().Get("Retry-After") != "30" {
				t.Errorf("Retry-After %q", r.Header().Get("Retry-After"))
			}
			mustContain(t, r.body, "30 秒ほどしてから、もう一度お試しください。")
		})
	}
}

func TestServeErrorSpeaksTheRequestsLanguage(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		lang, reason, want string
	}{
		{"ja", "membership is inactive", "会員資格が無効になっています。"},
		{"en", "membership is inactive", "Your membership is inactive."},
		{"en", "something new", "something new"},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Accept-Language", tt.lang)
		w.h.ServeError(rec, req, http.StatusForbidden, tt.reason)
		if rec.Code != http.StatusForbidden {
			t.Fatalf("status %d", rec.Code)
		}
		mustContain(t, rec.Body.String(), `<html lang="`+tt.lang+`">`, "<li>"+tt.want+"</li>")
		mustNotContain(t, rec.Body.String(), `class="logout"`)
	}
}

func TestServeWithoutAnIdentityIsRefused(t *testing.T) {
	w := newWorld(t)
	r := w.get(t, nil, "/apps/budget", "Accept-Language", "en")
	if r.Code != http.StatusUnauthorized {
		t.Fatalf("status %d", r.Code)
	}
	mustNotContain(t, r.body, "Spring campaign")
}

// A person refused at login is still signed in at the provider under the
// refused account; the refusal offers a login under another one. Other
// failures of auth (a bad callback) do not.
func TestLoginRefusalOffersAnotherAccount(t *testing.T) {
	w := newWorld(t)
	link := `<a class="button" href="/kgate/login?account=choose&amp;return=%2F">`
	for _, tt := range []struct {
		lang   string
		status int
		want   string
	}{
		{"en", http.StatusForbidden, "Log in with another account"},
		{"ja", http.StatusForbidden, "別のアカウントでログイン"},
		{"en", http.StatusBadRequest, ""},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/kgate/callback", nil)
		req.Header.Set("Accept-Language", tt.lang)
		w.h.ServeError(rec, req, tt.status, "not a member")
		if tt.want == "" {
			mustNotContain(t, rec.Body.String(), link)
			continue
		}
		mustContain(t, rec.Body.String(), link+tt.want+"</a>")
	}
}
