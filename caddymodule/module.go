// Package caddymodule is the Caddy glue of kgate: the http.handlers.kgate
// module, its JSON and Caddyfile configuration, and the wiring of kgate's
// parts in Provision. Everything that decides anything lives in internal/.
package caddymodule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/admission"
	"github.com/kgate/kgate/internal/api"
	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/auditsink"
	"github.com/kgate/kgate/internal/auth"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/mail"
	"github.com/kgate/kgate/internal/members"
	"github.com/kgate/kgate/internal/notify"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/portal"
	"github.com/kgate/kgate/portalconfig"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler is the kgate HTTP handler. It answers kintone's REST API paths
// for identities its identity source establishes and passes every other
// request to the next handler.
type Handler struct {
	// Kintone is the kintone domain kgate calls.
	Kintone Kintone `json:"kintone"`
	// Apps are the kintone apps kgate opens. Nothing else is reachable.
	Apps []App `json:"apps,omitempty"`
	// Policy is where the Rego policies are.
	Policy Policy `json:"policy"`
	// IdentityRaw is the module that tells who is asking (namespace
	// kgate.identity).
	IdentityRaw json.RawMessage `json:"identity,omitempty" caddy:"namespace=kgate.identity inline_key=source"`
	// OIDC is login through an OpenID Provider, sessions and bearer
	// tokens: the identity source of a real deployment.
	OIDC *OIDC `json:"oidc,omitempty"`
	// Members is the members app profiles are looked up in.
	Members *Members `json:"members,omitempty"`
	// AuditApp, when set, is a kintone app the audit events are also
	// written into (audit.go).
	AuditApp *AuditApp `json:"audit_app,omitempty"`
	// Mail is the SMTP server and queue of kgate's e-mail (mail.go);
	// without it kgate sends none.
	Mail *Mail `json:"mail,omitempty"`
	// Portal is the partner portal; without it kgate serves only the API
	// and passes other requests on.
	Portal *portalconfig.Config `json:"portal,omitempty"`
	// Notify mails members when records they may read change, on
	// kintone's webhooks (notify.go).
	Notify *Notify `json:"notify,omitempty"`
	// MaxBody caps JSON request bodies of writes (default 16 MiB); the
	// same as limits.max_body, kept for older configurations.
	MaxBody int64 `json:"max_body,omitempty"`
	// Limits bound what requests may hold, per request, per member and in
	// total.
	Limits *Limits `json:"limits,omitempty"`
	// FileTokenTTL is how long the file tokens in records stay valid
	// (default 1h).
	FileTokenTTL caddy.Duration `json:"file_token_ttl,omitempty"`
	// UploadTokenTTL is how long an upload token stays valid (default 1h,
	// at most 72h: kintone drops unattached uploads after three days).
	UploadTokenTTL caddy.Duration `json:"upload_token_ttl,omitempty"`
	// FileKeys seal file and upload tokens: base64 secrets of 32 bytes or
	// more (placeholders such as {env.KGATE_FILE_KEY}); the first seals,
	// every one opens, so a key can be rotated. Without them a random key
	// is made and tokens die with the process; instances sharing sessions
	// through Redis must share them, and are refused without them.
	FileKeys []string `json:"file_keys,omitempty"`

	identity   IdentitySource
	auth       *auth.Auth
	authPrefix string
	engine     *policy.Engine
	api        *api.Handler
	portal     *portal.Handler
	gate       *admission.Gate
	logger     *zap.Logger
	// redis is the client of the Redis that sessions and comment authors
	// live in, closed at Cleanup so that config reloads do not pile up
	// connection pools.
	redis *redis.Client
	// client is kgate's one kintone client; Cleanup stops its background
	// work (the shared cap, the counters, the refusal log).
	client *kintone.Client
	// audit is the one audit logger; auditSink, with an audit app, the
	// queue it also writes to, flushed at Cleanup.
	audit     *audit.Logger
	auditSink *auditsink.Sink
	// notifier answers kintone's webhooks; stopNotify ends its digest
	// loop at Cleanup.
	notifier   *notify.Notifier
	stopNotify context.CancelFunc
	// outbox delivers kgate's e-mail; nil without a mail block. Parts
	// that send mail take h.mailOutbox(), a mail.Outbox.
	outbox *mail.SMTPOutbox
	// lifecycle is the members app's sign-ups and invitations, when
	// configured.
	lifecycle *members.Lifecycle
}

