// Package portal is kgate's face for people: a branded, bilingual
// (Japanese/English) web site over the kintone apps a member may read. It
// renders pages on the server with html/template and calls the gateway
// directly, so it shows exactly what the API would return and nothing more.
//
// # Routes
//
//	GET  /                             home: the member and the apps they may read
//	GET  /apps/{alias}                 list: ?q= sort= dir= page= size= f.{field}= from.{field}= to.{field}=
//	GET  /apps/{alias}/records/{id}    record, with its comments (?comments= offset) and the writes the member may make
//	GET  /apps/{alias}/new             create form; POST creates the record
//	GET  /apps/{alias}/records/{id}/edit     edit form; POST saves it (pinned to the revision the form shows)
//	POST /apps/{alias}/records/{id}/status   runs a process action (action=, revision=)
//	GET  /apps/{alias}/records/{id}/delete   asks for confirmation; POST with confirm=yes deletes
//	POST /apps/{alias}/records/{id}/comments posts a comment
//	GET  /apps/{alias}/calendar        calendar: ?view=month|week&date=YYYY-MM-DD
//	GET  /apps/{alias}/export.csv      the list as CSV: the list's q= sort= dir= f.{field}= from.{field}= to.{field}=, every page
//	GET  /apps/{alias}/charts          charts over the list's records: the list's q= f.{field}= from.{field}= to.{field}=
//	GET  /apps/{alias}/gallery         gallery (cards), when configured: the list's parameters
//	GET  /files/{token}?name=          a file of a record, streamed through the gateway
//	GET  /thumbnails/{card|preview}/{token}  a thumbnail of an image file, checked as /files is
//	GET  /previews/{token}?app=&record=      an image file's preview page, with its download link
//	GET  /signup                       sign-up, for a person the members app does not know; POST files it as pending
//	GET  /view-as                      staff: choose a member to view the portal as; POST starts (email=) or stops (do=stop)
//	POST /lang                         language switch (public)
//	GET  /assets/{name}.{hash}.{ext}   stylesheets, script, logo, favicon (public)
//
// # Wiring
//
// The Caddy module decides which requests are pages. For a path where
// IsPublic is true it calls ServePublic, without an identity. For every
// other page it establishes the member's identity — redirecting to login
// when there is none — and calls Serve. Pages it must answer without an
// identity (a member auth refuses, a provider that is down) are rendered
// by ServeError, in the request's language.
//
// # Writes
//
// Every POST of a member must come from this site (Sec-Fetch-Site or
// Origin; the module checks it before the portal does) and carry the form
// token of the member's browser session and a fresh form key, so that a
// repeated submission is answered as the first one was (csrf.go,
// submissions.go). A write that succeeds redirects (POST-redirect-GET).
package portal

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // members' time zones must load on hosts without zoneinfo

	"go.uber.org/zap"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/thumbnail"
)

