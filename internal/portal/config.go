package portal

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/kgate/kgate/internal/auth"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/portalconfig"
)

// Config wires a portal Handler: the configuration a Caddy config holds
// and what kgate wires in. Only Gateway is required; everything else has a
// default that gives a working, accessible, bilingual site.
type Config struct {
	portalconfig.Config

	Gateway *gateway.Gateway

	// LogoutToken, when set, returns a hidden form field (name, value) the
	// logout endpoint requires as an anti-CSRF token. kgate's auth checks
	// the Origin of the POST instead and needs none.
	LogoutToken func(r *http.Request) (name, value string)
	// SwitchAccountURL starts a login in which the provider asks which
	// account to use; the page refusing a login links to it.
	SwitchAccountURL string
	// Submissions, when set, shares the memory of submitted forms among
	// the instances that share it (Redis), so that a form sent twice is
	// written once whichever instances the two reach.
	Submissions Ledger
	// Visits keeps when each member last came to the home page, which
	// says what is new to them: the session store (auth's memory or
	// Redis store). Default: a store in this process.
	Visits VisitStore

	Logger *zap.Logger
}

// The configuration's parts, under the names the portal's code uses.
type (
	Text        = portalconfig.Text
	AppSettings = portalconfig.AppSettings
	Chart       = portalconfig.Chart
	Gallery     = portalconfig.Gallery
	Brand       = portalconfig.Brand
	Link        = portalconfig.Link
)

// formKeys are the form secrets, the current one first. An empty previous
// key (an unset environment variable) is none.
func (c *Config) formKeys() []string {
	if c.FormKey == "" {
		return nil
	}
	keys := []string{c.FormKey}
	for _, k := range c.PreviousFormKeys {
		if k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}

func (c *Config) setDefaults() error {
	if c.Gateway == nil {
		return errors.New("portal: a gateway is required")
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	if c.Visits == nil {
		c.Visits = auth.NewMemoryStore()
	}
	if c.LogoutURL == "" {
		c.LogoutURL = "/kgate/logout"
	}
	if c.SwitchAccountURL == "" {
		c.SwitchAccountURL = "/kgate/login?account=choose&return=%2F"
	}
	if c.TimeZone == "" {
		c.TimeZone = "Asia/Tokyo"
	}
	if _, err := time.LoadLocation(c.TimeZone); err != nil {
		return fmt.Errorf("portal: time zone %q: %w", c.TimeZone, err)
	}
	switch c.DefaultLang {
	case "":
		c.DefaultLang = "ja"
	case "ja", "en":
	default:
		return fmt.Errorf("portal: default language %q: want ja or en", c.DefaultLang)
	}
	if c.FormKey == "" && len(c.PreviousFormKeys) > 0 {
		return errors.New("portal: previous form keys without a current form key")
	}
	for _, k := range c.formKeys() {
		if len(k) < 32 {
			return errors.New("portal: form key: want at least 32 characters")
		}
	}
	if c.MaxFormSize <= 0 {
		c.MaxFormSize = 32 << 20
	}
	if len(c.PageSizes) == 0 {
		c.PageSizes = []int{20, 50, 100}
	}
	for i, n := range c.PageSizes {
		if n < 1 || n > 500 || i > 0 && n <= c.PageSizes[i-1] {
			return fmt.Errorf("portal: page sizes %v: want increasing sizes from 1 to 500", c.PageSizes)
		}
	}
	if c.Brand.Title.Empty() {
		c.Brand.Title = Text{En: "kgate"}
	}
	for _, l := range c.Brand.FooterLinks {
		if !safeLink(l.URL) {
			return fmt.Errorf("portal: footer link %q: want an http(s) or mailto URL, or a path", l.URL)
		}
	}
	for _, o := range c.FormActions {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.TrimSuffix(u.Path, "/") != "" {
			return fmt.Errorf("portal: form action %q: want an origin such as https://idp.example", o)
		}
	}
	for alias := range c.Apps {
		if _, ok := c.Gateway.Ref(alias); !ok {
			return fmt.Errorf("portal: settings for app %q, which kgate does not open", alias)
		}
	}
	return nil
}

// safeLink reports whether a configured link is one the portal may print:
// an absolute http(s) or mailto URL, or a path on this site.
func safeLink(s string) bool {
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "http", "https":
		return u.Host != ""
	case "mailto":
		return u.Opaque != ""
	case "":
		return u.Host == "" && strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//")
	}
	return false
}
