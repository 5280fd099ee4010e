package members

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kql"
	"github.com/kgate/kgate/internal/mail"
	"github.com/kgate/kgate/membersconfig"
)

// Texts gives the e-mails' texts in a language (the portal's catalogues):
// key, then the placeholders {1}, {2}, ….
type Texts func(lang, key string, args ...any) string

// LifecycleConfig wires a Lifecycle.
type LifecycleConfig struct {
	Directory *Directory
	// SignUp turns sign-up on; nil leaves it off.
	SignUp *membersconfig.SignUp
	// Orgs is the organizations app when SignUp.Orgs names one.
	Orgs *OrgsApp
	// Invite turns invitations on; nil leaves them off.
	Invite *membersconfig.Invite
	// InviteTTL is how long an invite link holds; default 7 days.
	InviteTTL time.Duration
	// Outbox takes the e-mails; without one (sign-up only) nobody is
	// mailed and Poll must not run.
	Outbox mail.Outbox
	Texts  Texts
	// SiteURL is the portal's public URL; LoginPath starts a login.
	SiteURL   string
	LoginPath string
	// DefaultLang is the e-mails' language for a member without one.
	DefaultLang string
	// Forget drops a member the lifecycle changed from auth's cache.
	Forget func(email, sub string)
	Logger *zap.Logger
	// Audit records each sign-up, decision mailed and invitation sent,
	// used or refused; nil records nothing.
	Audit *audit.Logger
}

// Lifecycle is what kgate does to the members app beyond looking members
// up: it files sign-ups as pending records, tells people the staff's
// decision, and sends and takes invitations. All its state lives in the
// members app's records, so instances and restarts share it.
type Lifecycle struct {
	cfg    LifecycleConfig
	dir    *Directory
	signUp membersconfig.SignUp
	invite membersconfig.Invite
	keys   [][]byte
	log    *zap.Logger
	now    func() time.Time
	locks  keyedMutex
}

// Answers to what the members app's notified field says.
const (
	awaitingDecision = "signup"
	inviteSend       = "send"
	inviteSent       = "sent"
	inviteAccepted   = "accepted"
)

// reasonAlreadyKnown is the audited reason a sign-up files nothing.
const reasonAlreadyKnown = "already has a record in the members app"

// NewLifecycle checks cfg and returns a Lifecycle.
func NewLifecycle(cfg LifecycleConfig) (*Lifecycle, error) {
	if cfg.Directory == nil || cfg.Texts == nil || (cfg.Invite != nil && cfg.Outbox == nil) {
		return nil, errors.New("members: sign-up and invitations need the members app and texts, invitations an outbox")
	}
	l := &Lifecycle{cfg: cfg, dir: cfg.Directory, log: cfg.Logger, now: time.Now}
	if l.log == nil {
		l.log = zap.NewNop()
	}
	if cfg.Forget == nil {
		l.cfg.Forget = func(string, string) {}
	}
	if l.cfg.DefaultLang == "" {
		l.cfg.DefaultLang = "ja"
	}
	if cfg.SignUp != nil {
		s, err := signUpDefaults(*cfg.SignUp, cfg.Directory.fields)
		if err != nil {
			return nil, err
		}
		if s.Orgs != nil && cfg.Orgs == nil {
			return nil, fmt.Errorf("members: sign-up: organizations app %q is not wired", s.Orgs.App)
		}
		l.signUp = s
	}
	if cfg.Invite != nil {
		var err error
		if l.invite, l.keys, err = inviteDefaults(*cfg.Invite); err != nil {
			return nil, err
		}
		if l.cfg.InviteTTL <= 0 {
			l.cfg.InviteTTL = 7 * 24 * time.Hour
		}
	}
	if l.signUp.Notified == "" {
		l.signUp.Notified = "notified"
	}
	return l, nil
}

// SignUpOn and InvitesOn say which parts are configured.
func (l *Lifecycle) SignUpOn() bool  { return l.cfg.SignUp != nil }
func (l *Lifecycle) InvitesOn() bool { return l.cfg.Invite != nil }

// Form is the sign-up page's questions.
func (l *Lifecycle) Form() []membersconfig.FormField { return l.signUp.Form }

// query reads up to 100 records of the members app matching where,
// fresh: the poller acts on what they say.
func (d *Directory) query(ctx context.Context, where kql.Expr) ([]kintone.Record, error) {
	limit := 100
	q := &kql.Query{Where: where, Limit: &limit}
	return d.records(ctx, q, kintone.Request{Fresh: true, Priority: kintone.PriorityMember})
}

// record reads one record, fresh.
func (d *Directory) record(ctx context.Context, id string) (kintone.Record, error) {
	resp, err := d.client.Do(ctx, kintone.Request{Method: "GET", API: "record.json", GuestSpace: d.space, App: d.app,
		Tokens: d.tokens, Params: url.Values{"app": {d.app}, "id": {id}}, Fresh: true, Priority: kintone.PriorityMember})
	if err != nil {
		return nil, err
	}
	var body struct {
		Record kintone.Record `json:"record"`
	}
	if err := json.Unmarshal(resp.Body, &body); err != nil {
		return nil, fmt.Errorf("members app: %w", err)
	}
	return body.Record, nil
}

// update writes values to record id if it is still at revision, and
// returns its new revision. A record changed since fails with kintone's
// conflict (409): whoever reads it next decides again.
func (d *Directory) update(ctx context.Context, id, revision string, values map[string]string) (string, error) {
	record := map[string]any{}
	for code, v := range values {
		record[code] = map[string]any{"value": v}
	}
	resp, err := d.client.Do(ctx, kintone.Request{Method: "PUT", API: "record.json", GuestSpace: d.space, App: d.app,
		Tokens: d.tokens, Body: map[string]any{"app": d.app, "id": id, "revision": revision, "record": record}})
	if err != nil {
		return "", err
	}
	var body struct {
		Revision string `json:"revision"`
	}
	json.Unmarshal(resp.Body, &body)
	return body.Revision, nil
}

func (d *Directory) add(ctx context.Context, values map[string]string) error {
	record := map[string]any{}
	for code, v := range values {
		record[code] = map[string]any{"value": v}
	}
	_, err := d.client.Do(ctx, kintone.Request{Method: "POST", API: "record.json", GuestSpace: d.space, App: d.app,
		Tokens: d.tokens, Body: map[string]any{"app": d.app, "record": record}})
	return err
}

func conflict(err error) bool {
	var ke *kintone.Error
	return errors.As(err, &ke) && ke.Status == http.StatusConflict
}

func recordID(r kintone.Record) string { return text(r["$id"]) }
func revision(r kintone.Record) string { return text(r["$revision"]) }

// keyedMutex serializes work per key (one person's sign-up) within this
// instance; the members app's unique e-mail field does across instances.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyLock
}

type keyLock struct {
	sync.Mutex
	n int
}

func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &keyLock{}
		k.locks[key] = l
	}
	l.n++
	k.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		k.mu.Lock()
		if l.n--; l.n == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}

func notFound(err error) bool {
	var ke *kintone.Error
	return errors.As(err, &ke) && ke.Status == http.StatusNotFound
}
