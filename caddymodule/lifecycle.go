package caddymodule

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/kgate/kgate/internal/auth"
	"github.com/kgate/kgate/internal/members"
	"github.com/kgate/kgate/internal/portal"
)

// defaultPollInterval is how often the members app is asked for sign-up
// decisions and invitations to mail.
const defaultPollInterval = time.Minute

// memberLifecycle wires sign-up and invitations into cfg when the members
// settings ask for them, and starts the poller that mails decisions and
// invitations (it stops when Caddy unloads this configuration).
func (h *Handler) memberLifecycle(ctx caddy.Context, repl *caddy.Replacer, dir *members.Directory, cfg *auth.Config) error {
	m := h.Members
	if m.SignUp == nil && m.Invite == nil {
		return nil
	}
	if m.AddPending {
		return errors.New("members: add_pending and signup both handle unknown people: use one")
	}
	if h.portal == nil {
		return errors.New("members: signup and invite need the portal (add a `portal { … }` block)")
	}
	if m.Invite != nil && h.mailOutbox() == nil {
		return errors.New("members: invite e-mails the links: configure mail")
	}
	lc := members.LifecycleConfig{Directory: dir, SignUp: m.SignUp, InviteTTL: time.Duration(m.InviteTTL),
		Outbox: h.mailOutbox(), Texts: h.portal.Text, SiteURL: cfg.BaseURL, LoginPath: h.oidcPrefix() + "login",
		DefaultLang: h.Portal.DefaultLang, Logger: h.logger.Named("members"), Audit: h.audit,
		Forget: func(email, sub string) {
			if h.auth != nil {
				h.auth.ForgetMember(email, sub)
			}
		}}
	if m.Invite != nil {
		inv := *m.Invite
		inv.Keys = make([]string, len(m.Invite.Keys))
		for i, k := range m.Invite.Keys {
			inv.Keys[i] = repl.ReplaceKnown(k, "")
		}
		lc.Invite = &inv
	}
	if m.SignUp != nil && m.SignUp.Orgs != nil {
		a, ok := h.app(m.SignUp.Orgs.App)
		if !ok {
			return fmt.Errorf("members: signup orgs: app %q is not among the configured apps", m.SignUp.Orgs.App)
		}
		lc.Orgs = members.NewOrgsApp(h.client, a.ID, a.GuestSpace, a.Tokens, *m.SignUp.Orgs)
	}
	if h.mailOutbox() == nil {
		// Sign-up works without mail; people then learn the decision
		// at their next login only.
		h.logger.Warn("members: sign-up is on but no mail is configured: people are not e-mailed the staff's decision")
	}
	l, err := members.NewLifecycle(lc)
	if err != nil {
		return err
	}
	h.lifecycle = l
	if m.SignUp != nil {
		cfg.SignUpURL = portal.SignUpPath
	}
	if m.Invite != nil {
		cfg.Invitations = l
	}
	if h.mailOutbox() != nil {
		interval := time.Duration(m.PollInterval)
		if interval <= 0 {
			interval = defaultPollInterval
		}
		go l.Run(ctx, interval)
	}
	return nil
}

// serveSignUp answers the sign-up page; its POST must come from kgate's
// own pages like every other form.
func (h *Handler) serveSignUp(w http.ResponseWriter, r *http.Request) {
	if !safeMethod(r) && !h.sameOrigin(r) {
		h.refusePage(w, r, errCrossSite)
		return
	}
	h.portal.ServeSignUp(w, r, h.lifecycle, h.auth)
}

func (h *Handler) app(alias string) (App, bool) {
	for _, a := range h.Apps {
		if a.Alias == alias {
			return a, true
		}
	}
	return App{}, false
}
