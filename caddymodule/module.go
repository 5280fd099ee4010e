// Package caddymodule is the Caddy glue of kgate: the http.handlers.kgate
// module, its JSON and Caddyfile configuration, and the wiring of kgate's
// parts in Provision. Everything that decides anything lives in internal/.
package caddymodule

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/kgate/kgate/internal/api"
	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/policy"
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
	// MaxBody caps JSON request bodies (default 16 MiB).
	MaxBody int64 `json:"max_body,omitempty"`

	identity IdentitySource
	engine   *policy.Engine
	api      *api.Handler
	logger   *zap.Logger
}

// Kintone configures the upstream kintone domain. Secrets may be given as
// placeholders such as {env.KINTONE_BASIC_PASSWORD}; they are replaced when
// the config is provisioned.
type Kintone struct {
	URL           string         `json:"url"`
	BasicUser     string         `json:"basic_user,omitempty"`
	BasicPassword string         `json:"basic_password,omitempty"`
	Timeout       caddy.Duration `json:"timeout,omitempty"`
	MaxConcurrent int            `json:"max_concurrent,omitempty"`
	MaxQueue      int            `json:"max_queue,omitempty"`
	CacheTTL      caddy.Duration `json:"cache_ttl,omitempty"`
}

// App is one kintone app kgate opens.
type App struct {
	ID         string   `json:"id"`
	Alias      string   `json:"alias"`
	GuestSpace string   `json:"guest_space,omitempty"`
	Tokens     []string `json:"tokens"`
}

// Policy configures the policy engine.
type Policy struct {
	Dir     string `json:"dir"`
	Package string `json:"package,omitempty"`
	// Watch reloads the policies when their files change; a version that
	// fails to load or whose tests fail never replaces the serving one.
	Watch bool `json:"watch,omitempty"`
}

// IdentitySource tells who is asking. Identify returns ErrNoIdentity when
// the request carries no identity at all.
type IdentitySource interface {
	Identify(r *http.Request) (*gateway.Identity, error)
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
	if h.IdentityRaw != nil {
		mod, err := ctx.LoadModule(h, "IdentityRaw")
		if err != nil {
			return fmt.Errorf("loading the identity source: %w", err)
		}
		src, ok := mod.(IdentitySource)
		if !ok {
			return fmt.Errorf("identity module %T cannot identify requests", mod)
		}
		h.identity = src
	}
	client, err := kintone.NewClient(kintone.Config{
		BaseURL: h.Kintone.URL, BasicUser: h.Kintone.BasicUser, BasicPassword: h.Kintone.BasicPassword,
		Timeout: time.Duration(h.Kintone.Timeout), MaxConcurrent: h.Kintone.MaxConcurrent,
		MaxQueue: h.Kintone.MaxQueue, CacheTTL: time.Duration(h.Kintone.CacheTTL),
	})
	if err != nil {
		return err
	}
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
	gw, err := gateway.New(gateway.Config{
		Client: client, Policy: h.engine, Apps: apps,
		Audit: audit.New(h.logger.Named("audit")), Logger: h.logger,
	})
	if err != nil {
		return err
	}
	h.api = &api.Handler{GW: gw, Logger: h.logger, MaxBody: h.MaxBody}
	return nil
}

// resolveSecrets replaces placeholders in the settings that may hold
// secrets, so they need not be written into the config.
func (h *Handler) resolveSecrets(repl *caddy.Replacer) error {
	h.Kintone.URL = repl.ReplaceKnown(h.Kintone.URL, "")
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

// Validate checks the configuration after provisioning.
func (h *Handler) Validate() error {
	if h.Kintone.URL == "" {
		return errors.New("kgate: kintone url is required (kintone https://example.cybozu.com)")
	}
	if len(h.Apps) == 0 {
		return errors.New("kgate: no app is configured; add at least one `app <alias> <id> { token … }`")
	}
	if h.Policy.Dir == "" {
		return errors.New("kgate: policy directory is required (policy ./policies)")
	}
	if h.identity == nil {
		return errors.New("kgate: no identity source is configured; without one nobody can be served")
	}
	for _, a := range h.Apps {
		if _, err := strconv.ParseUint(a.ID, 10, 63); err != nil {
			return fmt.Errorf("kgate: app %q: id %q is not a kintone app id", a.Alias, a.ID)
		}
	}
	return nil
}

// Cleanup stops the policy watcher.
func (h *Handler) Cleanup() error {
	if h.engine != nil {
		return h.engine.Close()
	}
	return nil
}

// ServeHTTP answers kintone API paths and passes everything else on.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if _, _, ok := api.Match(r.URL.Path); !ok {
		return next.ServeHTTP(w, r)
	}
	id, err := h.identity.Identify(r)
	if err != nil {
		return h.refuse(w, r, err)
	}
	h.api.Serve(w, r, id)
	return nil
}

// refuse answers an API request that has no valid identity with kintone's
// CB_AU01, in kintone's error shape.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, err error) error {
	if !errors.Is(err, ErrNoIdentity) {
		h.logger.Debug("identity refused", zap.Error(err))
	}
	lang := "en"
	if al := r.Header.Get("Accept-Language"); len(al) >= 2 && al[:2] == "ja" {
		lang = "ja"
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="kgate"`)
	kintone.NewError("CB_AU01", lang).Respond(w)
	return nil
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
