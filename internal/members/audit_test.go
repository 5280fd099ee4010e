package members

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/auth"
)

// audited sends the lifecycle's audit events to an observer.
func (w *lifecycleWorld) audited() *observer.ObservedLogs {
	core, logs := observer.New(zap.InfoLevel)
	w.l.cfg.Audit = audit.New(zap.New(core))
	return logs
}

// events takes the events logged so far, each as its kind and its keys
// (lists written as [a b]).
func events(logs *observer.ObservedLogs) []string {
	var out []string
	for _, e := range logs.TakeAll() {
		m := e.ContextMap()
		keys := make([]string, 0, len(m))
		for _, k := range slices.Sorted(maps.Keys(m)) {
			keys = append(keys, fmt.Sprintf("%s=%v", k, m[k]))
		}
		out = append(out, e.Message+" "+strings.Join(keys, " "))
	}
	return out
}

// wantOne fails unless exactly the one event want was logged since the
// last call.
func wantOne(t *testing.T, logs *observer.ObservedLogs, want string) {
	t.Helper()
	if got := events(logs); len(got) != 1 || got[0] != want {
		t.Errorf("audited %q\nwant exactly %q", got, want)
	}
}

var henryAnswers = map[string]string{"name": "Henry Ono", "org_name": "Acme"}

// Every sign-up attempt is one signup event: who (from the token), the
// organization, and the outcome with the reason of a refusal.
func TestEachSignUpAttemptIsAuditedWithItsOutcome(t *testing.T) {
	ivy := auth.Applicant{Subject: "u-ivy", Email: "ivy@unknown.example"}
	tests := []struct {
		name    string
		before  func(w *lifecycleWorld) error // not audited in the test
		attempt func(w *lifecycleWorld) error
		want    string
	}{
		{"a sign-up filed", nil, func(w *lifecycleWorld) error {
			return w.l.SignUp(t.Context(), henry, henryAnswers)
		}, "signup email=henry@acme.example org=acme outcome=ok subject=u-henry"},
		{"a second sign-up of the same person files nothing", func(w *lifecycleWorld) error {
			return w.l.SignUp(t.Context(), henry, henryAnswers)
		}, func(w *lifecycleWorld) error {
			return w.l.SignUp(t.Context(), henry, henryAnswers)
		}, "signup email=henry@acme.example org=acme outcome=denied reasons=[" + reasonAlreadyKnown + "] subject=u-henry"},
		{"the sign-up page refuses a domain no organization lists", nil, func(w *lifecycleWorld) error {
			if ok, err := w.l.Allowed(t.Context(), ivy); ok || err != nil {
				return fmt.Errorf("Allowed = %v, %v", ok, err)
			}
			return nil
		}, "signup email=ivy@unknown.example outcome=denied reasons=[" + auth.ReasonSignUpDomain + "] subject=u-ivy"},
		{"a form sent from a domain no organization lists", nil, func(w *lifecycleWorld) error {
			if err := w.l.SignUp(t.Context(), ivy, henryAnswers); err == nil {
				return errors.New("filed")
			}
			return nil
		}, "signup email=ivy@unknown.example outcome=denied reasons=[" + auth.ReasonSignUpDomain + "] subject=u-ivy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newLifecycle(t, false)
			if tt.before != nil {
				if err := tt.before(w); err != nil {
					t.Fatal(err)
				}
			}
			logs := w.audited()
			if err := tt.attempt(w); err != nil {
				t.Fatal(err)
			}
			wantOne(t, logs, tt.want)
		})
	}
}

