package auth

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/kgate/kgate/internal/testbrowser"
)

// Demo mode serves plain http://localhost. Browsers treat localhost as a
// secure context, so the Secure, __Host- prefixed cookies still stick: this
// checks it in a real Chromium, through a whole login and a logout.
func TestDemoModeCookiesWorkInChromiumOnPlainHTTPLocalhost(t *testing.T) {
	browser := testbrowser.Chromium(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://localhost:" + portOf(l.Addr())
	op := startDevIDP(t, base+"/kgate/callback")
	cfg := devConfig(op)
	cfg.Demo, cfg.BaseURL, cfg.SessionKeys = true, base, [][]byte{testKey}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/kgate/", a)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		id, err := a.Identify(w, r)
		if err != nil {
			http.Redirect(w, r, a.LoginURL(r.URL.RequestURI()), http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<p id="who">hello ` + id.Subject + `</p><form method="post" action="/kgate/logout"><button id="out">out</button></form>`))
	})
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: mux}}
	srv.Start()
	defer srv.Close()

	ctx, cancel := context.WithTimeout(browser, 60*time.Second)
	defer cancel()

	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/apps/2"),
		chromedp.WaitVisible(chromedp.CSS("button")), // the demo provider's page: Alice comes first
		chromedp.Click(chromedp.CSS("button")),
		chromedp.WaitVisible(chromedp.CSS("#who")),
	)
	if err != nil {
		t.Fatalf("browser login: %v", err)
	}
	who, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#who")))
	if err != nil || who != "hello u-alice" {
		t.Fatalf("page says %q (%v)", who, err)
	}
	cookies, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) ([]*network.Cookie, error) {
		res, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/"}})
		return res.Cookies, err
	})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range cookies {
		if c.Name == SessionCookie {
			found = c.Secure && c.HTTPOnly && c.SameSite == network.CookieSameSiteLax && c.Path == "/" && !strings.HasPrefix(c.Domain, ".")
		}
	}
	if !found {
		t.Fatalf("Chromium did not keep %s with its attributes: %+v", SessionCookie, cookies)
	}

	// Logout from the page (a same-origin POST) ends the session.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#out")),
		chromedp.Sleep(500*time.Millisecond),
		chromedp.Navigate(base+"/apps/2"),
		chromedp.WaitVisible(chromedp.CSS("button")),
	)
	if err != nil {
		t.Fatalf("browser logout: %v", err)
	}
	url, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil || !strings.HasPrefix(url, op.p.Issuer()) {
		t.Fatalf("after logout a page should lead to the provider's login, got %s (%v)", url, err)
	}
}

func portOf(a net.Addr) string {
	_, port, _ := net.SplitHostPort(a.String())
	return port
}
