// Package gateway is kgate's enforcement core: one method per kintone
// operation, for one identity. The API and the portal both call it, so the
// rules a person meets in a browser are the rules a machine meets on the API.
package gateway

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/readrate"
)

// App is one kintone app kgate opens, as the operator configured it.
type App struct {
	ID         string   // kintone's app id
	Alias      string   // the app's name in policies (input.app.alias) and portal URLs
	GuestSpace string   // guest space id, "" for an app outside guest spaces
	Tokens     []string // API tokens; several when lookups reach into other apps
}

// Config wires a Gateway.
type Config struct {
	Client *kintone.Client
	Policy *policy.Engine
	Apps   []App
	Audit  *audit.Logger
	Logger *zap.Logger
	// SchemaTTL is how long an app's form is trusted before kgate asks
	// kintone again (default 5 minutes).
	SchemaTTL time.Duration
	// CursorsPerIdentity caps live cursors per identity (default 2):
	// kintone allows only 10 per domain, shared by everyone.
	CursorsPerIdentity int
	// FileKeys seal the file tokens and upload tokens kgate hands out in
	// place of kintone's keys, each at least MinTokenKeyLen bytes: the
	// first seals, every one opens, so a key can be rotated. Instances
	// behind one site must share them; when empty a random key is made,
	// and tokens die with the process.
	FileKeys [][]byte
	// FileTokenTTL is how long a file token stays valid (default 1 hour).
	FileTokenTTL time.Duration
	// UploadTokenTTL is how long an upload token stays valid (default 1
	// hour; at most 3 days, as long as kintone keeps an unattached upload).
	UploadTokenTTL time.Duration
	// CommentAuthors remembers who posted which comment, so that members
	// can delete their own; default the most recent 100,000 in this
	// process, which suits a single instance.
	CommentAuthors CommentAuthors
	// MaxUploadSize caps one uploaded file (default 100 MiB).
	MaxUploadSize int64
	// MaxUploadsPerRecord caps the newly uploaded files one record of a
	// create or update may attach (default 10).
	MaxUploadsPerRecord int
	// ReadRate holds the buckets that bound each member's reads to the
	// policy's rate; a fresh one on the real clock when nil.
	ReadRate *readrate.Limiter
}

// Gateway enforces the policies on every kintone operation. It is safe for
// concurrent use.
type Gateway struct {
	client  *kintone.Client
	policy  *policy.Engine
	audit   *audit.Logger
	log     *zap.Logger
	apps    map[string]*app // by id
	aliases map[string]*app
	order   []*app
	cursors *cursorTable
	rate    *readrate.Limiter
	files   *fileSealer
	writes  *writeState
	now     func() time.Time
}

type app struct {
	App
	forms *formCache
}

