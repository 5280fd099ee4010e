package download

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kgate/kgate/internal/gateway"
)

func TestFileNamesAreAttachmentsWhateverTheyAre(t *testing.T) {
	tests := []struct{ ctype, name, want string }{
		{"text/plain", "", "attachment"},
		{"application/pdf", "report.pdf", "attachment; filename=report.pdf"},
		{"application/pdf", "見積書.pdf", "attachment; filename*=utf-8''%E8%A6%8B%E7%A9%8D%E6%9B%B8.pdf"},
		{"text/plain", `a"b;c.html`, `attachment; filename="a\"b;c.html"`},
		{"text/plain", "../../etc/passwd", "attachment; filename=....etcpasswd"},
		{"text/plain", "evil\r\nSet-Cookie: x=1", `attachment; filename="evilSet-Cookie: x=1"`},
		{"image/png", "logo.png", "inline; filename=logo.png"},
		{"image/svg+xml", "logo.svg", "attachment; filename=logo.svg"},
	}
	for _, tt := range tests {
		if got := disposition(tt.ctype, tt.name); got != tt.want {
			t.Errorf("disposition(%q, %q) = %q, want %q", tt.ctype, tt.name, got, tt.want)
		}
	}
}

func TestFilesThatBrowsersWouldRunAreSentAsBytes(t *testing.T) {
	tests := []struct{ in, want string }{
		{"text/html", "application/octet-stream"},
		{"text/html; charset=utf-8", "application/octet-stream"},
		{"TEXT/HTML", "application/octet-stream"},
		{"image/svg+xml", "application/octet-stream"},
		{"application/xhtml+xml", "application/octet-stream"},
		{"application/rss+xml", "application/octet-stream"},
		{"text/xml", "application/octet-stream"},
		{"application/javascript", "application/octet-stream"},
		{"multipart/x-mixed-replace; boundary=x", "application/octet-stream"},
		{"not a type", "application/octet-stream"},
		{"", "application/octet-stream"},
		{"text/plain; charset=utf-8", "text/plain; charset=utf-8"},
		{"application/pdf", "application/pdf"},
		{"image/jpeg", "image/jpeg"},
	}
	for _, tt := range tests {
		if got := safeType(tt.in); got != tt.want {
			t.Errorf("safeType(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAnHTMLFileCannotRunOnKgatesOrigin(t *testing.T) {
	rec := httptest.NewRecorder()
	err := Serve(rec, httptest.NewRequest("GET", "/k/v1/file.json", nil), &gateway.File{
		Name: "page.html", ContentType: "text/html", Size: 27,
		Body: io.NopCloser(strings.NewReader("<script>alert(1)</script>\n\n")),
	})
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"Content-Type":            "application/octet-stream",
		"Content-Disposition":     "attachment; filename=page.html",
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": "default-src 'none'; sandbox",
		"Content-Length":          "27",
	} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if rec.Code != http.StatusOK || rec.Body.Len() != 27 {
		t.Errorf("%d, %d bytes", rec.Code, rec.Body.Len())
	}
}
