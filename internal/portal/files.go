package portal

import (
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
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

// downloadCSP keeps a downloaded file from running anything should a
// browser display it anyway.
const downloadCSP = "default-src 'none'; sandbox"

// download streams a file through the gateway, which checks that the
// token was issued to this member, that the policy still allows
// file.read and that the record still holds the file. The file is always
// an attachment: served from this origin, an HTML or SVG file shown
// inline could run script with the member's session.
func (c *call) download(token string) {
	resp, err := c.h.gw.DownloadFile(c.ctx, c.id, token)
	if err != nil {
		c.fail(err)
		return
	}
	defer resp.Body.Close()
	h := c.w.Header()
	h.Set("Content-Security-Policy", downloadCSP)
	ctype := "application/octet-stream"
	if mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err == nil {
		ctype = mime.FormatMediaType(mt, params)
	}
	h.Set("Content-Type", ctype)
	if n, err := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64); err == nil && n >= 0 {
		h.Set("Content-Length", strconv.FormatInt(n, 10))
	}
	h.Set("Content-Disposition", attachment(c.r.URL.Query().Get("name")))
	c.w.WriteHeader(http.StatusOK)
	if c.r.Method != http.MethodHead {
		io.Copy(c.w, resp.Body)
	}
}

// attachment is a Content-Disposition naming the file, with an ASCII
// fallback and the UTF-8 name (RFC 6266).
func attachment(name string) string {
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '/' || r == '\\' {
			return -1
		}
		return r
	}, name)
	if name == "" {
		return "attachment"
	}
	if v := mime.FormatMediaType("attachment", map[string]string{"filename": name}); v != "" {
		return v
	}
	ascii := strings.Map(func(r rune) rune {
		if r > 0x7e || r == '"' || r == '%' || r == ';' {
			return '_'
		}
		return r
	}, name)
	return `attachment; filename="` + ascii + `"; filename*=UTF-8''` + url.PathEscape(name)
}
