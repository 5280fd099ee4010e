package portal

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"time"
)

//go:embed static
var staticFS embed.FS

// asset is one static file: stylesheets, script, logo, favicon. Its URL
// carries a hash of its content, so it can be cached for a year and a new
// version is a new URL.
type asset struct {
	url   string
	body  []byte
	ctype string
}

// assets are served under a prefix without an identity; nothing in them
// is about a member.
type assets struct {
	prefix string
	byName map[string]*asset // logical name → asset
	byPath map[string]*asset // file name under the prefix → asset
}

func newAssets(prefix string) *assets {
	return &assets{prefix: prefix, byName: map[string]*asset{}, byPath: map[string]*asset{}}
}

// add registers body under a logical name such as "portal.css"; ext picks
// the content type.
func (a *assets) add(name, ext string, body []byte) error {
	ctype, ok := assetTypes[strings.ToLower(ext)]
	if !ok {
		return fmt.Errorf("portal: %s: unsupported file type %q", name, ext)
	}
	sum := sha256.Sum256(body)
	base := strings.TrimSuffix(name, path.Ext(name))
	file := base + "." + hex.EncodeToString(sum[:6]) + strings.ToLower(ext)
	as := &asset{url: a.prefix + file, body: body, ctype: ctype}
	a.byName[name], a.byPath[file] = as, as
	return nil
}

// addFile registers an operator's file (logo, favicon, custom CSS).
func (a *assets) addFile(name, file string) error {
	body, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("portal: %s: %w", name, err)
	}
	return a.add(name, path.Ext(file), body)
}

// addEmbedded registers a file of the portal's own.
func (a *assets) addEmbedded(name string) error {
	body, err := fs.ReadFile(staticFS, "static/"+name)
	if err != nil {
		return err
	}
	return a.add(name, path.Ext(name), body)
}

var assetTypes = map[string]string{
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".jpg":  "image/jpeg",
	".jpeg": "image/jpeg",
	".webp": "image/webp",
	".ico":  "image/x-icon",
}

// url returns the URL of a logical asset, "" when there is none.
func (a *assets) url(name string) string {
	if as := a.byName[name]; as != nil {
		return as.url
	}
	return ""
}

// match reports whether p is under the asset prefix.
func (a *assets) match(p string) bool { return strings.HasPrefix(p, a.prefix) }

// assetCSP keeps an asset opened on its own (an SVG logo, say) from
// running anything.
const assetCSP = "default-src 'none'; style-src 'self'; img-src 'self'; sandbox"

var assetEpoch = time.Unix(0, 0)

func (a *assets) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", assetCSP)
	h.Set("Referrer-Policy", "same-origin")
	as := a.byPath[strings.TrimPrefix(r.URL.Path, a.prefix)]
	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		h.Set("Allow", "GET, HEAD")
		h.Set("Cache-Control", "no-store")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	case as == nil:
		h.Set("Cache-Control", "no-store")
		http.Error(w, http.StatusText(http.StatusNotFound), http.StatusNotFound)
		return
	}
	h.Set("Content-Type", as.ctype)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", strconv.Quote(path.Base(as.url)))
	http.ServeContent(w, r, "", assetEpoch, bytes.NewReader(as.body))
}
