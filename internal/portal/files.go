package portal

import (
	"net/url"

	"github.com/kgate/kgate/internal/download"
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
