package portal

import (
	"html"
	"net/http"
	"regexp"
	"testing"

	"github.com/kgate/kgate/internal/download"
)

var fileLinkRE = regexp.MustCompile(`href="(/files/[^"]+)"`)

// downloadLink opens a record as who and returns its first download link.
func downloadLink(t *testing.T, w *world, who, record string) string {
	t.Helper()
	r := w.get(t, demoMember(who), record, "Accept-Language", "en")
	m := fileLinkRE.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("%s has no download link for %s", record, who)
	}
	return html.UnescapeString(m[1])
}

func TestFileDownloadsThroughThePortalForItsMemberOnly(t *testing.T) {
	w := newWorld(t)
	link := downloadLink(t, w, "alice", "/apps/budget/records/1")
	tests := []struct {
		who    string
		status int
	}{
		{"alice", http.StatusOK},
		{"bob", http.StatusNotFound},  // same organization, but the token was issued to alice
		{"dave", http.StatusNotFound}, // another organization
		{"sam", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.who, func(t *testing.T) {
			r := w.get(t, demoMember(tt.who), link, "Accept-Language", "en")
			if r.Code != tt.status {
				t.Fatalf("status %d, want %d", r.Code, tt.status)
			}
			if tt.status != http.StatusOK {
				mustNotContain(t, r.body, "Spring campaign flyers\nDesign")
				return
			}
			if r.body != "Quote / 見積書\nSpring campaign flyers\nDesign 120,000 JPY\nPrinting 80,000 JPY\nTotal 200,000 JPY\n" {
				t.Errorf("body %q", r.body)
			}
			h := r.Header()
			for k, want := range map[string]string{
				"Content-Disposition":     `attachment; filename=quote-flyers.txt`,
				"Content-Type":            "text/plain",
				"X-Content-Type-Options":  "nosniff",
				"Cache-Control":           "no-store",
				"Content-Security-Policy": download.CSP,
			} {
				if got := h.Get(k); got != want {
					t.Errorf("%s: %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestFileDownloadRefusesForgedTokens(t *testing.T) {
	w := newWorld(t)
	link := downloadLink(t, w, "alice", "/apps/budget/records/1")
	for _, path := range []string{"/files/not-a-token", "/files/" + link[len("/files/"):len("/files/")+20], link[:len(link)-30] + "AAAA"} {
		r := w.get(t, demoMember("alice"), path, "Accept-Language", "en")
		if r.Code != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", path, r.Code)
		}
	}
}