// Limits bound what requests may hold. Zero values take the defaults of
// internal/admission (documented in the README's security model).
type Limits struct {
	// MaxReadBody caps the body of a read: a query, not data (default
	// 1 MiB).
	MaxReadBody int64 `json:"max_read_body,omitempty"`
	// MaxBody caps the JSON body of a write (default 5 MiB). A write
	// holds about 16 times its body while it is checked, so MaxBody × 16
	// must fit in PerMemberMemory.
	MaxBody int64 `json:"max_body,omitempty"`
	// MaxUpload caps one uploaded file, streamed through to kintone
	// (default 100 MiB).
	MaxUpload int64 `json:"max_upload,omitempty"`
	// Memory is what all requests together may hold: bodies and kintone's
	// answers (default 160 MiB).
	Memory int64 `json:"memory,omitempty"`
	// PerMember caps one member's requests in flight (default 8).
	PerMember int `json:"per_member,omitempty"`
	// PerMemberMemory is what one member's requests may hold (default
	// half of Memory).
	PerMemberMemory int64 `json:"per_member_memory,omitempty"`
	// PerMemberBytes caps the request body bytes one member may have in
	// flight (default 128 MiB).
	PerMemberBytes int64 `json:"per_member_bytes,omitempty"`
	// PerMemberRate is the bytes a second one member may send, and be
	// sent (default 16 MiB each way).
	PerMemberRate int64 `json:"per_member_rate,omitempty"`
	// BodyTimeout is the least time a request body has to arrive (default
	// 30s); a long body gets more, at MinBodyRate.
	BodyTimeout caddy.Duration `json:"body_timeout,omitempty"`
	// MinBodyRate is the bytes a second a long body must keep up (default
	// 64 KiB).
	MinBodyRate int64 `json:"min_body_rate,omitempty"`
}

// Kintone configures the upstream kintone domain. Secrets may be given as
// placeholders such as {env.KINTONE_BASIC_PASSWORD}; they are replaced when
// the config is provisioned.
type Kintone struct {
	// URL is the kintone domain, e.g. https://example.cybozu.com.
	URL string `json:"url"`
	// BasicUser is the user of cybozu.com's Basic authentication, only
	// when it is on.
	BasicUser string `json:"basic_user,omitempty"`
	// BasicPassword is that user's password.
	BasicPassword string `json:"basic_password,omitempty"`
	// Timeout bounds one request to kintone, its wait for a slot included
	// (default 30s).
	Timeout caddy.Duration `json:"timeout,omitempty"`
	// MaxConcurrent caps kgate's requests in flight to kintone (default
	// 20; with Shared, every instance's together). kintone allows 100 per
	// domain, shared by every integration of the company.
	MaxConcurrent int `json:"max_concurrent,omitempty"`
	// MaxQueue caps the requests waiting for a slot (default 10 ×
	// MaxConcurrent); past it kgate answers "busy" at once.
	MaxQueue int `json:"max_queue,omitempty"`
	// CacheTTL lets identical reads within it share one kintone call (0,
	// the default: no cache). The key is the exact upstream request, the
	// member's row rule included; writes through kgate retire it.
	CacheTTL caddy.Duration `json:"cache_ttl,omitempty"`
	// MemberShare slots of MaxConcurrent are kept for the members app's
	// lookups (see the quota shield, quota.go).
	MemberShare int `json:"member_share,omitempty"`
	// FileShare caps the file transfers holding slots at once (default a
	// quarter of MaxConcurrent, at least 1).
	FileShare int `json:"file_share,omitempty"`
	// Shared makes the cap and the daily counts hold for every instance
	// using one Redis together.
	Shared *SharedQuota `json:"shared,omitempty"`
	// DailyLimit is kintone's requests per app and day (default 10000,
	// the standard course).
	DailyLimit int64 `json:"daily_limit,omitempty"`
	// DailyWarn are the percentages of DailyLimit at which kgate logs a
	// warning, once a day each (default 80 and 95).
	DailyWarn []int `json:"daily_warn,omitempty"`
	// LowPriorityCutoff is the percentage of DailyLimit past which the
	// portal's optional reads (calendar, comments) are refused as busy
	// (default 90; negative: never).
	LowPriorityCutoff int `json:"low_priority_cutoff,omitempty"`
}

