package portal

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// switchLang answers the language switch: POST lang=ja|en&return=<path>
// sets the language cookie and sends the browser back. It changes only a
// display preference, but it is still POST-only and same-origin, so no
// other site can flip it.
func (c *call) switchLang() {
	if c.r.Method != http.MethodPost {
		c.w.Header().Set("Allow", "POST")
		c.errorPage(http.StatusMethodNotAllowed, nil, nil)
		return
	}
	if !sameOrigin(c.r) {
		c.errorPage(http.StatusForbidden, nil, nil)
		return
	}
	c.r.Body = http.MaxBytesReader(c.w, c.r.Body, 4096)
	lang := supported(c.r.PostFormValue("lang"))
	if lang == "" {
		c.badRequest(c.loc.T("lang.bad"))
		return
	}
	http.SetCookie(c.w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: int((365 * 24 * time.Hour).Seconds()),
		HttpOnly: true, Secure: c.r.TLS != nil, SameSite: http.SameSiteLaxMode})
	http.Redirect(c.w, c.r, localReturn(c.r.PostFormValue("return")), http.StatusSeeOther)
}

// sameOrigin reports whether a browser says the request comes from this
// site: Sec-Fetch-Site when the browser sends it, else an Origin naming
// this host. A request with neither is refused.
func sameOrigin(r *http.Request) bool {
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" {
		return s == "same-origin"
	}
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return false
	}
	u, err := url.Parse(o)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

// localReturn keeps a return target only when it is a path on this site.
func localReturn(s string) string {
	u, err := url.Parse(s)
	if err != nil || s == "" || !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") ||
		strings.HasPrefix(s, "/\\") || u.Scheme != "" || u.Host != "" || strings.ContainsAny(s, "\\\r\n\t") {
		return "/"
	}
	return u.RequestURI()
}