// backend is the part of the gateway the portal uses. It is the concrete
// *gateway.Gateway in production; tests wrap it to see what the portal
// asks for.
type backend interface {
	Ref(alias string) (gateway.AppRef, bool)
	App(ctx context.Context, id *identity.Identity, ref gateway.AppRef) (*gateway.AppInfo, error)
	Apps(ctx context.Context, id *identity.Identity, f gateway.AppsFilter) ([]*gateway.AppInfo, error)
	FormFields(ctx context.Context, id *identity.Identity, ref gateway.AppRef, lang string) (*gateway.Form, error)
	FormLayout(ctx context.Context, id *identity.Identity, ref gateway.AppRef) (*gateway.Layout, error)
	ListRecords(ctx context.Context, id *identity.Identity, req gateway.ListRequest) (*gateway.Page, error)
	RecordPage(ctx context.Context, id *identity.Identity, req gateway.RecordPageRequest) (*gateway.RecordPage, error)
	DownloadFile(ctx context.Context, id *identity.Identity, token string) (*gateway.File, error)
	CompiledQuery(ctx context.Context, id *identity.Identity, ref gateway.AppRef, query string) (string, error)
	CreateCursor(ctx context.Context, id *identity.Identity, req gateway.CursorRequest) (string, int64, error)
	GetCursor(ctx context.Context, id *identity.Identity, key string) (*gateway.Page, error)
	DeleteCursor(ctx context.Context, id *identity.Identity, key string) error
	LogExport(ctx context.Context, id *identity.Identity, ref gateway.AppRef, records int, err error)
	StatFile(ctx context.Context, id *identity.Identity, token string) (*gateway.File, error)
	FilesReadable(ctx context.Context, id *identity.Identity, ref gateway.AppRef, recordIDs []string) (map[string]bool, error)

	CreateAbilities(ctx context.Context, id *identity.Identity, ref gateway.AppRef) (*gateway.Abilities, error)
	AddRecord(ctx context.Context, id *identity.Identity, req gateway.AddRecordRequest) (*gateway.Written, error)
	UpdateRecord(ctx context.Context, id *identity.Identity, req gateway.UpdateRecordRequest) (*gateway.Written, error)
	DeleteRecords(ctx context.Context, id *identity.Identity, req gateway.DeleteRecordsRequest) error
	UpdateStatus(ctx context.Context, id *identity.Identity, req gateway.UpdateStatusRequest) (*gateway.Written, error)
	AddComment(ctx context.Context, id *identity.Identity, req gateway.AddCommentRequest) (string, error)
	UploadFile(ctx context.Context, id *identity.Identity, req gateway.UploadRequest) (string, error)

	ActionStates(ctx context.Context, id *identity.Identity, ref gateway.AppRef) ([]string, error)
	PolicyVersion(ctx context.Context) string
}

// pinner is the gateway's Pin: a page takes every decision under the
// policy version serving when the request arrived.
type pinner interface {
	Pin(ctx context.Context) context.Context
}

// AssetPrefix is where the portal's static files are served.
const AssetPrefix = "/assets/"

// langPath is the language switch's endpoint.
const langPath = "/lang"

// Handler serves the portal. It is safe for concurrent use.
type Handler struct {
	cfg      Config
	gw       backend
	log      *zap.Logger
	cats     map[string]catalog
	tz       *time.Location
	pages    map[string]*pageTemplate
	assets   *assets
	rich     *richText
	csp      string
	appCache *ttlCache
	charts   *ttlCache // what charts add up, by compiled query and chart
	counts   *ttlCache // the home page's counts (homecounts.go)
	visits   VisitStore
	guard    *formGuard
	subs     *submissions
	now      func() time.Time
	viewAs   ViewAs // nil unless EnableViewAs was called
	thumbs   *thumbnail.Maker
	// settingsPending holds the aliases of apps whose settings could not
	// be checked against their forms at load (see CheckSettings).
	settingsPending sync.Map
}

// New checks cfg, loads the catalogues, templates and assets, and returns
// a Handler. Configured colours that miss WCAG AA contrast are logged as
// warnings.
func New(cfg Config) (*Handler, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, gw: cfg.Gateway, log: cfg.Logger, rich: newRichText(), appCache: newTTLCache(time.Minute, 1024),
		charts: newTTLCache(chartTTL, chartCacheSize), counts: newTTLCache(countTTL, countMax), visits: cfg.Visits,
		guard: newFormGuard(cfg.formKeys()...), now: time.Now, thumbs: thumbnail.New(thumbnail.Options{})}
	h.subs = newSubmissions(func() time.Time { return h.now() }, cfg.Submissions)
	h.tz, _ = time.LoadLocation(cfg.TimeZone)
	var err error
	if h.cats, err = loadCatalogs(cfg.MessagesDir); err != nil {
		return nil, err
	}
	if h.pages, err = loadTemplates(cfg.Brand.TemplateDir); err != nil {
		return nil, err
	}
	if h.assets, err = h.loadAssets(); err != nil {
		return nil, err
	}
	h.csp = contentSecurityPolicy(cfg.FormActions)
	return h, nil
}