// App is one kintone app kgate opens.
type App struct {
	// ID is kintone's app id, a number.
	ID string `json:"id"`
	// Alias is the app's name in policies and portal URLs.
	Alias string `json:"alias"`
	// GuestSpace is the id of the guest space the app is in, if it is.
	GuestSpace string `json:"guest_space,omitempty"`
	// Tokens are the app's API tokens (placeholders such as
	// {env.KINTONE_TOKEN_ORDERS}); several when lookups read other apps.
	Tokens []string `json:"tokens"`
}

// Policy configures the policy engine.
type Policy struct {
	// Dir is the directory of the Rego policies and their tests.
	Dir string `json:"dir"`
	// Package is the Rego package holding the rules kgate reads (default
	// "kgate", that is data.kgate).
	Package string `json:"package,omitempty"`
	// Watch reloads the policies when their files change; a version that
	// fails to load or whose tests fail never replaces the serving one.
	Watch bool `json:"watch,omitempty"`
}

// IdentitySource tells who is asking. Identify returns ErrNoIdentity when
// the request carries no identity at all; it may set cookies on w (a
// refreshed session), so it runs before anything is written.
type IdentitySource interface {
	Identify(w http.ResponseWriter, r *http.Request) (*identity.Identity, error)
}

// ErrNoIdentity is what an IdentitySource returns for a request that
// carries no identity.
var ErrNoIdentity = errors.New("kgate: no identity")

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.kgate", New: func() caddy.Module { return new(Handler) }}
}

