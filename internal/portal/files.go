package portal

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/kgate/kgate/internal/download"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/thumbnail"
)

// fileHref is the portal's download URL for a file token. The token is
// bound to the member it was issued to; the name only names the download.
func fileHref(token, name string) string {
	href := "/files/" + url.PathEscape(token)
	if name != "" {
		href += "?name=" + url.QueryEscape(name)
	}
	return href
}

// download streams a file through the gateway, which checks that the
// token was issued to this member, that the policy still allows
// file.read and that the record still holds the file; package download
// decides the headers, for the portal as for the API.
func (c *call) download(token string) {
	file, err := c.h.gw.DownloadFile(c.ctx, c.id, token)
	if err != nil {
		c.fail(err)
		return
	}
	download.Serve(c.w, c.r, file)
}

// thumbnail sends a thumbnail of an image file under the download's
// rules: the gateway checks the token, the policy's file.read and the
// record exactly as for /files (StatFile), and package download sends it
// with a download's headers. Only then is the cache, keyed by kintone's
// file key, consulted.
func (c *call) thumbnail(sizeName, token string) {
	size, ok := thumbSizes[sizeName]
	if !ok {
		c.errorPage(http.StatusNotFound, nil, nil)
		return
	}
	file, err := c.h.gw.StatFile(c.ctx, c.id, token)
	if err != nil {
		c.fail(err)
		return
	}
	if fileKind(file.ContentType) != "image" {
		c.errorPage(http.StatusNotFound, nil, nil)
		return
	}
	th, err := c.h.thumbs.Get(c.ctx, file.Key, size, file.Open)
	if err != nil {
		c.thumbnailFailed(err)
		return
	}
	download.Serve(c.w, c.r, &gateway.File{Name: thumbnailName(file.Name, th.ContentType), ContentType: th.ContentType,
		Size: int64(len(th.Body)), Body: io.NopCloser(bytes.NewReader(th.Body))})
}

// thumbnailName is the file's name with the extension of the thumbnail's
// type, which may differ from the file's (an opaque PNG becomes a JPEG).
func thumbnailName(name, ctype string) string {
	ext := ".jpg"
	if ctype == "image/png" {
		ext = ".png"
	}
	return strings.TrimSuffix(name, path.Ext(name)) + ext
}

// thumbnailFailed answers a file thumbnail refuses with 422 and the
// reason, in the member's language; other failures as any page's.
func (c *call) thumbnailFailed(err error) {
	var r *thumbnail.Refusal
	if !errors.As(err, &r) {
		c.fail(err)
		return
	}
	c.errorPage(http.StatusUnprocessableEntity, nil, []string{c.loc.T("thumbnail.refused." + r.Reason)})
}

// previewBody is an image's preview page.
type previewBody struct {
	Name, Kind    string
	Image         string // the preview-size thumbnail, "" when refused or not an image
	Width, Height int
	Refused       string // why there is no preview
	Download      string
	Back          string // the record the member came from, when named
}

// preview renders a file's preview page: the image at preview size, with
// its name as alternative text and a link to download it. The file is
// checked as a download is; the preview is made here, so that a file
// thumbnail refuses is said on the page rather than left a broken image.
func (c *call) preview(token string) {
	file, err := c.h.gw.StatFile(c.ctx, c.id, token)
	if err != nil {
		c.fail(err)
		return
	}
	body := &previewBody{Name: file.Name, Kind: fileKind(file.ContentType), Download: fileHref(token, file.Name)}
	q := c.r.URL.Query()
	if _, ok := c.h.gw.Ref(q.Get("app")); ok {
		if _, err := strconv.ParseUint(q.Get("record"), 10, 64); err == nil {
			body.Back = recordPath(q.Get("app"), q.Get("record"))
		}
	}
	if body.Kind == "image" {
		th, err := c.h.thumbs.Get(c.ctx, file.Key, thumbnail.PreviewSize, file.Open)
		var r *thumbnail.Refusal
		switch {
		case err == nil:
			body.Image, body.Width, body.Height = thumbnailHref(token, "preview"), th.Width, th.Height
		case errors.As(err, &r):
			body.Refused = c.loc.T("thumbnail.refused." + r.Reason)
		default:
			c.fail(err)
			return
		}
	}
	c.render(http.StatusOK, "preview", c.newPage(file.Name, body, crumb{Label: file.Name}))
}
