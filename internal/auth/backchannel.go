package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/kgate/kgate/internal/audit"
)

// Back-channel logout (OpenID Connect Back-Channel Logout 1.0). The
// provider POSTs a logout token — a JWT it signs like an ID token — to
// Prefix + "backchannel-logout"; kgate ends every session of the provider
// session it names (sid), or every session of the person (sub) when it
// names no sid. Sessions are found through indexes in the session store,
// so with a shared store (Redis) a logout delivered to one instance ends
// the sessions every instance started.

// backchannelEvent is the member of the events claim that makes a JWT a
// logout token.
const backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// logoutTokenMaxAge is how old a logout token may be (by its iat): the
// specification recommends lifetimes of two minutes, and the providers
// that retry a delivery do so within minutes. Seen jti values are kept as
// long, so no token can be replayed while it would be accepted.
const logoutTokenMaxAge = 5 * time.Minute

// maxLogoutBody bounds the request: one JWT in a form.
const maxLogoutBody = 64 << 10

func digest(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:16])
}

func subIndexKey(iss, sub string) string { return "index/sub/" + digest(iss, sub) }

func opSessionIndexKey(iss, opSession string) string {
	return "index/sid/" + digest(iss, opSession)
}

func logoutJTIKey(iss, jti string) string { return "logout-jti/" + digest(iss, jti) }

// index records the session sid under its subject and its provider
// session, for as long as the session can live.
func (a *Auth) index(ctx context.Context, sid string, rec *record) error {
	exp := time.Unix(rec.Exp, 0)
	if err := a.store.AddToIndex(ctx, subIndexKey(rec.Iss, rec.Sub), sid, exp); err != nil {
		return err
	}
	if rec.OPSession == "" {
		return nil
	}
	return a.store.AddToIndex(ctx, opSessionIndexKey(rec.Iss, rec.OPSession), sid, exp)
}

// unindex drops an ended session from the indexes. A failure only leaves
// an entry whose session is gone, which back-channel logout skips and the
// index's expiry removes.
func (a *Auth) unindex(ctx context.Context, sid string, rec *record) {
	err := a.store.RemoveFromIndex(ctx, subIndexKey(rec.Iss, rec.Sub), sid)
	if err == nil && rec.OPSession != "" {
		err = a.store.RemoveFromIndex(ctx, opSessionIndexKey(rec.Iss, rec.OPSession), sid)
	}
	if err != nil {
		a.log.Warn("an ended session stays in the logout index until it expires", zap.Error(err))
	}
}

// logoutToken is what a valid logout token asks for.
type logoutToken struct {
	iss, sub, opSession, jti string
	iat                      time.Time
}

// errUnavailable marks failures that are kgate's, not the token's: the
// provider's keys or the session store could not be reached.
var errUnavailable = errors.New("unavailable")

func (a *Auth) serveBackchannelLogout(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		logoutError(w, http.StatusMethodNotAllowed, "invalid_request", "back-channel logout is POST only")
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		logoutError(w, http.StatusBadRequest, "invalid_request", "the logout token must come as application/x-www-form-urlencoded")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLogoutBody)
	if err := r.ParseForm(); err != nil || len(r.PostForm["logout_token"]) != 1 || r.PostForm.Get("logout_token") == "" {
		logoutError(w, http.StatusBadRequest, "invalid_request", "the request must carry one logout_token")
		return
	}
	ctx := r.Context()
	ev := audit.Event{Kind: "logout", Via: "backchannel", RemoteIP: a.clientIP(r)}
	lt, err := a.verifyLogoutToken(ctx, r.PostForm.Get("logout_token"))
	if err == nil {
		ev.Subject = lt.sub
		err = a.backchannelLogout(ctx, lt)
	}
	if err != nil {
		ev.Outcome, ev.Error = "denied", err.Error()
		code := "invalid_request"
		if errors.Is(err, errUnavailable) {
			// Nothing was ended and the jti is not kept: the provider may
			// deliver the same token again.
			ev.Outcome, code = "error", "temporarily_unavailable"
			a.log.Warn("back-channel logout could not be carried out", zap.Error(err))
		}
		a.audit.LogContext(r.Context(), ev)
		logoutError(w, http.StatusBadRequest, code, err.Error())
		return
	}
	ev.Outcome = "ok"
	a.audit.LogContext(r.Context(), ev)
	w.WriteHeader(http.StatusOK)
}

