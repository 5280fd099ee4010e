// Package download sends a member's file: the bytes kintone holds, with
// headers that keep the file from acting on kgate's origin whatever it
// holds. The API and the portal both send files through it, so the rules
// live in one place.
package download

import (
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/kgate/kgate/internal/gateway"
)

// CSP forbids everything a displayed file could do: no script, no loads,
// a sandboxed origin.
const CSP = "default-src 'none'; sandbox"

// inline are the types shown in the browser rather than saved: raster
// images, which browsers render without running anything.
var inline = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true, "image/bmp": true}

// active are types a browser would interpret as a document or script;
// they are sent as bytes.
var active = []string{"text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml",
	"text/javascript", "application/javascript", "application/ecmascript", "text/xsl", "multipart/"}

// Serve writes f to w and closes its body. The file is an attachment
// unless it is a raster image; X-Content-Type-Options keeps browsers to
// the type sent, and the CSP sandboxes the file should one display it.
func Serve(w http.ResponseWriter, r *http.Request, f *gateway.File) error {
	defer f.Body.Close()
	ctype := safeType(f.ContentType)
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", disposition(ctype, f.Name))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", CSP)
	h.Set("Cache-Control", "no-store")
	if f.Size >= 0 {
		h.Set("Content-Length", strconv.FormatInt(f.Size, 10))
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err := io.Copy(w, f.Body)
	return err
}

// safeType is the type to send: kintone's, unless a browser would run it
// or it does not parse.
func safeType(ctype string) string {
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		return "application/octet-stream"
	}
	for _, a := range active {
		if mt == a || (strings.HasSuffix(a, "/") && strings.HasPrefix(mt, a)) || strings.HasSuffix(mt, "+xml") {
			return "application/octet-stream"
		}
	}
	return mime.FormatMediaType(mt, params)
}

// disposition names the file (RFC 6266, with a UTF-8 name) as an
// attachment, or inline for a raster image.
func disposition(ctype, name string) string {
	kind := "attachment"
	if mt, _, _ := mime.ParseMediaType(ctype); inline[mt] {
		kind = "inline"
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '/' || r == '\\' {
			return -1
		}
		return r
	}, name)
	if name == "" {
		return kind
	}
	if v := mime.FormatMediaType(kind, map[string]string{"filename": name}); v != "" {
		return v
	}
	ascii := strings.Map(func(r rune) rune {
		if r > 0x7e || r < 0x20 || r == '"' || r == '%' || r == ';' || r == '\\' {
			return '_'
		}
		return r
	}, name)
	return kind + `; filename="` + ascii + `"; filename*=UTF-8''` + url.PathEscape(name)
}
