// Package testbrowser is a person's browser for tests that walk login
// flows over plain HTTP: it keeps cookies, and either follows redirects
// like a browser or takes them one hop at a time, so a test can look at
// each hop or take one itself.
package testbrowser

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Browser is one person's browser.
type Browser struct {
	t      testing.TB
	Client *http.Client
	Jar    *cookiejar.Jar
}

// Page is a response as the test sees it.
type Page struct {
	Status   int
	URL      *url.URL // the URL that answered (after redirects when following)
	Location string   // the Location header of a redirect
	Body     string
	Header   http.Header
}

// New returns a browser that stops at every redirect (see Chase). base,
// when not nil, is copied for its transport (a test server's TLS client).
func New(t testing.TB, base *http.Client) *Browser {
	b := newBrowser(t, base)
	b.Client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return b
}

// Following returns a browser that follows redirects as a browser does.
func Following(t testing.TB) *Browser { return newBrowser(t, nil) }

func newBrowser(t testing.TB, base *http.Client) *Browser {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Timeout: 30 * time.Second}
	if base != nil {
		*c = *base
	}
	c.Jar = jar
	return &Browser{t: t, Client: c, Jar: jar}
}

// Do sends req.
func (b *Browser) Do(req *http.Request) Page {
	b.t.Helper()
	resp, err := b.Client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return Page{Status: resp.StatusCode, URL: resp.Request.URL, Location: resp.Header.Get("Location"), Body: string(body), Header: resp.Header}
}

// Send makes a request with header name/value pairs.
func (b *Browser) Send(method, u, contentType, body string, header ...string) Page {
	b.t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return b.Do(req)
}

// Get fetches u.
func (b *Browser) Get(u string, header ...string) Page {
	b.t.Helper()
	return b.Send("GET", u, "", "", header...)
}

// PostForm posts form to u, as a browser submits an HTML form.
func (b *Browser) PostForm(u string, form url.Values, header ...string) Page {
	b.t.Helper()
	return b.Send("POST", u, "application/x-www-form-urlencoded", form.Encode(), header...)
}

// Chase follows redirects from p until a response is not one, or until
// stop says the next hop is one the test takes itself (its URL is then in
// Location, unvisited).
func (b *Browser) Chase(p Page, stop func(*url.URL) bool) Page {
	b.t.Helper()
	for i := 0; i < 20 && p.Status >= 300 && p.Status < 400; i++ {
		next, err := p.URL.Parse(p.Location)
		if err != nil {
			b.t.Fatalf("bad Location %q: %v", p.Location, err)
		}
		if stop != nil && stop(next) {
			p.Location = next.String()
			return p
		}
		p = b.Get(next.String())
	}
	return p
}

// Cookie returns the value of the cookie name the browser holds for site.
func (b *Browser) Cookie(site, name string) string {
	u, _ := url.Parse(site)
	for _, c := range b.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// SetCookie plants a cookie for site, as an attacker's or an old one.
func (b *Browser) SetCookie(site, name, value string) {
	u, _ := url.Parse(site)
	b.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/", Secure: true}})
}

// Fatalf ends the test that owns the browser.
func (b *Browser) Fatalf(format string, args ...any) {
	b.t.Helper()
	b.t.Fatalf(format, args...)
}