// logoutError answers as the specification asks: 400 and an OAuth error.
func logoutError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// verifyLogoutToken checks raw as section 2.6 of the specification says: the
// signature with a key of the provider and an allowed algorithm, iss, aud
// (and azp) as for ID tokens, iat present and recent, exp and nbf when
// present, the backchannel-logout event, sub and/or sid, no nonce, a jti;
// and its typ header, if any, must be JWT or logout+jwt, so that no other
// JWT of the provider's can pass for a logout token.
func (a *Auth) verifyLogoutToken(ctx context.Context, raw string) (*logoutToken, error) {
	op, err := a.provider(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUnavailable, err)
	}
	if err := logoutTokenType(raw); err != nil {
		return nil, err
	}
	ctx, cancel := a.opContext(ctx)
	defer cancel()
	t, err := op.idTokens.Verify(ctx, raw)
	if err != nil {
		return nil, errors.New("logout token rejected: signature, issuer or audience")
	}
	var claims map[string]json.RawMessage
	if err := t.Claims(&claims); err != nil {
		return nil, errors.New("logout token unreadable")
	}
	lt := &logoutToken{iss: t.Issuer, sub: t.Subject}
	if _, ok := claims["nonce"]; ok {
		return nil, errors.New("a logout token carries no nonce")
	}
	var events map[string]json.RawMessage
	if json.Unmarshal(claims["events"], &events) != nil || !isObject(events[backchannelEvent]) {
		return nil, errors.New("the events claim does not name the back-channel logout event with an object")
	}
	if raw, ok := claims["sid"]; ok && (json.Unmarshal(raw, &lt.opSession) != nil || lt.opSession == "") {
		return nil, errors.New("sid is not a string")
	}
	if lt.sub == "" && lt.opSession == "" {
		return nil, errors.New("a logout token names sub, sid or both")
	}
	if json.Unmarshal(claims["jti"], &lt.jti) != nil || lt.jti == "" {
		return nil, errors.New("a logout token has a jti")
	}
	if err := a.checkLogoutTimes(claims); err != nil {
		return nil, err
	}
	lt.iat = t.IssuedAt
	// As for ID tokens: several audiences need azp, and azp must be us.
	var azp string
	if raw, ok := claims["azp"]; ok || len(t.Audience) > 1 {
		if json.Unmarshal(raw, &azp) != nil || azp != a.cfg.ClientID {
			return nil, errors.New("azp is not this client")
		}
	}
	return lt, nil
}

// checkLogoutTimes: iat is required and within logoutTokenMaxAge (and the
// clock skew) of now; exp and nbf, when present, hold within the skew.
func (a *Auth) checkLogoutTimes(claims map[string]json.RawMessage) error {
	now, skew := a.now(), a.cfg.ClockSkew
	at := func(name string) (time.Time, bool, error) {
		raw, ok := claims[name]
		if !ok {
			return time.Time{}, false, nil
		}
		var n float64
		if json.Unmarshal(raw, &n) != nil {
			return time.Time{}, true, fmt.Errorf("%s is not a time", name)
		}
		return time.Unix(int64(n), 0), true, nil
	}
	iat, ok, err := at("iat")
	switch {
	case err != nil:
		return err
	case !ok:
		return errors.New("a logout token has an iat")
	case iat.After(now.Add(skew)):
		return errors.New("logout token issued in the future")
	case now.Sub(iat) > logoutTokenMaxAge+skew:
		return errors.New("logout token too old")
	}
	if exp, ok, err := at("exp"); err != nil || ok && now.After(exp.Add(skew)) {
		return errors.Join(err, errors.New("logout token expired"))
	}
	if nbf, ok, err := at("nbf"); err != nil || ok && nbf.After(now.Add(skew)) {
		return errors.Join(err, errors.New("logout token not valid yet (nbf)"))
	}
	return nil
}

func isObject(raw json.RawMessage) bool {
	var m map[string]json.RawMessage
	return len(raw) > 0 && json.Unmarshal(raw, &m) == nil && m != nil
}

// logoutTokenType accepts a typ header of JWT or logout+jwt, or none.
func logoutTokenType(raw string) error {
	h, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	var hdr map[string]any
	if err != nil || json.Unmarshal(b, &hdr) != nil {
		return errors.New("logout token header unreadable")
	}
	v, ok := hdr["typ"]
	if !ok {
		return nil
	}
	s, _ := v.(string)
	switch strings.TrimPrefix(strings.ToLower(s), "application/") {
	case "jwt", "logout+jwt":
		return nil
	}
	return errors.New("not a logout token (typ header)")
}

// backchannelLogout ends the sessions lt names, once per jti.
func (a *Auth) backchannelLogout(ctx context.Context, lt *logoutToken) error {
	seen := logoutJTIKey(lt.iss, lt.jti)
	// Kept until the token could no longer be accepted anyway.
	keep := lt.iat.Add(logoutTokenMaxAge + 2*a.cfg.ClockSkew)
	switch err := a.store.Create(ctx, seen, nil, keep); {
	case errors.Is(err, ErrExists):
		return errors.New("logout token replayed (its jti was seen before)")
	case err != nil:
		return fmt.Errorf("%w: session store: %v", errUnavailable, err)
	}
	if err := a.endSessionsOf(ctx, lt); err != nil {
		if derr := a.store.Delete(ctx, seen); derr != nil {
			a.log.Warn("a logout token that could not be carried out stays marked as seen", zap.Error(derr))
		}
		return fmt.Errorf("%w: session store: %v", errUnavailable, err)
	}
	return nil
}

// endSessionsOf ends every session of the provider session lt names, or
// every session of its subject when it names none. With both, a session
// must match both.
func (a *Auth) endSessionsOf(ctx context.Context, lt *logoutToken) error {
	key := subIndexKey(lt.iss, lt.sub)
	if lt.opSession != "" {
		key = opSessionIndexKey(lt.iss, lt.opSession)
	}
	sids, err := a.store.IndexMembers(ctx, key)
	if err != nil {
		return err
	}
	for _, sid := range sids {
		rec, err := a.loadRecord(ctx, sid)
		switch {
		case errors.Is(err, ErrNotFound):
			// Ended already, or a login still being completed: left to the
			// index's expiry, so that a later token still finds it.
			continue
		case err != nil:
			return err
		case rec.Iss != lt.iss || lt.sub != "" && rec.Sub != lt.sub:
			continue
		}
		if err := a.store.Delete(ctx, recordKey(sid)); err != nil {
			return err
		}
		a.unindex(ctx, sid, rec)
	}
	return nil
}