// Provision wires kgate's parts together.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	repl := caddy.NewReplacer()
	if err := h.resolveSecrets(repl); err != nil {
		return err
	}
	// Caddy calls Validate only after Provision succeeds: a configuration
	// missing a setting would otherwise fail below, in whichever part
	// first trips over it, with that part's error.
	if err := h.check(); err != nil {
		return err
	}
	if err := h.checkSharedKeys(repl); err != nil {
		return err
	}
	if err := h.loadIdentityModule(ctx); err != nil {
		return err
	}
	h.gate = admission.New(h.admissionLimits())
	lim := h.gate.Limits()
	if os.Getenv("GOMEMLIMIT") == "" {
		// Keep the heap near what the budget lets requests hold, rather
		// than letting the collector wait for twice that.
		debug.SetMemoryLimit(lim.Memory + memoryOverhead)
		if os.Getenv("GOGC") == "" {
			// With the limit as the bound, the collector need not run
			// each time the heap doubles (see gcPercent).
			debug.SetGCPercent(gcPercent)
		}
	}
	client, err := kintone.NewClient(h.clientConfig(repl))
	if err != nil {
		return fmt.Errorf("kintone: %w", err)
	}
	h.client = client
	if h.audit, err = h.auditLogger(ctx, repl, client); err != nil {
		return err
	}
	if err := h.startOutbox(repl); err != nil {
		return err
	}
	h.registerMailMetrics(ctx)
	h.engine, err = policy.Open(ctx, policy.Options{
		Dir: h.Policy.Dir, Package: h.Policy.Package, Watch: h.Policy.Watch, Logger: h.logger.Named("policy"),
	})
	if err != nil {
		return fmt.Errorf("policy %s: %w", h.Policy.Dir, err)
	}
	apps := make([]gateway.App, len(h.Apps))
	for i, a := range h.Apps {
		apps[i] = gateway.App{ID: a.ID, Alias: a.Alias, GuestSpace: a.GuestSpace, Tokens: a.Tokens}
	}
	fileKeys, err := h.fileKeys(repl)
	if err != nil {
		return err
	}
	authors, err := h.commentAuthors(repl)
	if err != nil {
		return err
	}
	gw, err := gateway.New(gateway.Config{
		Client: client, Policy: h.engine, Apps: apps,
		Audit: h.audit, Logger: h.logger,
		FileKeys: fileKeys, CommentAuthors: authors,
		FileTokenTTL: time.Duration(h.FileTokenTTL), UploadTokenTTL: time.Duration(h.UploadTokenTTL),
		MaxUploadSize: lim.MaxUpload,
	})
	if err != nil {
		return err
	}
	h.api = &api.Handler{GW: gw, Logger: h.logger, MaxBody: lim.MaxBody, MaxUpload: lim.MaxUpload}
	if reg := ctx.GetMetricsRegistry(); reg != nil {
		if err := reg.Register(newCollector(client, h.engine, h.Apps)); err != nil {
			h.logger.Warn("kgate's metrics are not registered (is a second kgate handler in this config?)", zap.Error(err))
		}
	}
	if h.Portal != nil {
		cfg := portal.Config{Config: *h.Portal, Gateway: gw, Logger: h.logger.Named("portal")}
		cfg.FormKey = repl.ReplaceKnown(cfg.FormKey, "")
		if cfg.FormKey == "" && h.Portal.FormKey != "" {
			return errors.New("kgate: the portal's form_key is empty after replacing placeholders (is the environment variable set?)")
		}
		cfg.PreviousFormKeys = make([]string, len(h.Portal.PreviousFormKeys))
		for i, k := range h.Portal.PreviousFormKeys {
			cfg.PreviousFormKeys[i] = repl.ReplaceKnown(k, "")
		}
		// Instances sharing sessions share the memory of submitted forms.
		redisClient, err := h.redisClient(repl)
		if err != nil {
			return err
		}
		if redisClient != nil {
			cfg.Submissions = portal.NewRedisLedger(redisClient, "kgate:form:")
		}
		if h.OIDC != nil {
			// Members' visits live with their sessions, in memory or
			// in Redis, so every instance shows the same "new".
			if cfg.Visits, err = h.sessionStore(repl); err != nil {
				return err
			}
			cfg.LogoutURL = h.oidcPrefix() + "logout"
			cfg.SwitchAccountURL = h.oidcPrefix() + "login?account=choose&return=%2F"
			// The logout POST is redirected to the provider's end-session
			// endpoint; browsers hold that redirect to CSP form-action.
			if origin := originOf(repl.ReplaceKnown(h.OIDC.Issuer, "")); origin != "" {
				cfg.FormActions = append(cfg.FormActions, origin)
			}
		}
		if h.portal, err = portal.New(cfg); err != nil {
			return err
		}
		if err := h.checkPortalSettings(ctx); err != nil {
			return err
		}
	}
	if h.OIDC != nil {
		if h.auth, err = h.newAuth(ctx, repl, client); err != nil {
			return err
		}
		h.identity, h.authPrefix = authSource{h.auth}, h.oidcPrefix()
	}
	if err := h.startNotify(repl, gw, client); err != nil {
		return err
	}
	return h.enableViewAs(gw)
}

// settingsCheckTimeout bounds the wait for kintone's forms at load: a
// kintone that does not answer must not hold up Caddy's start.
const settingsCheckTimeout = 10 * time.Second

// checkPortalSettings refuses portal settings that name fields the apps'
// forms lack. When kintone cannot be reached at load, that is logged and
// the portal checks each app when its pages are first served.
func (h *Handler) checkPortalSettings(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, settingsCheckTimeout)
	defer cancel()
	unchecked, err := h.portal.CheckSettings(ctx)
	if err != nil {
		return err
	}
	for alias, reason := range unchecked {
		h.logger.Warn("kintone could not be asked for the form of an app with portal settings; its field codes are checked when its pages are first served",
			zap.String("app", alias), zap.Error(reason))
	}
	return nil
}

