package members

import (
	"context"
	"errors"
	"net/url"
	"time"

	"go.uber.org/zap"

	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/auth"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kql"
	"github.com/kgate/kgate/internal/mail"
)

// The poller tells people what the staff did in kintone: a sign-up
// approved or refused, an invitation to send. It asks the members app
// for the records that need it (a marker field says so) and, for each,
// hands the e-mail to the outbox first and changes the marker after,
// pinned to the revision it read.
//
// So a restart never loses an e-mail: the marker changes only once the
// outbox — which keeps what it takes across restarts — has the message.
// A crash in the moment between the two leaves the marker as it was, and
// the next poll hands the same message again: a person may get it twice,
// never not at all. Invitations write the link's one-time value into the
// record before the mail is handed over, and a record found still marked
// "send" with a value reuses it, so a repeated invitation carries the same
// link and both copies work (once). A staff edit in between makes the
// marker write fail with a conflict; the next poll decides afresh.

// Poll runs one round: decisions on sign-ups, then invitations.
func (l *Lifecycle) Poll(ctx context.Context) error {
	var errs []error
	if l.SignUpOn() {
		errs = append(errs, l.pollDecisions(ctx))
	}
	if l.InvitesOn() {
		errs = append(errs, l.pollInvites(ctx))
	}
	return errors.Join(errs...)
}

// Run polls every interval until ctx ends.
func (l *Lifecycle) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := l.Poll(ctx); err != nil && ctx.Err() == nil {
			l.log.Warn("members app: sign-up and invitation notices could not all be sent; the next round retries", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func textCond(field string, op kql.Op, values ...string) *kql.Cond {
	c := &kql.Cond{Field: field, Op: op}
	for _, v := range values {
		c.Values = append(c.Values, kql.Value{Kind: kql.String, Text: v})
	}
	return c
}

// pollDecisions mails each person whose sign-up the staff decided.
func (l *Lifecycle) pollDecisions(ctx context.Context) error {
	f := l.dir.fields
	where := &kql.And{Terms: []kql.Expr{
		textCond(l.signUp.Notified, kql.Eq, awaitingDecision),
		textCond(f.State, kql.In, auth.MemberActive, auth.MemberRefused),
	}}
	records, err := l.dir.query(ctx, where)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range records {
		errs = append(errs, l.tellDecision(ctx, r))
	}
	return errors.Join(errs...)
}

func (l *Lifecycle) tellDecision(ctx context.Context, r kintone.Record) error {
	f := l.dir.fields
	state, email := text(r[f.State]), text(r[f.Email])
	lang := l.langOf(r)
	kind := "approved"
	if state == auth.MemberRefused {
		kind = "refused"
	}
	name := text(r[f.Name])
	m := mail.Message{To: email, Lang: lang, Kind: "signup",
		Subject: l.cfg.Texts(lang, "mail."+kind+".subject"),
		Text:    l.cfg.Texts(lang, "mail."+kind+".text", name, l.cfg.SiteURL+"/")}
	if err := l.cfg.Outbox.Enqueue(ctx, m); err != nil {
		return err
	}
	l.cfg.Audit.LogContext(ctx, audit.Event{Kind: "signup_" + kind, Subject: text(r[f.Subject]), Email: email,
		Org: text(r[f.Org]), Outcome: "ok"})
	l.cfg.Forget(email, text(r[f.Subject]))
	_, err := l.dir.update(ctx, recordID(r), revision(r), map[string]string{l.signUp.Notified: state})
	if conflict(err) {
		return nil
	}
	return err
}

// pollInvites sends each invitation the staff asked for.
func (l *Lifecycle) pollInvites(ctx context.Context) error {
	records, err := l.dir.query(ctx, textCond(l.invite.Field, kql.In, inviteSend))
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range records {
		errs = append(errs, l.sendInvite(ctx, r))
	}
	return errors.Join(errs...)
}

func (l *Lifecycle) sendInvite(ctx context.Context, r kintone.Record) error {
	f := l.dir.fields
	id, rev, nonce := recordID(r), revision(r), text(r[l.invite.Nonce])
	if nonce == "" {
		nonce = newNonce()
		var err error
		if rev, err = l.dir.update(ctx, id, rev, map[string]string{l.invite.Nonce: nonce}); err != nil {
			if conflict(err) {
				return nil
			}
			return err
		}
	}
	exp := l.now().Add(l.cfg.InviteTTL)
	link := l.cfg.SiteURL + l.cfg.LoginPath + "?invite=" + url.QueryEscape(l.token(invitation{record: id, nonce: nonce, exp: exp}))
	lang := l.langOf(r)
	until := exp.UTC().Format("2006-01-02 15:04 UTC")
	m := mail.Message{To: text(r[f.Email]), Lang: lang, Kind: "invite",
		Subject: l.cfg.Texts(lang, "mail.invite.subject"),
		Text:    l.cfg.Texts(lang, "mail.invite.text", text(r[f.Name]), link, until)}
	if err := l.cfg.Outbox.Enqueue(ctx, m); err != nil {
		return err
	}
	l.cfg.Audit.LogContext(ctx, audit.Event{Kind: "invite_sent", Subject: text(r[f.Subject]), Email: m.To,
		Org: text(r[f.Org]), RecordIDs: []string{id}, Outcome: "ok"})
	_, err := l.dir.update(ctx, id, rev, map[string]string{l.invite.Field: inviteSent})
	if conflict(err) {
		return nil
	}
	return err
}

// langOf is the language of the member's e-mail: the lang field's, else
// the default.
func (l *Lifecycle) langOf(r kintone.Record) string {
	if l.dir.fields.Lang == "" {
		return l.cfg.DefaultLang
	}
	return langOr(text(r[l.dir.fields.Lang]), l.cfg.DefaultLang)
}
