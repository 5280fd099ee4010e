package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/auth"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kintonesim"
	"github.com/kgate/kgate/internal/mail"
	"github.com/kgate/kgate/internal/members"
	"github.com/kgate/kgate/internal/notify"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/portalconfig"
)

// The world of these tests: a tickets app (id 5) and a members app (id 1)
// with five active members and one inactive, in two organizations and
// two languages.
const (
	ticketsApp = "5"
	membersApp = "1"
	secret     = "a-webhook-secret-of-at-least-32-characters"
)

// Values no member may read under the policies below: a mail holding one
// leaks.
const (
	hiddenNote   = "NOTE-7c1f-never-mailed"
	maskedAmount = "918273"
)

type member struct {
	email, name, org, level, lang, state string
	off, digest                          bool
}

var people = []member{
	{email: "alice@acme.example", name: "Alice", org: "acme", level: "gold", lang: "en", state: "active"},
	{email: "bob@acme.example", name: "Bob", org: "acme", level: "silver", lang: "ja", state: "active"},
	{email: "carol@bluebird.example", name: "Carol", org: "bluebird", level: "gold", lang: "en", state: "active"},
	{email: "dave@bluebird.example", name: "Dave", org: "bluebird", level: "silver", lang: "", state: "active"},
	{email: "eve@cosmo.example", name: "Eve", org: "cosmo", level: "silver", lang: "en", state: "active"},
	{email: "erin@acme.example", name: "Erin", org: "acme", level: "gold", lang: "en", state: "inactive"},
}

// orgPolicy: members read their organization's tickets; silver members see
// the amount masked; nobody reads the note; comments only for gold.
const orgPolicy = `package kgate

allow if {
	input.app.alias == "tickets"
	input.action == "read"
	input.user.level in {"silver", "gold"}
}

allow if {
	input.app.alias == "tickets"
	input.action == "comment.read"
	input.user.level == "gold"
}

include if input.record.org == input.user.org

readable contains f if some f in {"title", "org", "amount", "status_text"}

masks.amount := "0" if input.user.level == "silver"
`

// goldPolicy: only gold members, of any organization, read tickets marked
// for every partner; everyone reads comments they can reach.
const goldPolicy = `package kgate

allow if {
	input.app.alias == "tickets"
	input.action in {"read", "comment.read"}
	input.user.level == "gold"
}

include if input.record.org == input.user.org
include if input.record.shared == "yes"

readable contains f if some f in {"title", "org", "note", "amount"}
`

type world struct {
	t       *testing.T
	sim     *kintonesim.Server
	url     string
	gw      *gateway.Gateway
	box     *memoryOutbox
	logs    *observer.ObservedLogs
	n       *notify.Notifier
	now     time.Time
	webhook http.Handler
	dir     *countingDirectory
	cfg     notify.Config
}

// notifier is a further Notifier on the world's config changed by tweak,
// as another instance or a restart would make; it is closed when the
// test ends.
func (w *world) notifier(tweak func(*notify.Config)) *notify.Notifier {
	w.t.Helper()
	cfg := w.cfg
	if tweak != nil {
		tweak(&cfg)
	}
	n, err := notify.New(cfg)
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { n.Close() })
	return n
}

// countingDirectory counts the listings of the members app.
type countingDirectory struct {
	*members.Directory
	mu    sync.Mutex
	lists int
}

func (d *countingDirectory) Active(ctx context.Context) ([]members.Subscriber, error) {
	d.mu.Lock()
	d.lists++
	d.mu.Unlock()
	return d.Directory.Active(ctx)
}