// memoryOverhead is what kgate holds besides requests: Caddy, the policy
// engine, caches, the runtime.
const memoryOverhead = 128 << 20 // measured: about 80 MiB at rest

// gcPercent lets the heap grow to 3× what is live before a collection,
// where Go's default is 2×: every answer allocates its page, and in
// bench/peers collecting less often cut kgate's processor time per
// uncached answer by about a fifth. The memory limit above still bounds
// the heap; 400 (5×) was faster still but let a hostile member's large
// tables take the resident memory past the limit in bench/robustness
// (302 MiB against 288), where 200 stays under it (253–270 MiB).
const gcPercent = 200

// admissionLimits gathers the limits from the configuration.
func (h *Handler) admissionLimits() admission.Limits {
	var lim admission.Limits
	if l := h.Limits; l != nil {
		lim = admission.Limits{MaxReadBody: l.MaxReadBody, MaxBody: l.MaxBody, MaxUpload: l.MaxUpload,
			Memory: l.Memory, PerMember: l.PerMember, PerMemberMemory: l.PerMemberMemory, PerMemberBytes: l.PerMemberBytes, PerMemberRate: l.PerMemberRate,
			BodyTimeout: time.Duration(l.BodyTimeout), MinBodyRate: l.MinBodyRate}
	}
	if lim.MaxBody == 0 {
		lim.MaxBody = h.MaxBody
	}
	if h.Portal != nil {
		lim.MaxForm = h.Portal.MaxFormSize
	}
	return lim
}

func (h *Handler) loadIdentityModule(ctx caddy.Context) error {
	if h.IdentityRaw == nil {
		return nil
	}
	mod, err := ctx.LoadModule(h, "IdentityRaw")
	if err != nil {
		return fmt.Errorf("loading the identity source: %w", err)
	}
	src, ok := mod.(IdentitySource)
	if !ok {
		return fmt.Errorf("identity module %T cannot identify requests", mod)
	}
	h.identity = src
	return nil
}

// originOf returns the scheme://host[:port] of an absolute URL, or "".
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

func (h *Handler) oidcPrefix() string {
	if h.OIDC.Prefix != "" {
		return h.OIDC.Prefix
	}
	return "/kgate/"
}

// resolveSecrets replaces placeholders in the settings that may hold
// secrets, so they need not be written into the config.
func (h *Handler) resolveSecrets(repl *caddy.Replacer) error {
	h.Kintone.URL = repl.ReplaceKnown(h.Kintone.URL, "")
	h.Policy.Dir = repl.ReplaceKnown(h.Policy.Dir, "")
	h.Kintone.BasicUser = repl.ReplaceKnown(h.Kintone.BasicUser, "")
	h.Kintone.BasicPassword = repl.ReplaceKnown(h.Kintone.BasicPassword, "")
	for i := range h.Apps {
		a := &h.Apps[i]
		for j, t := range a.Tokens {
			a.Tokens[j] = repl.ReplaceKnown(t, "")
			if a.Tokens[j] == "" {
				return fmt.Errorf("app %q: token %d is empty after replacing placeholders (is the environment variable set?)", a.Alias, j+1)
			}
		}
	}
	return nil
}

// Validate checks the configuration; Provision has checked it already,
// before wiring anything.
func (h *Handler) Validate() error { return h.check() }