func (h *Handler) loadAssets() (*assets, error) {
	a := newAssets(AssetPrefix)
	for _, name := range []string{"portal.css", "portal.js", "app.svg"} {
		if err := a.addEmbedded(name); err != nil {
			return nil, err
		}
	}
	b := h.cfg.Brand
	th, err := newTheme(b.PrimaryColor, b.AccentColor)
	if err != nil {
		return nil, err
	}
	for _, p := range th.problems() {
		h.log.Warn("portal theme misses WCAG AA contrast", zap.String("problem", p))
	}
	status, problems, err := statusCSS(h.cfg.Apps)
	if err != nil {
		return nil, err
	}
	for _, p := range problems {
		h.log.Warn("portal status colour misses WCAG AA contrast", zap.String("problem", p))
	}
	if err := a.add("theme.css", ".css", append(th.css(), status...)); err != nil {
		return nil, err
	}
	if err := h.addAppImages(a); err != nil {
		return nil, err
	}
	for _, f := range []struct{ name, file, fallback string }{
		{"logo", b.Logo, "logo.svg"}, {"favicon", b.Favicon, "favicon.svg"}, {"custom.css", b.CustomCSS, ""},
	} {
		switch {
		case f.file != "":
			err = a.addFile(f.name, f.file)
		case f.fallback != "":
			var body []byte
			if body, err = staticFS.ReadFile("static/" + f.fallback); err == nil {
				err = a.add(f.name, ".svg", body)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return a, nil
}

// contentSecurityPolicy allows nothing but the site's own files: no inline
// script or style (themes are a generated stylesheet), no framing, no
// <base>, forms only to this site (and to the provider logout redirects
// to).
func contentSecurityPolicy(formActions []string) string {
	fa := "'self'"
	for _, o := range formActions {
		fa += " " + strings.TrimSuffix(o, "/")
	}
	return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; " +
		"base-uri 'none'; frame-ancestors 'none'; form-action " + fa
}

// IsPublic reports whether path is served without an identity: the static
// assets and the language switch.
func (h *Handler) IsPublic(path string) bool {
	return h.assets.match(path) || path == langPath
}

// ServePublic answers a request for which IsPublic is true.
func (h *Handler) ServePublic(w http.ResponseWriter, r *http.Request) {
	if h.assets.match(r.URL.Path) {
		h.assets.serve(w, r)
		return
	}
	c := h.newCall(w, r, nil)
	c.switchLang()
}

// Serve answers a page request of an identified member.
func (h *Handler) Serve(w http.ResponseWriter, r *http.Request, id *identity.Identity) {
	if id == nil {
		h.ServeError(w, r, http.StatusUnauthorized)
		return
	}
	if r.URL.Path == viewAsPath {
		h.newCall(w, r, id).viewAsPage()
		return
	}
	member, err := h.viewing(w, r, id)
	if err != nil {
		h.log.Warn("view as: the member could not be looked up", zap.Error(err))
		h.newCall(w, r, id).errorPage(http.StatusServiceUnavailable, nil, nil)
		return
	}
	if member == nil {
		h.newCall(w, r, id).route()
		return
	}
	c := h.newCall(w, r, member)
	c.viewer = id
	c.route()
}

// ServeError renders an error page for a request without an identity, in
// the language of the request (switch cookie, then Accept-Language): 403
// for a member auth refuses, with its reasons; 503 when the OpenID
// Provider is unavailable; any other status with its generic text.
func (h *Handler) ServeError(w http.ResponseWriter, r *http.Request, status int, reasons ...string) {
	c := h.newCall(w, r, nil)
	if status == http.StatusForbidden && len(reasons) == 1 && memberNotices[reasons[0]] != "" {
		c.memberNotice(status, reasons[0])
		return
	}
	if status == http.StatusForbidden {
		c.switchAccount = true
	}
	c.errorPage(status, reasons, nil)
}

// call is one request being answered.
type call struct {
	h   *Handler
	w   http.ResponseWriter
	r   *http.Request
	ctx context.Context
	// id is the member with Lang set to the page language, so that the
	// gateway's messages come in the language of the page.
	id *identity.Identity
	me *identity.Identity // as auth established it, for the header
	// viewer is the staff member while they view the portal as me (then
	// me.ViewedBy is their address), nil otherwise.
	viewer *identity.Identity
	loc    *locale
	token  string // the page's form token, once made
	// switchAccount offers, on the error page, a login under another
	// account: set for a person refused at login.
	switchAccount bool
	// applicant is, on the sign-up page, the person applying: the form
	// token is made for them.
	applicant *identity.Identity
}

func (h *Handler) newCall(w http.ResponseWriter, r *http.Request, id *identity.Identity) *call {
	lang := chooseLang(r, id, h.cfg.DefaultLang)
	c := &call{h: h, w: w, r: r, ctx: r.Context(), me: id}
	if p, ok := h.gw.(pinner); ok {
		c.ctx = p.Pin(c.ctx) // one policy version for every gateway call of the page
	}
	tz := h.tz
	if id != nil {
		cp := *id
		cp.Lang = lang
		c.id = &cp
		if id.TimeZone != "" {
			if l, err := time.LoadLocation(id.TimeZone); err == nil {
				tz = l
			}
		}
	}
	c.loc = &locale{Lang: lang, TZName: tz.String(), cat: h.cats[lang], tz: tz}
	h.securityHeaders(w)
	return c
}

// securityHeaders go on every page, error pages and redirects included: a
// member's page must never be kept by a shared cache.
func (h *Handler) securityHeaders(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", h.csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
}

// route dispatches a page request by its path and method.
func (c *call) route() {
	parts := strings.Split(strings.Trim(c.r.URL.EscapedPath(), "/"), "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			c.errorPage(http.StatusNotFound, nil, nil)
			return
		}
		parts[i] = u
	}
	page, methods := func() {}, "GET, HEAD"
	switch {
	case len(parts) == 1 && parts[0] == "":
		page = c.home
	case len(parts) == 2 && parts[0] == "apps":
		page = func() { c.list(parts[1]) }
	case len(parts) == 3 && parts[0] == "apps" && parts[2] == "calendar":
		page = func() { c.calendar(parts[1]) }
	case len(parts) == 3 && parts[0] == "apps" && parts[2] == "charts":
		page = func() { c.chartsPage(parts[1]) }
	case len(parts) == 3 && parts[0] == "apps" && parts[2] == "export.csv":
		page = func() { c.exportCSV(parts[1]) }
	case len(parts) == 3 && parts[0] == "apps" && parts[2] == "gallery":
		page = func() { c.gallery(parts[1]) }
	case len(parts) == 3 && parts[0] == "apps" && parts[2] == "new":
		page, methods = func() { c.create(parts[1]) }, "GET, HEAD, POST"
	case len(parts) == 4 && parts[0] == "apps" && parts[2] == "records":
		page = func() { c.record(parts[1], parts[3]) }
	case len(parts) == 5 && parts[0] == "apps" && parts[2] == "records":
		alias, id := parts[1], parts[3]
		switch parts[4] {
		case "edit":
			page, methods = func() { c.edit(alias, id) }, "GET, HEAD, POST"
		case "delete":
			page, methods = func() { c.remove(alias, id) }, "GET, HEAD, POST"
		case "status":
			page, methods = func() { c.statusAction(alias, id) }, "POST"
		case "comments":
			page, methods = func() { c.comment(alias, id) }, "POST"
		default:
			page = nil
		}
	case len(parts) == 2 && parts[0] == "files":
		page = func() { c.download(parts[1]) }
	case len(parts) == 3 && parts[0] == "thumbnails":
		page = func() { c.thumbnail(parts[1], parts[2]) }
	case len(parts) == 2 && parts[0] == "previews":
		page = func() { c.preview(parts[1]) }
	default:
		page = nil
	}
	switch {
	case page == nil:
		c.errorPage(http.StatusNotFound, nil, nil)
	case !slices.Contains(strings.Split(methods, ", "), c.r.Method):
		c.w.Header().Set("Allow", methods)
		c.errorPage(http.StatusMethodNotAllowed, nil, nil)
	default:
		page()
	}
}

// appPath and friends build the portal's URLs.
func appPath(alias string) string { return "/apps/" + url.PathEscape(alias) }

func recordPath(alias, id string) string { return appPath(alias) + "/records/" + url.PathEscape(id) }

func calendarPath(alias string) string { return appPath(alias) + "/calendar" }