// newWorld runs the simulator with the people (changed by tweak) and the
// tickets, kgate's gateway under policy, and a Notifier with rate.
func newWorld(t *testing.T, policyText string, rate int, tweak func([]member) []member) *world {
	t.Helper()
	ppl := slices.Clone(people)
	if tweak != nil {
		ppl = tweak(ppl)
	}
	sim, err := kintonesim.New(seed(ppl))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tickets.rego"), []byte(policyText), 0o644); err != nil {
		t.Fatal(err)
	}
	eng, err := policy.Open(context.Background(), policy.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	client, err := kintone.NewClient(kintone.Config{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	core, logs := observer.New(zap.InfoLevel)
	gw, err := gateway.New(gateway.Config{Client: client, Policy: eng, Logger: zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)),
		Apps: []gateway.App{{ID: ticketsApp, Alias: "tickets", Tokens: []string{"tok-tickets"}}}})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, sim: sim, url: srv.URL, gw: gw, box: &memoryOutbox{}, logs: logs, now: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)}
	w.dir = &countingDirectory{Directory: members.New(client, membersApp, "", []string{"tok-members"},
		members.Fields{Lang: "language", NotifyOff: "notify_off", Digest: "digest"})}
	w.cfg = notify.Config{
		Gateway: gw, Members: w.dir, Identify: identify, Outbox: w.box, Audit: audit.New(zap.New(core)),
		Logger: zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)), Secret: secret, PortalURL: "https://partners.example.com/",
		Site: portalconfig.Text{Ja: "パートナーポータル", En: "Partner Portal"}, DefaultLang: "ja", Rate: rate,
		Now: func() time.Time { return w.now }, DigestDir: t.TempDir(),
	}
	w.n = w.notifier(nil)
	w.webhook = http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.n.ServeHTTP(rw, r, strings.TrimPrefix(r.URL.Path, "/kgate/webhooks/"))
	})
	return w
}

// identify gives a member's identity as kgate's login does from the
// members app (auth.Auth.IdentityOf without groups or a default level).
func identify(m *auth.Member) (*identity.Identity, error) {
	if m.Level == "" {
		return nil, &auth.ForbiddenError{Reason: auth.ReasonNoLevel}
	}
	return &identity.Identity{Subject: m.Subject, Email: m.Email, Name: m.Name, Level: m.Level, Org: m.Org, Groups: m.Groups}, nil
}

