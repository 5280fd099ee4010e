package members

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/auth"
	"github.com/kgate/kgate/membersconfig"
)

// An invite link's token names the member record, the one-time value
// kgate wrote into it and when the link expires, under an HMAC of the
// invite keys bound to the members app. The record keeps the one-time
// value until the link is used, so a link works once whichever instance
// takes it, across restarts; a new invitation to the same record writes a
// new value, which voids the old link.

// minInviteKey is the shortest invite key accepted.
const minInviteKey = 32

func inviteDefaults(inv membersconfig.Invite) (membersconfig.Invite, [][]byte, error) {
	if len(inv.Keys) == 0 {
		return inv, nil, errors.New("members: invitations need a key (invite { key <secret> })")
	}
	var keys [][]byte
	for i, k := range inv.Keys {
		if len(k) < minInviteKey {
			return inv, nil, fmt.Errorf("members: invite key %d: want at least %d characters", i+1, minInviteKey)
		}
		sum := sha256.Sum256([]byte("kgate invite key\x00" + k))
		keys = append(keys, sum[:])
	}
	if inv.Field == "" {
		inv.Field = "invite"
	}
	if inv.Nonce == "" {
		inv.Nonce = "invite_nonce"
	}
	return inv, keys, nil
}

// invitation is what a token says.
type invitation struct {
	record string
	nonce  string
	exp    time.Time
}

func (l *Lifecycle) mac(key []byte, payload string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("kgate invite v1\x00" + l.dir.app + "\x00" + payload))
	return m.Sum(nil)
}

// token signs inv with the first key.
func (l *Lifecycle) token(inv invitation) string {
	payload := inv.record + "." + inv.nonce + "." + strconv.FormatInt(inv.exp.Unix(), 10)
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." +
		base64.RawURLEncoding.EncodeToString(l.mac(l.keys[0], payload))
}

// parse checks token's signature under every key and its expiry.
func (l *Lifecycle) parse(token string) (invitation, error) {
	invalid := &auth.ForbiddenError{Reason: auth.ReasonInviteInvalid}
	if !l.InvitesOn() {
		return invitation{}, invalid
	}
	p64, m64, ok := strings.Cut(token, ".")
	payload, err1 := base64.RawURLEncoding.DecodeString(p64)
	sum, err2 := base64.RawURLEncoding.DecodeString(m64)
	if !ok || err1 != nil || err2 != nil {
		return invitation{}, invalid
	}
	good := false
	for _, k := range l.keys {
		good = good || hmac.Equal(sum, l.mac(k, string(payload)))
	}
	parts := strings.Split(string(payload), ".")
	if !good || len(parts) != 3 {
		return invitation{}, invalid
	}
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || parts[0] == "" || parts[1] == "" {
		return invitation{}, invalid
	}
	inv := invitation{record: parts[0], nonce: parts[1], exp: time.Unix(exp, 0)}
	if !l.now().Before(inv.exp) {
		return invitation{}, &auth.ForbiddenError{Reason: auth.ReasonInviteExpired}
	}
	return inv, nil
}

// Check implements auth.Invitations; a refusal is audited.
func (l *Lifecycle) Check(ctx context.Context, token string) error {
	_, err := l.parse(token)
	l.auditRefusal(ctx, err, "", "")
	return err
}

// Accept implements auth.Invitations; the use or the refusal is audited.
func (l *Lifecycle) Accept(ctx context.Context, token, sub, email string) error {
	bound, org, err := l.accept(ctx, token, sub, email)
	if err == nil {
		l.cfg.Audit.LogContext(ctx, audit.Event{Kind: "invite_accepted", Subject: sub, Email: bound, Org: org, Outcome: "ok"})
	}
	l.auditRefusal(ctx, err, sub, email)
	return err
}

// auditRefusal records an invite link refused (used, expired, forged)
// with its reason; other errors are no refusal.
func (l *Lifecycle) auditRefusal(ctx context.Context, err error, sub, email string) {
	var fe *auth.ForbiddenError
	if errors.As(err, &fe) {
		l.cfg.Audit.LogContext(ctx, audit.Event{Kind: "invite_refused", Subject: sub, Email: email,
			Reasons: []string{fe.Reason}, Outcome: "denied"})
	}
}

// accept uses the link: the record it names must still hold the link's
// one-time value; it then takes the account's subject (and verified
// address), becomes active — the invitation was the staff's approval —
// and loses the value, all in one write pinned to the revision read, so
// two uses at once leave one winner. It returns the member's address and
// organization.
func (l *Lifecycle) accept(ctx context.Context, token, sub, email string) (string, string, error) {
	inv, err := l.parse(token)
	if err != nil {
		return "", "", err
	}
	used := &auth.ForbiddenError{Reason: auth.ReasonInviteUsed, Subject: sub, Email: email}
	r, err := l.dir.record(ctx, inv.record)
	if err != nil {
		if notFound(err) {
			return "", "", used
		}
		return "", "", fmt.Errorf("%w: %w", auth.ErrDirectoryUnavailable, err)
	}
	stored := text(r[l.invite.Nonce])
	if stored == "" || subtle.ConstantTimeCompare([]byte(stored), []byte(inv.nonce)) != 1 {
		return "", "", used
	}
	f := l.dir.fields
	values := map[string]string{f.Subject: sub, f.State: auth.MemberActive, l.invite.Field: inviteAccepted, l.invite.Nonce: ""}
	bound := cmp.Or(email, text(r[f.Email]))
	if email != "" {
		values[f.Email] = email
	}
	if _, err := l.dir.update(ctx, inv.record, revision(r), values); err != nil {
		if conflict(err) {
			return "", "", used
		}
		return "", "", fmt.Errorf("%w: %w", auth.ErrDirectoryUnavailable, err)
	}
	l.cfg.Forget(text(r[f.Email]), sub)
	return bound, text(r[f.Org]), nil
}

func newNonce() string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
