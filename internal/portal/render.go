package portal

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"go.uber.org/zap"
)

//go:embed templates
var templatesFS embed.FS

// pageNames are the pages; each is its own file defining "main", executed
// inside layout.html, with value.html's "value" available to all.
var pageNames = []string{"home", "list", "record", "calendar", "charts", "error", "form", "confirm", "viewas", "gallery", "preview", "signup"}

// sharedTemplates are parsed into every page.
var sharedTemplates = []string{"layout.html", "value.html", "app.html"}

// pageFiles are extra templates a page needs besides the shared ones.
var pageFiles = map[string][]string{"form": {"fields.html"}, "list": {"listparts.html"}, "gallery": {"listparts.html"},
	"preview": {"listparts.html"}}

type pageTemplate struct{ t *template.Template }

// loadTemplates parses every page; a file of the same name in dir (when
// given) replaces the embedded one.
func loadTemplates(dir string) (map[string]*pageTemplate, error) {
	read := func(name string) ([]byte, error) {
		if dir != "" {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err == nil {
				return b, nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("portal: template %s: %w", filepath.Join(dir, name), err)
			}
		}
		return fs.ReadFile(templatesFS, "templates/"+name)
	}
	out := map[string]*pageTemplate{}
	for _, page := range pageNames {
		t := template.New("layout")
		files := append(append(append([]string(nil), sharedTemplates...), pageFiles[page]...), page+".html")
		for _, name := range files {
			src, err := read(name)
			if err != nil {
				return nil, err
			}
			if _, err := t.New(name).Parse(string(src)); err != nil {
				return nil, fmt.Errorf("portal: template %s: %w", name, err)
			}
		}
		if t.Lookup("layout") == nil || t.Lookup("main") == nil {
			return nil, fmt.Errorf("portal: page %s needs templates \"layout\" and \"main\"", page)
		}
		out[page] = &pageTemplate{t: t}
	}
	return out, nil
}

// page is what every template gets.
type page struct {
	L      *locale
	Site   site
	Me     *member // nil on pages without an identity
	Lang   langSwitch
	Title  string  // the page's own title, before the site's
	Crumbs []crumb // breadcrumbs after Home
	Body   any
	ViewAs *viewAsBanner // while staff view the portal as a member
}

type site struct {
	Title, Home, Logo, Favicon, JS string
	CSS                            []string
	Footer                         string
	Links                          []link
}

type link struct{ Label, Href string }

type crumb struct{ Label, Href string }

type member struct {
	Name, Org, Level string
	Logout           logoutForm
}

type logoutForm struct {
	Action, TokenName, TokenValue string
}

type langSwitch struct {
	Action, Return string
	Options        []langOption
}

type langOption struct {
	Code, Label string
	Current     bool
}

// newPage fills what every page shows.
func (c *call) newPage(title string, body any, crumbs ...crumb) *page {
	h, lang := c.h, c.loc.Lang
	b := h.cfg.Brand
	p := &page{
		L: c.loc, Title: title, Body: body, Crumbs: crumbs,
		Site: site{
			Title: b.Title.In(lang), Home: "/", Logo: h.assets.url("logo"), Favicon: h.assets.url("favicon"),
			JS:     h.assets.url("portal.js"),
			CSS:    []string{h.assets.url("theme.css"), h.assets.url("portal.css")},
			Footer: b.FooterText.In(lang),
		},
		Lang: langSwitch{Action: langPath, Return: c.r.URL.RequestURI()},
	}
	if u := h.assets.url("custom.css"); u != "" {
		p.Site.CSS = append(p.Site.CSS, u)
	}
	for _, l := range b.FooterLinks {
		p.Site.Links = append(p.Site.Links, link{Label: l.Label.In(lang), Href: l.URL})
	}
	for _, code := range langs {
		p.Lang.Options = append(p.Lang.Options, langOption{Code: code, Label: h.cats[code]["lang.name"], Current: code == lang})
	}
	p.ViewAs = c.banner()
	if c.me != nil {
		p.Me = &member{Name: c.me.Name, Org: h.orgName(c.me.Org, lang), Level: h.levelName(c.me.Level, lang),
			Logout: logoutForm{Action: h.cfg.LogoutURL}}
		if p.Me.Name == "" {
			p.Me.Name = c.me.Email
		}
		if h.cfg.LogoutToken != nil {
			p.Me.Logout.TokenName, p.Me.Logout.TokenValue = h.cfg.LogoutToken(c.r)
		}
	}
	return p
}

func (h *Handler) orgName(code, lang string) string {
	if t, ok := h.cfg.Organizations[code]; ok && !t.Empty() {
		return t.In(lang)
	}
	return code
}

func (h *Handler) levelName(code, lang string) string {
	if t, ok := h.cfg.Levels[code]; ok && !t.Empty() {
		return t.In(lang)
	}
	return code
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render executes a page into a buffer first, so a template error never
// leaves half a page, and writes it with status.
func (c *call) render(status int, name string, p *page) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if err := c.h.pages[name].t.ExecuteTemplate(buf, "layout", p); err != nil {
		c.h.log.Error("portal template failed", zap.String("page", name), zap.Error(err))
		c.w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		c.w.WriteHeader(http.StatusInternalServerError)
		c.w.Write([]byte(c.loc.T("error.500.title") + "\n"))
		return
	}
	hd := c.w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Language", c.loc.Lang)
	hd.Set("Vary", "Cookie, Accept-Language")
	hd.Set("Content-Length", strconv.Itoa(buf.Len()))
	c.w.WriteHeader(status)
	if c.r.Method != http.MethodHead {
		c.w.Write(buf.Bytes())
	}
}