// check refuses a configuration kgate cannot serve, saying what to add or
// change. Placeholders are replaced by then when Provision calls it.
func (h *Handler) check() error {
	if h.Kintone.URL == "" {
		return errors.New("kgate: kintone url is required (kintone https://example.cybozu.com)")
	}
	if len(h.Apps) == 0 {
		return errors.New("kgate: no app is configured; add at least one `app <alias> <id> { token … }`")
	}
	if h.Policy.Dir == "" {
		return errors.New("kgate: policy directory is required (policy ./policies)")
	}
	// Caddy clears IdentityRaw once it has loaded the module into
	// identity; kgate's own login sets identity and auth.
	module := h.IdentityRaw != nil || h.identity != nil && h.auth == nil
	if h.OIDC == nil && !module {
		return errors.New("kgate: no identity source is configured; add an `oidc <issuer> { … }` block")
	}
	if h.OIDC != nil && module {
		return errors.New("kgate: configure either oidc or an identity module, not both")
	}
	for _, a := range h.Apps {
		if _, err := strconv.ParseUint(a.ID, 10, 63); err != nil {
			return fmt.Errorf("kgate: app %q: id %q is not a kintone app id", a.Alias, a.ID)
		}
	}
	if err := h.admissionLimits().Check(); err != nil {
		return fmt.Errorf("kgate limits: %w", err)
	}
	return nil
}

// Cleanup stops the policy watcher, closes the Redis client and stops the
// kintone client's background work.
func (h *Handler) Cleanup() error {
	// The queued audit events go first, while the kintone client still runs.
	if h.stopNotify != nil {
		h.stopNotify()
	}
	errs := []error{h.closeAuditSink(), h.stopOutbox()}
	if h.engine != nil {
		errs = append(errs, h.engine.Close())
	}
	if h.redis != nil {
		errs = append(errs, h.redis.Close())
	}
	if h.client != nil {
		errs = append(errs, h.client.Close())
	}
	return errors.Join(errs...)
}

// ServeHTTP routes a request: kgate's login endpoints, kintone's API
// paths, the portal's pages; without a portal, everything else goes to the
// next handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	r = withAuditRequest(r)
	path := r.URL.Path
	switch {
	case h.notifier != nil && strings.HasPrefix(path, webhookPrefix):
		// Before the login endpoints, whose prefix may be /kgate/ too.
		h.notifier.ServeHTTP(w, r, strings.TrimPrefix(path, webhookPrefix))
	case h.auth != nil && strings.HasPrefix(path, h.authPrefix):
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.auth.ServeHTTP(w, r)
	case isAPI(path):
		w.Header().Set("X-Content-Type-Options", "nosniff")
		kind := apiKind(r)
		if h.gate.TooLarge(r, kind) {
			h.refuseAPI(w, r, admission.ErrTooLarge) // before the token is even checked
			return nil
		}
		id, err := h.identify(w, r)
		if err == nil && id.Via == "session" && (r.Header.Get("X-Requested-With") == "" || !safeMethod(r) && !h.sameOrigin(r)) {
			// kintone's own rule for session calls: a page of kgate's
			// adds the header; a navigation from another site cannot.
			err = errCrossSite
		}
		if err != nil {
			h.refuseAPI(w, r, err)
			return nil
		}
		admitted, done, err := h.gate.Admit(w, r, memberKey(id), kind)
		if err != nil {
			h.refuseAPI(w, r, err)
			return nil
		}
		defer done()
		h.api.Serve(h.gate.Pace(w, admitted), admitted, id)
	case h.portal == nil:
		return next.ServeHTTP(w, r)
	case h.lifecycle != nil && h.lifecycle.SignUpOn() && path == portal.SignUpPath:
		h.serveSignUp(w, r)
	case h.portal.IsPublic(path):
		h.portal.ServePublic(w, r)
	default:
		kind := admission.Read
		if !safeMethod(r) {
			kind = admission.Form
		}
		if h.gate.TooLarge(r, kind) {
			h.refusePage(w, r, admission.ErrTooLarge)
			return nil
		}
		id, err := h.identify(w, r)
		if err == nil && !safeMethod(r) && !h.sameOrigin(r) {
			err = errCrossSite
		}
		if err != nil {
			h.refusePage(w, r, err)
			return nil
		}
		admitted, done, err := h.gate.Admit(w, r, memberKey(id), kind)
		if err != nil {
			h.refusePage(w, r, err)
			return nil
		}
		defer done()
		h.portal.Serve(w, admitted, id)
	}
	return nil
}

// memberKey names a member for the per-member limits.
func memberKey(id *identity.Identity) string { return id.Issuer + "\x00" + id.Subject }