// Each decision handed to the outbox is one event naming it; a hand-over
// that fails is none, and its retry is.
func TestEachDecisionMailedIsAudited(t *testing.T) {
	w := newLifecycle(t, false)
	kai := auth.Applicant{Subject: "u-kai", Email: "kai@bluebird.example", Name: "Kai", Lang: "ja"}
	for _, who := range []auth.Applicant{henry, kai} {
		if err := w.l.SignUp(t.Context(), who, henryAnswers); err != nil {
			t.Fatal(err)
		}
	}
	logs := w.audited()
	w.set(t, "henry@acme.example", map[string]string{"state": "active", "level": "silver"})
	w.outbox.fail = 1
	if err := w.l.pollDecisions(t.Context()); err == nil {
		t.Fatal("a failed hand-over is not reported")
	}
	if got := events(logs); len(got) != 0 {
		t.Fatalf("a decision the outbox did not take is audited as mailed: %q", got)
	}
	if err := w.l.pollDecisions(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantOne(t, logs, "signup_approved email=henry@acme.example org=acme outcome=ok subject=u-henry")
	w.set(t, "kai@bluebird.example", map[string]string{"state": "refused"})
	if err := w.l.pollDecisions(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantOne(t, logs, "signup_refused email=kai@bluebird.example org=bluebird outcome=ok subject=u-kai")
}

// An invitation is audited when its mail is handed over, its use with the
// account it bound, and every refused link with why.
func TestInvitationsAreAuditedSentUsedAndRefusedWithTheReason(t *testing.T) {
	w := newLifecycle(t, false)
	logs := w.audited()
	w.set(t, "grace@cosmo.example", map[string]string{"invite": "send"})
	id := recordID(w.one(t, "grace@cosmo.example"))
	w.outbox.fail = 1
	if err := w.l.pollInvites(t.Context()); err == nil {
		t.Fatal("a failed hand-over is not reported")
	}
	if got := events(logs); len(got) != 0 {
		t.Fatalf("an invitation the outbox did not take is audited as sent: %q", got)
	}
	token := w.inviteToken(t, "grace@cosmo.example")
	wantOne(t, logs, "invite_sent email=grace@cosmo.example org=cosmo outcome=ok record_ids=["+id+"]")

	if err := w.l.Accept(t.Context(), token, "u-grace", "grace@cosmo.example"); err != nil {
		t.Fatal(err)
	}
	wantOne(t, logs, "invite_accepted email=grace@cosmo.example org=cosmo outcome=ok subject=u-grace")

	payload, mac, _ := strings.Cut(token, ".")
	tests := []struct {
		name, token string
		later       time.Duration
		check       bool // Check, at the login's start; else Accept, at its end
		want        string
	}{
		{"used, at the login's end", token, 0, false,
			"invite_refused email=mallory@cosmo.example outcome=denied reasons=[" + auth.ReasonInviteUsed + "] subject=u-mallory"},
		{"forged, at the login's start", payload + "." + mac[1:], 0, true,
			"invite_refused outcome=denied reasons=[" + auth.ReasonInviteInvalid + "]"},
		{"forged, at the login's end", payload + "x." + mac, 0, false,
			"invite_refused email=mallory@cosmo.example outcome=denied reasons=[" + auth.ReasonInviteInvalid + "] subject=u-mallory"},
		{"expired, at the login's start", token, 2 * time.Hour, true,
			"invite_refused outcome=denied reasons=[" + auth.ReasonInviteExpired + "]"},
		{"expired, at the login's end", token, 2 * time.Hour, false,
			"invite_refused email=mallory@cosmo.example outcome=denied reasons=[" + auth.ReasonInviteExpired + "] subject=u-mallory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w.now = time.Now().Add(tt.later)
			defer func() { w.now = time.Now() }()
			var err error
			if tt.check {
				err = w.l.Check(t.Context(), tt.token)
			} else {
				err = w.l.Accept(t.Context(), tt.token, "u-mallory", "mallory@cosmo.example")
			}
			if err == nil {
				t.Fatal("the link was taken")
			}
			wantOne(t, logs, tt.want)
		})
	}
	t.Run("a link that holds is no event at the login's start", func(t *testing.T) {
		w.set(t, "grace@cosmo.example", map[string]string{"invite": "send", "invite_nonce": ""})
		fresh := w.inviteToken(t, "grace@cosmo.example")
		logs.TakeAll()
		if err := w.l.Check(t.Context(), fresh); err != nil {
			t.Fatal(err)
		}
		if got := events(logs); len(got) != 0 {
			t.Errorf("a good link checked is audited: %q", got)
		}
	})
}