func raw(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func val(v any) json.RawMessage { return raw(map[string]any{"value": v}) }

func seed(ppl []member) *kintonesim.Seed {
	field := func(typ, code, label string, extra ...any) json.RawMessage {
		f := map[string]any{"type": typ, "code": code, "label": label}
		for i := 0; i+1 < len(extra); i += 2 {
			f[extra[i].(string)] = extra[i+1]
		}
		return raw(f)
	}
	mem := kintonesim.SeedApp{ID: 1, Name: "Members", Tokens: []kintonesim.SeedToken{{Token: "tok-members", View: true, Edit: true}},
		Fields: []json.RawMessage{
			field("SINGLE_LINE_TEXT", "email", "E-mail"), field("SINGLE_LINE_TEXT", "sub", "Subject"),
			field("SINGLE_LINE_TEXT", "name", "Name"), field("SINGLE_LINE_TEXT", "org", "Organization"),
			field("DROP_DOWN", "level", "Level", "options", []string{"silver", "gold"}),
			field("DROP_DOWN", "state", "State", "options", []string{"active", "inactive", "pending"}),
			field("DROP_DOWN", "language", "Language", "options", []string{"ja", "en"}),
			field("CHECK_BOX", "notify_off", "No notifications", "options", []string{"off"}),
			field("CHECK_BOX", "digest", "Digest", "options", []string{"digest"}),
		}}
	for _, p := range ppl {
		off, dig := []string{}, []string{}
		if p.off {
			off = []string{"off"}
		}
		if p.digest {
			dig = []string{"digest"}
		}
		var lang any
		if p.lang != "" {
			lang = p.lang
		}
		mem.Records = append(mem.Records, map[string]json.RawMessage{
			"email": val(p.email), "sub": val("u-" + p.name), "name": val(p.name), "org": val(p.org),
			"level": val(p.level), "state": val(p.state), "language": val(lang), "notify_off": val(off), "digest": val(dig),
		})
	}
	tickets := kintonesim.SeedApp{ID: 5, Name: "Tickets", Tokens: []kintonesim.SeedToken{{Token: "tok-tickets", View: true, Edit: true, Add: true}},
		Fields: []json.RawMessage{
			field("SINGLE_LINE_TEXT", "title", "Title", "labels", map[string]string{"ja": "件名"}),
			field("DROP_DOWN", "org", "Organization", "options", []string{"acme", "bluebird", "cosmo"}, "labels", map[string]string{"ja": "組織"}),
			field("NUMBER", "amount", "Amount", "labels", map[string]string{"ja": "金額"}),
			field("MULTI_LINE_TEXT", "note", "Internal note", "labels", map[string]string{"ja": "社内メモ"}),
			field("DROP_DOWN", "shared", "Shared", "options", []string{"yes", "no"}),
			field("SINGLE_LINE_TEXT", "status_text", "Progress", "labels", map[string]string{"ja": "進捗"}),
		},
		Records: []map[string]json.RawMessage{
			{"title": val("Acme printer order"), "org": val("acme"), "amount": val(maskedAmount), "note": val(hiddenNote), "shared": val("no"), "status_text": val("new")},
			{"title": val("Bluebird freight"), "org": val("bluebird"), "amount": val("100"), "note": val("bluebird note"), "shared": val("yes"), "status_text": val("new")},
			{"title": val("Acme second order"), "org": val("acme"), "amount": val("200"), "note": val(hiddenNote), "shared": val("no"), "status_text": val("new")},
		},
		Comments: []kintonesim.SeedComment{
			{Record: 1, Text: "Shipment leaves Monday", Mentions: []kintonesim.SeedMention{{Code: "guest/bob@acme.example", Type: "USER"}}},
		},
	}
	// kintone knows a guest by "guest/" and the address.
	bob := kintonesim.SeedUser{Code: "guest/bob@acme.example", Password: "pw", Name: "Bob", Email: "bob@acme.example"}
	return &kintonesim.Seed{Users: []kintonesim.SeedUser{bob}, Apps: []kintonesim.SeedApp{mem, tickets}}
}

// post sends a webhook body to kgate's URL with the given secret.
func (w *world) post(secret string, body any) *httptest.ResponseRecorder {
	w.t.Helper()
	var b []byte
	switch v := body.(type) {
	case string:
		b = []byte(v)
	default:
		b = raw(v)
	}
	rec := httptest.NewRecorder()
	w.webhook.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/kgate/webhooks/"+secret, bytes.NewReader(b)))
	return rec
}

// hook is kintone's webhook payload for a change to record id of the
// tickets app, with the record kintone would attach.
func hook(typ, id string) map[string]any {
	p := map[string]any{"id": "0b1c", "type": typ, "app": map[string]any{"id": ticketsApp, "name": "Tickets"},
		"url": "https://example.cybozu.com/k/5/show#record=" + id}
	switch typ {
	case "ADD_RECORD_COMMENT":
		p["recordId"] = id
		p["comment"] = map[string]any{"id": "1", "text": "Shipment leaves Monday"}
	case "DELETE_RECORD":
		p["recordId"] = id
	default:
		p["record"] = map[string]any{"$id": map[string]any{"type": "__ID__", "value": id}}
	}
	return p
}

// update changes record id of the tickets app in the simulator, as staff
// would in kintone.
func (w *world) update(id string, fields map[string]any) {
	w.t.Helper()
	rec := map[string]any{}
	for k, v := range fields {
		rec[k] = map[string]any{"value": v}
	}
	body := raw(map[string]any{"app": ticketsApp, "id": id, "record": rec})
	req, _ := http.NewRequest(http.MethodPut, w.url+"/k/v1/record.json", bytes.NewReader(body))
	req.Header.Set("X-Cybozu-API-Token", "tok-tickets")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		w.t.Fatalf("update record %s: %s", id, resp.Status)
	}
}

// notices are the audit log's notify events.
func (w *world) notices() []map[string]any {
	var out []map[string]any
	for _, e := range w.logs.FilterMessage("notify").All() {
		out = append(out, e.ContextMap())
	}
	return out
}

// memoryOutbox keeps the messages handed to it.
type memoryOutbox struct {
	mu   sync.Mutex
	msgs []mail.Message
}

func (o *memoryOutbox) Enqueue(_ context.Context, m mail.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.msgs = append(o.msgs, m)
	return nil
}

func (o *memoryOutbox) take() []mail.Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := o.msgs
	o.msgs = nil
	slices.SortFunc(out, func(a, b mail.Message) int { return strings.Compare(a.To, b.To) })
	return out
}

func recipients(msgs []mail.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.To)
	}
	return out
}