// apiKind is what a kintone call may carry: writes a JSON body, an upload
// a file, reads a query.
func apiKind(r *http.Request) admission.Kind {
	resource, _, _ := api.Match(r.URL.Path)
	switch kintone.Method(r) {
	case http.MethodPost, http.MethodPut:
		if resource == "file.json" {
			return admission.Upload
		}
		return admission.Write
	}
	return admission.Read
}

func isAPI(path string) bool {
	_, _, ok := api.Match(path)
	return ok
}

func safeMethod(r *http.Request) bool {
	return r.Method == http.MethodGet || r.Method == http.MethodHead
}

// sameOrigin guards state-changing requests made with a session cookie:
// the browser must say they come from kgate's own pages.
func (h *Handler) sameOrigin(r *http.Request) bool {
	if h.auth == nil {
		return true // without sessions there is no cookie another site could ride
	}
	return auth.SameOrigin(r, h.auth.Origin())
}

var errCrossSite = errors.New("kgate: a cross-site request with a session cookie")

// identify asks the identity source and records the subject for Caddy's
// access log.
func (h *Handler) identify(w http.ResponseWriter, r *http.Request) (*identity.Identity, error) {
	if h.identity == nil {
		return nil, ErrNoIdentity
	}
	id, err := h.identity.Identify(w, r)
	if err != nil {
		return nil, err
	}
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		repl.Set("http.auth.user.id", id.Subject)
	}
	return id, nil
}

// refuseAPI answers an API request without a valid identity in kintone's
// error shape: 401 CB_AU01 without one (its WWW-Authenticate says whether
// a bearer token was refused, and why), 403 for a refused member or a
// cross-site request, 503 when the provider or the members app cannot be
// reached. No refusal may be cached: the same URL answers differently
// once the person has logged in.
func (h *Handler) refuseAPI(w http.ResponseWriter, r *http.Request, err error) {
	unread(w, r)
	slowDown(r, err)
	lang := "en"
	if strings.HasPrefix(r.Header.Get("Accept-Language"), "ja") {
		lang = "ja"
	}
	w.Header().Set("Cache-Control", "no-store")
	var fe *auth.ForbiddenError
	switch {
	case errors.Is(err, ErrNoIdentity):
		w.Header().Set("WWW-Authenticate", auth.Challenge(err))
		kintone.NewError("CB_AU01", lang).Respond(w)
	case errors.As(err, &fe):
		kintone.NewError("CB_NO02", lang).With("member", fe.Reason).Respond(w)
	case errors.Is(err, errCrossSite):
		kintone.NewError("CB_NO02", lang).Respond(w)
	case errors.Is(err, admission.ErrTooLarge):
		limitError(http.StatusRequestEntityTooLarge, "KGATE_RS01", lang,
			"リクエストが大きすぎます。", "The request is larger than kgate accepts.").Respond(w)
	case errors.Is(err, admission.ErrTooMany):
		w.Header().Set("Retry-After", "1")
		limitError(http.StatusTooManyRequests, "KGATE_RS02", lang,
			"同時に送られたリクエストが多すぎます。しばらくしてから再試行してください。",
			"You have too many requests in progress. Please try again in a moment.").Respond(w)
	case errors.Is(err, admission.ErrBusy):
		w.Header().Set("Retry-After", "1")
		limitError(http.StatusServiceUnavailable, "KGATE_RS03", lang,
			"現在混み合っています。しばらくしてから再試行してください。",
			"kgate is busy. Please try again in a moment.").Respond(w)
	case errors.Is(err, kintone.ErrBusy):
		// The members app could not be asked for load: busy, like any
		// request held back to spare kintone (the client logs those).
		w.Header().Set("Retry-After", "5")
		limitError(http.StatusServiceUnavailable, "KGATE_UP03", lang,
			"現在混み合っています。しばらくしてから再試行してください。",
			"kgate is busy. Please try again in a moment.").Respond(w)
	default:
		h.logger.Warn("identity could not be established", zap.Error(err))
		e := kintone.NewError("KGATE_ID01", lang)
		e.Status, e.Message = http.StatusServiceUnavailable, unavailableMessage(err, lang)
		w.Header().Set("Retry-After", "5")
		e.Respond(w)
	}
}

