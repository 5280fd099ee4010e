package notify

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/mail"
	"github.com/kgate/kgate/internal/members"
)

// Bounds of the changes waiting for digests: at about 150 bytes a change,
// 100,000 in all take about 15 MB. Past a bound the change is counted, and
// the digest says how many more there were.
const (
	maxDigestPerMember = 50
	maxDigestTotal     = 100000
)

// pending is a change held for a member's digest: ids and time only, as
// stored. The digest reads the record again and judges it under the
// policy of that moment, so it never shows what the member may no longer
// read.
type pending struct {
	App     string    `json:"app"` // kintone's app id
	Record  string    `json:"record"`
	Event   string    `json:"event"` // the message name: added, edited, status or comment
	Comment string    `json:"comment,omitempty"`
	Mention bool      `json:"mention,omitempty"`
	At      time.Time `json:"at"`
}

// queue is one member's changes waiting.
type queue struct {
	Items []pending `json:"items"`
	More  int       `json:"more,omitempty"` // changes past the bounds
}

// Run sends the digests every DigestEvery until ctx ends.
func (n *Notifier) Run(ctx context.Context) {
	t := time.NewTicker(n.cfg.DigestEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := n.FlushDigests(ctx); err != nil {
				n.log.Warn("digests not sent; they wait for the next period", zap.Error(err))
			}
		}
	}
}

// FlushDigests mails every member their waiting changes, one e-mail each,
// each record read again and judged for the member now. A member's
// changes leave the store once their e-mail is in the outbox; those of a
// member no longer active are dropped.
func (n *Notifier) FlushDigests(ctx context.Context) error {
	waiting, err := n.store.members(ctx)
	if err != nil || len(waiting) == 0 {
		return err
	}
	subs, err := n.active(ctx)
	if err != nil {
		return err
	}
	byEmail := map[string]members.Subscriber{}
	for _, s := range subs {
		if s.Email != "" {
			byEmail[strings.ToLower(s.Email)] = s
		}
	}
	ctx = n.cfg.Gateway.Pin(ctx)
	r := &reader{n: n, snaps: map[string]*gateway.Snapshot{}, comments: map[string]*gateway.Comment{}}
	var errs []error
	for _, member := range waiting {
		errs = append(errs, n.flush(ctx, member, byEmail, r))
	}
	return errors.Join(errs...)
}

// flush claims one member's changes, mails them and removes them; when
// the outbox refuses the e-mail they stay for the next period.
func (n *Notifier) flush(ctx context.Context, member string, byEmail map[string]members.Subscriber, r *reader) error {
	q, err := n.store.claim(ctx, member)
	if err != nil || q == nil {
		return err
	}
	if s, ok := byEmail[member]; ok {
		if err := n.digest(ctx, s, q, r); err != nil {
			return errors.Join(err, n.store.release(ctx, member, q))
		}
	}
	return n.store.done(ctx, member, q)
}

// reader reads each record and comment of one flush once, whoever's
// digest holds it.
type reader struct {
	n        *Notifier
	snaps    map[string]*gateway.Snapshot
	comments map[string]*gateway.Comment
}

func (r *reader) snapshot(ctx context.Context, app, record string) (*gateway.Snapshot, error) {
	key := app + "/" + record
	if s, ok := r.snaps[key]; ok {
		return s, nil
	}
	s, err := r.n.cfg.Gateway.ReadSnapshot(ctx, app, record)
	if errors.Is(err, gateway.ErrNoRecord) {
		s, err = nil, nil
	}
	if err == nil {
		r.snaps[key] = s
	}
	return s, err
}

func (r *reader) comment(ctx context.Context, s *gateway.Snapshot, id string) *gateway.Comment {
	key := s.Ref().ID + "/" + s.Record() + "/" + id
	if c, ok := r.comments[key]; ok {
		return c
	}
	c, err := r.n.cfg.Gateway.SnapshotComment(ctx, s, id)
	if err != nil {
		r.n.log.Warn("a comment could not be read again for a digest; it goes without its text", zap.Error(err))
	}
	r.comments[key] = c
	return c
}

// digest mails one member's waiting changes and audits each.
func (n *Notifier) digest(ctx context.Context, s members.Subscriber, q *queue, r *reader) error {
	var changes []change
	var events []audit.Event
	for _, p := range q.Items {
		ae := audit.Event{Kind: "notify", Subject: s.Subject, Email: s.Email, Org: s.Org, Level: s.Level,
			Action: "read", RecordIDs: []string{p.Record}, Change: changeOf(p.Event)}
		c, err := n.digestItem(ctx, s, p, r, &ae)
		switch {
		case err != nil:
			ae.Outcome, ae.Error = "error", err.Error()
		case c != nil && s.NotifyOff:
			ae.Outcome = "opted_out"
		case c != nil:
			changes = append(changes, *c)
			events = append(events, ae)
			continue
		}
		n.cfg.Audit.LogContext(ctx, ae)
	}
	if len(changes) == 0 {
		return nil
	}
	lang := n.lang(s)
	var b strings.Builder
	b.WriteString(text(lang, "greeting", s.Name) + "\n\n" + text(lang, "digest.intro") + "\n")
	for _, c := range changes {
		b.WriteString("\n----\n")
		c.write(&b, lang)
	}
	if q.More > 0 {
		b.WriteString("\n----\n" + text(lang, "digest.more", q.More) + "\n")
	}
	b.WriteString("\n-- \n" + text(lang, "footer", n.site(lang)) + "\n")
	err := n.cfg.Outbox.Enqueue(ctx, mail.Message{To: s.Email, Lang: lang, Kind: "notification",
		Subject: text(lang, "subject.digest", n.site(lang), strconv.Itoa(len(changes)+q.More)), Text: b.String()})
	for _, ae := range events {
		ae.Outcome = "sent"
		if err != nil {
			ae.Outcome, ae.Error = "error", err.Error()
		}
		n.cfg.Audit.LogContext(ctx, ae)
	}
	return err
}

// digestItem judges one waiting change for the member now: the change to
// write, or nil (with ae saying why) when there is nothing to tell.
func (n *Notifier) digestItem(ctx context.Context, s members.Subscriber, p pending, r *reader, ae *audit.Event) (*change, error) {
	snap, err := r.snapshot(ctx, p.App, p.Record)
	if err != nil {
		return nil, err
	}
	if snap == nil {
		ae.Outcome, ae.Error = "error", "the record is no longer in kintone"
		return nil, nil
	}
	ae.App = snap.App()
	who, nt, err := n.judge(ctx, s, snap)
	if err != nil {
		return nil, err
	}
	ae.PolicyVersion = nt.PolicyVersion
	if nt.Record == nil {
		ae.Outcome, ae.Reasons = "denied", nt.Reasons
		return nil, nil
	}
	ae.Level, ae.Allowed = who.Level, true
	var comment *gateway.Comment
	if p.Comment != "" {
		comment = r.comment(ctx, snap, p.Comment)
	}
	c, err := n.change(ctx, who, nt, snap, p, comment)
	return &c, err
}

// changeOf is the webhook type of a change's message name.
func changeOf(event string) string {
	for t, e := range events {
		if e == event {
			return t
		}
	}
	return ""
}