// New checks cfg and returns a Gateway.
func New(cfg Config) (*Gateway, error) {
	if cfg.Client == nil || cfg.Policy == nil {
		return nil, errors.New("gateway: a kintone client and a policy engine are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.SchemaTTL <= 0 {
		cfg.SchemaTTL = 5 * time.Minute
	}
	if cfg.CursorsPerIdentity <= 0 {
		cfg.CursorsPerIdentity = 2
	}
	if cfg.FileTokenTTL <= 0 {
		cfg.FileTokenTTL = time.Hour
	}
	if cfg.UploadTokenTTL <= 0 {
		cfg.UploadTokenTTL = time.Hour
	}
	cfg.UploadTokenTTL = min(cfg.UploadTokenTTL, uploadTTL)
	if len(cfg.FileKeys) == 0 {
		cfg.FileKeys = randomTokenKey()
	}
	files, err := newFileSealer(cfg.FileKeys, cfg.FileTokenTTL)
	if err != nil {
		return nil, err
	}
	g := &Gateway{
		client: cfg.Client, policy: cfg.Policy, audit: cfg.Audit, log: cfg.Logger,
		apps: map[string]*app{}, aliases: map[string]*app{},
		cursors: newCursorTable(cfg.CursorsPerIdentity), files: files, now: time.Now,
		rate:   cmp.Or(cfg.ReadRate, readrate.New(nil, 0)),
		writes: newWriteState(cfg),
	}
	for _, a := range cfg.Apps {
		if err := g.addApp(a, cfg.SchemaTTL); err != nil {
			return nil, err
		}
	}
	return g, nil
}

func (g *Gateway) addApp(a App, ttl time.Duration) error {
	if n, err := strconv.ParseUint(a.ID, 10, 63); err != nil || n == 0 {
		return fmt.Errorf("gateway: app id %q must be kintone's numeric app id", a.ID)
	}
	if a.Alias == "" {
		a.Alias = a.ID
	}
	if g.apps[a.ID] != nil || g.aliases[a.Alias] != nil {
		return fmt.Errorf("gateway: app %s (%s) is configured twice", a.ID, a.Alias)
	}
	if len(a.Tokens) == 0 {
		return fmt.Errorf("gateway: app %s (%s) has no API token", a.ID, a.Alias)
	}
	st := &app{App: a}
	st.forms = newFormCache(g, st, ttl)
	g.apps[a.ID], g.aliases[a.Alias] = st, st
	g.order = append(g.order, st)
	return nil
}

// AppRef names an app as a request reached it: by kintone app id, through
// the normal path (Space "") or a guest-space path.
type AppRef struct {
	ID    string
	Space string
}

// Ref returns the reference that reaches the app configured under alias,
// for callers (the portal) that name apps by alias.
func (g *Gateway) Ref(alias string) (AppRef, bool) {
	a := g.aliases[alias]
	if a == nil {
		return AppRef{}, false
	}
	return AppRef{ID: a.ID, Space: a.GuestSpace}, true
}

// resolve applies kintone's app and guest-space rules: an app kgate does
// not open does not exist; a guest-space app on the normal path is
// GAIA_IL23; the wrong guest space is CB_NO02.
func (g *Gateway) resolve(id *identity.Identity, ref AppRef) (*app, error) {
	a := g.apps[ref.ID]
	if a == nil {
		return nil, kintone.NewError("GAIA_AP01", id.Lang, ref.ID)
	}
	switch {
	case a.GuestSpace != "" && ref.Space == "":
		return nil, kintone.NewError("GAIA_IL23", id.Lang)
	case a.GuestSpace != ref.Space:
		return nil, kintone.NewError("CB_NO02", id.Lang)
	}
	return a, nil
}

// viewKey carries the policy view a request is pinned to; it names the
// gateway, whose engine made the view.
type viewKey struct{ g *Gateway }

// Pin fixes the policy version for everything done with ctx: every call of
// this gateway made with the returned context decides, compiles, re-checks
// and audits under the version serving now, so a page built from several
// calls never mixes versions when the policy reloads in between. A context
// already pinned is returned as it is.
func (g *Gateway) Pin(ctx context.Context) context.Context {
	if _, ok := ctx.Value(viewKey{g}).(policy.View); ok {
		return ctx
	}
	return context.WithValue(ctx, viewKey{g}, g.policy.View())
}

// view is the request's policy view: the one ctx is pinned to, else the
// version serving now. Each gateway call takes it once and keeps it.
func (g *Gateway) view(ctx context.Context) policy.View {
	if v, ok := ctx.Value(viewKey{g}).(policy.View); ok {
		return v
	}
	return g.policy.View()
}

// input is the policy input for id acting on a.
func input(id *identity.Identity, a *app, action string) policy.Input {
	return policy.Input{
		User: policy.User{
			Sub: id.Subject, Email: id.Email, Name: id.Name, Level: id.Level,
			Org: id.Org, Groups: id.Groups, Attrs: id.Attrs,
		},
		App:    policy.App{ID: a.ID, Alias: a.Alias},
		Action: action,
	}
}

// decide asks the policy and turns "no" into kintone's CB_NO02 with the
// policy's reasons under errors.policy, so clients and the portal can show
// why.
func (g *Gateway) decide(ctx context.Context, view policy.View, id *identity.Identity, a *app, in policy.Input) (*policy.Decision, error) {
	d, err := view.Decide(ctx, in)
	if err != nil {
		g.log.Error("policy decision failed", zap.String("app", a.Alias), zap.String("action", in.Action), zap.Error(err))
		return nil, policyError(id.Lang)
	}
	if !d.Allow {
		e := kintone.NewError("CB_NO02", id.Lang)
		if len(d.Reasons) > 0 {
			e.With("policy", d.ReasonsIn(id.Lang)...)
		}
		return d, e
	}
	return d, nil
}

// kgate's own errors, in kintone's shape. Their codes start with KGATE_ so
// nobody mistakes them for kintone's.
func policyError(lang string) *kintone.Error {
	return ownError(http.StatusInternalServerError, "KGATE_PO01", lang,
		"アクセスポリシーを評価できませんでした。管理者に連絡してください。",
		"The access policy could not be evaluated. Please contact the administrator.")
}

func ownError(status int, code, lang, ja, en string) *kintone.Error {
	msg := en
	if lang == "ja" {
		msg = ja
	}
	e := kintone.NewError(code, lang)
	e.Status, e.Message = status, msg
	return e
}

// upstreamError turns what the kintone client returned into what the
// member may see. kintone's own errors keep their code and status, but
// the message is kgate's catalogue text and field-level details are kept
// only for fields the member may read (visible == nil keeps none): kintone's
// text can name things the member must not learn. Transport failures become
// 503/504 with a retry hint.
func upstreamError(err error, lang string, visible func(key string) bool) *kintone.Error {
	var ke *kintone.Error
	if errors.As(err, &ke) {
		out := kintone.NewError(ke.Code, lang)
		out.Status, out.Message = ke.Status, blankArgs.ReplaceAllString(out.Message, "…")
		for key, m := range ke.Errors {
			if visible != nil && visible(key) {
				out.With(key, m.Messages...)
			}
		}
		return out
	}
	var ue *kintone.UpstreamError
	switch {
	case errors.Is(err, kintone.ErrBusy):
		return ownError(http.StatusServiceUnavailable, "KGATE_UP03", lang,
			"現在混み合っています。しばらくしてから再試行してください。",
			"kgate is busy. Please try again in a moment.")
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return ownError(http.StatusGatewayTimeout, "KGATE_UP02", lang,
			"kintone から時間内に応答がありませんでした。しばらくしてから再試行してください。",
			"kintone did not answer in time. Please try again in a moment.")
	case errors.As(err, &ue):
		e := ownError(http.StatusBadGateway, "KGATE_UP01", lang,
			"kintone が利用できません。しばらくしてから再試行してください。",
			"kintone is unavailable. Please try again in a moment.")
		if ue.Status == http.StatusServiceUnavailable || ue.Status == http.StatusTooManyRequests {
			e.Status = http.StatusServiceUnavailable
		}
		return e
	default:
		return ownError(http.StatusBadGateway, "KGATE_UP01", lang,
			"kintone が利用できません。しばらくしてから再試行してください。",
			"kintone is unavailable. Please try again in a moment.")
	}
}

// blankArgs finds the argument slots of a catalogue message: kgate does not
// know what kintone put there, and kintone's own text may name what the
// member must not learn.
var blankArgs = regexp.MustCompile(`%(\[\d+\])?v`)

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// notFound is kintone's answer for a record that does not exist; kgate
// gives it for records the member may not see as well.
func notFound(lang, recordID string) *kintone.Error {
	return kintone.NewError("GAIA_RE01", lang, recordID)
}

// logEvent fills the identity and request parts of an audit event and
// writes it.
func (g *Gateway) logEvent(req audit.Request, id *identity.Identity, e audit.Event) {
	req.Fill(&e)
	e.Subject, e.Email, e.Org, e.Level, e.Via, e.ViewedBy = id.Subject, id.Email, id.Org, id.Level, id.Via, id.ViewedBy
	g.audit.Log(e)
}