// unavailableMessage names what kgate could not reach to know who is
// asking, so that an operator reading a partner's report knows where to
// look: the members app in kintone, the OpenID Provider, or the session
// store.
func unavailableMessage(err error, lang string) string {
	var en, ja string
	switch {
	case errors.Is(err, auth.ErrDirectoryUnavailable):
		en, ja = "kintone (the members app) cannot be reached to check your membership.", "メンバー情報を確認するための kintone(メンバーアプリ)に接続できません。"
	case errors.Is(err, auth.ErrProviderUnavailable):
		en, ja = "The sign-in service (OpenID Provider) cannot be reached.", "認証サービス(OpenID Provider)に接続できません。"
	default:
		en, ja = "kgate cannot check your sign-in just now (its session store cannot be reached).", "現在ログイン状態を確認できません(セッションストアに接続できません)。"
	}
	if lang == "ja" {
		return ja + "しばらくしてから再試行してください。"
	}
	return en + " Please try again in a moment."
}

// unread closes the connection after a refusal that leaves a body unread:
// the server would otherwise read the rest of it, however slowly it comes,
// before letting the connection go.
func unread(w http.ResponseWriter, r *http.Request) {
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		w.Header().Set("Connection", "close")
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(time.Second))
	}
}

// refusalDelay holds back the answer to a request refused for a limit: a
// client that ignores Retry-After and tries again at once would otherwise
// turn refusals into load of their own. The refused request holds no body
// and no memory while it waits.
const refusalDelay = time.Second

func slowDown(r *http.Request, err error) {
	if errors.Is(err, admission.ErrTooLarge) || errors.Is(err, admission.ErrTooMany) || errors.Is(err, admission.ErrBusy) {
		select {
		case <-time.After(refusalDelay):
		case <-r.Context().Done():
		}
	}
}

func limitError(status int, code, lang, ja, en string) *kintone.Error {
	e := kintone.NewError(code, lang)
	e.Status, e.Message = status, en
	if lang == "ja" {
		e.Message = ja
	}
	return e
}

// refusePage answers a page request without a valid identity: to login
// when there is none, a 403 page for a refused member or a cross-site
// form, 503 otherwise.
func (h *Handler) refusePage(w http.ResponseWriter, r *http.Request, err error) {
	unread(w, r)
	slowDown(r, err)
	w.Header().Set("Cache-Control", "no-store")
	var fe *auth.ForbiddenError
	switch {
	case errors.Is(err, ErrNoIdentity) && h.auth != nil && safeMethod(r):
		http.Redirect(w, r, h.auth.LoginURL(r.URL.RequestURI()), http.StatusFound)
	case errors.Is(err, ErrNoIdentity):
		h.portal.ServeError(w, r, http.StatusUnauthorized)
	case errors.As(err, &fe):
		h.portal.ServeError(w, r, http.StatusForbidden, fe.Reason)
	case errors.Is(err, errCrossSite):
		h.portal.ServeError(w, r, http.StatusForbidden)
	case errors.Is(err, admission.ErrTooLarge):
		h.portal.ServeError(w, r, http.StatusRequestEntityTooLarge)
	case errors.Is(err, admission.ErrTooMany):
		w.Header().Set("Retry-After", "1")
		h.portal.ServeError(w, r, http.StatusTooManyRequests)
	case errors.Is(err, admission.ErrBusy):
		w.Header().Set("Retry-After", "1")
		h.portal.ServeError(w, r, http.StatusServiceUnavailable)
	case errors.Is(err, kintone.ErrBusy):
		h.portal.ServeError(w, r, http.StatusServiceUnavailable)
	default:
		h.logger.Warn("identity could not be established", zap.Error(err))
		w.Header().Set("Retry-After", "5")
		h.portal.ServeError(w, r, http.StatusServiceUnavailable)
	}
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
