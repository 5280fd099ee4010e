// Package notify tells members by e-mail when a record they may read
// changes in kintone. kintone's webhook says that something changed; kgate
// takes from it only the app, the record and the kind of change, reads the
// record itself, and judges it for every active member with the gateway's
// own read filter: a member hears of a record only when their policy lets
// them read it, and the e-mail holds only the fields they may read, masks
// applied.
package notify

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/auth"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/mail"
	"github.com/kgate/kgate/internal/members"
	"github.com/kgate/kgate/portalconfig"
)

// Directory lists the active members and their e-mail preferences
// (*members.Directory).
type Directory interface {
	Active(ctx context.Context) ([]members.Subscriber, error)
}

// Config wires a Notifier.
type Config struct {
	Gateway *gateway.Gateway
	Members Directory
	// Identify gives a member's identity as their login would
	// (auth.Auth.IdentityOf).
	Identify func(*auth.Member) (*identity.Identity, error)
	Outbox   mail.Outbox
	Audit    *audit.Logger
	Logger   *zap.Logger
	// Secret is the last segment of the webhook's URL.
	Secret string
	// PortalURL is the portal's base URL; links are PortalURL +
	// /apps/{alias}/records/{id}.
	PortalURL string
	// Apps are the aliases of the apps whose changes are told; empty:
	// every app kgate opens.
	Apps []string
	// Site names the portal in subjects; AppNames replace kintone's app
	// names (the portal's settings); TitleFields name each app's title
	// field.
	Site        portalconfig.Text
	AppNames    map[string]portalconfig.Text
	TitleFields map[string]string
	// DefaultLang is the language of members whose record names none
	// ("ja" unless "en").
	DefaultLang string
	// Rate is how many e-mails one member gets an hour at most (default
	// 20); changes past it wait for the member's next digest.
	Rate int
	// DigestEvery is the digest period (default 1h).
	DigestEvery time.Duration
	// MembersTTL is how long one listing of the active members serves
	// further webhooks (default 30s, as members' answers are trusted for
	// a while elsewhere): a burst of changes costs kintone one listing.
	MembersTTL time.Duration
	// Redis, when set, keeps the changes waiting for digests, shared by
	// every instance on it; else DigestDir does, for this instance alone.
	// One of the two is required.
	Redis     redis.UniversalClient
	DigestDir string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Notifier turns kintone's webhooks into e-mail. It is safe for
// concurrent use.
type Notifier struct {
	cfg    Config
	secret [32]byte
	apps   map[string]bool // by alias; nil: every app
	rate   *limiter
	store  store
	closed sync.Once
	log    *zap.Logger

	mu     sync.Mutex
	orders map[string]cached // field order by app id
	names  map[string]cached // kintone's app name by app id

	listMu   sync.Mutex // one listing at a time; the others wait for it
	listed   []members.Subscriber
	listedAt time.Time
}

type cached struct {
	order []string
	name  string
	at    time.Time
}

// formTTL is how long an app's name and field order are kept.
const formTTL = 5 * time.Minute

// New checks cfg and returns a Notifier.
func New(cfg Config) (*Notifier, error) {
	switch {
	case cfg.Gateway == nil || cfg.Members == nil || cfg.Identify == nil || cfg.Outbox == nil:
		return nil, errors.New("notify: a gateway, the members app, an identity source and an outbox are required")
	case len(cfg.Secret) < MinSecret:
		return nil, errors.New("notify: the webhook secret must be at least 32 characters")
	}
	u, err := url.Parse(cfg.PortalURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("notify: portal_url must be the portal's absolute URL, e.g. https://partners.example.com")
	}
	cfg.PortalURL = strings.TrimRight(cfg.PortalURL, "/")
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rate <= 0 {
		cfg.Rate = 20
	}
	if cfg.DigestEvery <= 0 {
		cfg.DigestEvery = time.Hour
	}
	if cfg.MembersTTL <= 0 {
		cfg.MembersTTL = 30 * time.Second
	}
	cfg.DefaultLang = langOf(cfg.DefaultLang, "ja")
	n := &Notifier{cfg: cfg, secret: hash(cfg.Secret), log: cfg.Logger,
		rate: newLimiter(cfg.Rate, maxRateEntries), orders: map[string]cached{}, names: map[string]cached{}}
	for _, alias := range cfg.Apps {
		if _, ok := cfg.Gateway.Ref(alias); !ok {
			return nil, errors.New("notify: app " + alias + " is not one of kgate's apps")
		}
		if n.apps == nil {
			n.apps = map[string]bool{}
		}
		n.apps[alias] = true
	}
	switch {
	case cfg.Redis != nil:
		n.store = newRedisStore(cfg.Redis, maxDigestPerMember, maxDigestTotal)
	case cfg.DigestDir != "":
		if n.store, err = openDirStore(cfg.DigestDir, maxDigestPerMember, maxDigestTotal); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("notify: the digests need Redis or a directory")
	}
	return n, nil
}

// Close lets go of the digests' store; what waits stays there for the
// next start. Call it once Run has ended.
func (n *Notifier) Close() error {
	var err error
	n.closed.Do(func() { err = n.store.close() })
	return err
}

// Event is what kgate takes from a webhook: nothing else of it is used.
type Event struct {
	Type    string // ADD_RECORD, UPDATE_RECORD, UPDATE_STATUS or ADD_RECORD_COMMENT
	App     string // kintone's app id
	Record  string // the record id
	Comment string // the comment id, for ADD_RECORD_COMMENT
}

// events maps the webhook types kgate tells members about to the names
// its messages use.
var events = map[string]string{
	"ADD_RECORD": "added", "UPDATE_RECORD": "edited", "UPDATE_STATUS": "status", "ADD_RECORD_COMMENT": "comment",
}

// Handle tells every member who may read ev's record about it. Members
// are judged one by one; a failure for one is audited and the others go
// on. The error is for a failure that stops them all (kintone or the
// members app unreachable).
func (n *Notifier) Handle(ctx context.Context, ev Event) error {
	alias, ok := n.cfg.Gateway.Notifies(ev.App)
	if !ok || n.apps != nil && !n.apps[alias] || events[ev.Type] == "" {
		n.log.Info("webhook ignored: not an app or a change kgate tells members about",
			zap.String("app", ev.App), zap.String("type", ev.Type))
		return nil
	}
	snap, err := n.cfg.Gateway.ReadSnapshot(ctx, ev.App, ev.Record)
	if errors.Is(err, gateway.ErrNoRecord) {
		n.log.Info("webhook for a record kintone does not have; nobody is told", zap.String("app", alias), zap.String("record", ev.Record))
		return nil
	}
	if err != nil {
		return err
	}
	var comment *gateway.Comment
	if ev.Type == "ADD_RECORD_COMMENT" {
		if comment, err = n.cfg.Gateway.SnapshotComment(ctx, snap, ev.Comment); err != nil {
			return err
		}
		if comment == nil {
			n.log.Info("webhook for a comment kintone does not have; nobody is told", zap.String("app", alias),
				zap.String("record", ev.Record), zap.String("comment", ev.Comment))
			return nil
		}
	}
	subs, err := n.active(ctx)
	if err != nil {
		return err
	}
	ctx = n.cfg.Gateway.Pin(ctx) // every member judged under one policy version
	for _, s := range subs {
		n.tell(ctx, ev, snap, comment, s)
	}
	return nil
}

// active lists the active members, from the last listing while it is
// younger than MembersTTL.
func (n *Notifier) active(ctx context.Context) ([]members.Subscriber, error) {
	n.listMu.Lock()
	defer n.listMu.Unlock()
	if n.listed != nil && n.cfg.Now().Sub(n.listedAt) < n.cfg.MembersTTL {
		return n.listed, nil
	}
	subs, err := n.cfg.Members.Active(ctx)
	if err != nil {
		return nil, err
	}
	if subs == nil {
		subs = []members.Subscriber{}
	}
	n.listed, n.listedAt = subs, n.cfg.Now()
	return subs, nil
}

// tell judges one change for one member and mails, holds for the digest,
// or skips it — and audits which.
func (n *Notifier) tell(ctx context.Context, ev Event, snap *gateway.Snapshot, comment *gateway.Comment, s members.Subscriber) {
	ae := audit.Event{Kind: "notify", Subject: s.Subject, Email: s.Email, Org: s.Org, Level: s.Level,
		App: snap.App(), Action: "read", RecordIDs: []string{snap.Record()}, Change: ev.Type}
	defer func() { n.cfg.Audit.LogContext(ctx, ae) }()
	if s.Email == "" {
		ae.Outcome, ae.Error = "error", "the member has no e-mail address"
		return
	}
	id, nt, err := n.judge(ctx, s, snap)
	if nt != nil {
		ae.PolicyVersion = nt.PolicyVersion
	}
	if id != nil {
		ae.Level = id.Level
	}
	switch {
	case err != nil:
		ae.Outcome, ae.Error = "error", err.Error()
		return
	case nt.Record == nil:
		ae.Outcome, ae.Reasons = "denied", nt.Reasons
		return
	}
	ae.Allowed = true
	mention := comment != nil && mentions(comment, s.Member)
	item := pending{App: ev.App, Record: snap.Record(), Event: events[ev.Type], Mention: mention, At: n.cfg.Now()}
	if comment != nil {
		item.Comment = comment.ID
	}
	switch {
	case s.NotifyOff:
		ae.Outcome = "opted_out"
	case s.Digest && !mention:
		ae.Outcome = "digest"
		n.hold(ctx, s, item, &ae)
	case !n.rate.allow(s.Email, n.cfg.Now()):
		ae.Outcome = "rate_limited"
		n.hold(ctx, s, item, &ae)
	default:
		ae.Outcome = "sent"
		if err := n.send(ctx, s, id, nt, snap, item, comment); err != nil {
			ae.Outcome, ae.Error = "error", err.Error()
		}
	}
}

// hold stores item for the member's digest before the webhook is
// answered; a change that could not be stored is audited as an error.
func (n *Notifier) hold(ctx context.Context, s members.Subscriber, item pending, ae *audit.Event) {
	if err := n.store.add(ctx, strings.ToLower(s.Email), item); err != nil {
		ae.Outcome, ae.Error = "error", err.Error()
	}
}

// judge is the member's identity and their view of snap.
func (n *Notifier) judge(ctx context.Context, s members.Subscriber, snap *gateway.Snapshot) (*identity.Identity, *gateway.Notice, error) {
	m := s.Member
	id, err := n.cfg.Identify(&m)
	var fe *auth.ForbiddenError
	if errors.As(err, &fe) {
		return nil, &gateway.Notice{Reasons: []string{fe.Reason}}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	id.Lang = n.lang(s)
	nt, err := n.cfg.Gateway.NoticeFor(ctx, id, snap)
	return id, nt, err
}

func (n *Notifier) lang(s members.Subscriber) string { return langOf(s.Lang, n.cfg.DefaultLang) }

// send mails one change to one member.
func (n *Notifier) send(ctx context.Context, s members.Subscriber, id *identity.Identity, nt *gateway.Notice,
	snap *gateway.Snapshot, item pending, comment *gateway.Comment) error {
	c, err := n.change(ctx, id, nt, snap, item, comment)
	if err != nil {
		return err
	}
	lang := id.Lang
	var b strings.Builder
	b.WriteString(text(lang, "greeting", s.Name) + "\n\n")
	c.write(&b, lang)
	b.WriteString("\n-- \n" + text(lang, "footer", n.site(lang)) + "\n")
	return n.cfg.Outbox.Enqueue(ctx, mail.Message{To: s.Email, Lang: lang, Subject: c.subject(lang, n.site(lang)),
		Text: b.String(), Kind: "notification"})
}

// change is the member's view of one change, ready to write.
func (n *Notifier) change(ctx context.Context, id *identity.Identity, nt *gateway.Notice, snap *gateway.Snapshot,
	item pending, comment *gateway.Comment) (change, error) {
	lang := id.Lang
	form, err := n.cfg.Gateway.FormFields(ctx, id, snap.Ref(), lang)
	if err != nil {
		return change{}, err
	}
	v := view{props: form.Properties, masked: form.Masked}
	if err := unmarshalRecord(nt.Record, &v.record); err != nil {
		return change{}, err
	}
	order := n.order(ctx, snap.Ref().ID)
	c := change{event: item.Event, mention: item.Mention, app: n.appName(ctx, snap, lang), record: snap.Record(),
		link:   n.cfg.PortalURL + "/apps/" + url.PathEscape(snap.App()) + "/records/" + url.PathEscape(snap.Record()),
		fields: v.lines(lang, order), title: n.title(v, snap.App(), order)}
	if comment != nil && nt.Comments {
		c.comment = comment.Text
	}
	return c, nil
}

// title is the record's title as the member sees it: the app's title
// field, else the first single-line text in form order; never a masked
// field.
func (n *Notifier) title(v view, alias string, order []string) string {
	pick := func(code string) string {
		fv, ok := v.record[code]
		if !ok || v.masked[code] {
			return ""
		}
		return plain(fv.Type, fv.Value)
	}
	if code := n.cfg.TitleFields[alias]; code != "" {
		return pick(code)
	}
	for _, code := range order {
		if p, ok := v.props[code]; ok && p.Type == "SINGLE_LINE_TEXT" {
			if t := pick(code); t != "" {
				return t
			}
		}
	}
	return ""
}

func (n *Notifier) site(lang string) string {
	if t := n.cfg.Site.In(lang); t != "" {
		return t
	}
	return "kgate"
}

// appName is the portal's name for the app, else kintone's.
func (n *Notifier) appName(ctx context.Context, snap *gateway.Snapshot, lang string) string {
	if t, ok := n.cfg.AppNames[snap.App()]; ok && !t.Empty() {
		return t.In(lang)
	}
	id := snap.Ref().ID
	n.mu.Lock()
	c, ok := n.names[id]
	n.mu.Unlock()
	if ok && n.cfg.Now().Sub(c.at) < formTTL {
		return c.name
	}
	name, err := n.cfg.Gateway.AppName(ctx, id)
	if err != nil {
		n.log.Warn("the app's name could not be read; the mail names it by its alias", zap.String("app", snap.App()), zap.Error(err))
		return snap.App()
	}
	n.mu.Lock()
	n.names[id] = cached{name: name, at: n.cfg.Now()}
	n.mu.Unlock()
	return name
}

// order is the app's field order; without it fields go by code.
func (n *Notifier) order(ctx context.Context, appID string) []string {
	n.mu.Lock()
	c, ok := n.orders[appID]
	n.mu.Unlock()
	if ok && n.cfg.Now().Sub(c.at) < formTTL {
		return c.order
	}
	order, err := n.cfg.Gateway.FieldOrder(ctx, appID)
	if err != nil {
		n.log.Warn("the app's layout could not be read; the mail lists fields by code", zap.String("app", appID), zap.Error(err))
		return nil
	}
	n.mu.Lock()
	n.orders[appID] = cached{order: order, at: n.cfg.Now()}
	n.mu.Unlock()
	return order
}

// mentions reports whether the comment names the member: a kintone user
// mention whose code is the member's e-mail address (a guest user's code
// is "guest/" and the address) or subject.
func mentions(c *gateway.Comment, m auth.Member) bool {
	var list []struct{ Code, Type string }
	if unmarshalRecord(c.Mentions, &list) != nil {
		return false
	}
	for _, e := range list {
		if e.Type != "USER" {
			continue
		}
		code := strings.TrimPrefix(e.Code, "guest/")
		if m.Email != "" && strings.EqualFold(code, m.Email) || m.Subject != "" && e.Code == m.Subject {
			return true
		}
	}
	return false
}
