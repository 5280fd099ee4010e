package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"go.uber.org/zap"
	"golang.org/x/oauth2"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/audit"
)

// loginState is one login in progress, kept in the login cookie: it binds
// the callback to the browser that started the login.
type loginState struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Return   string `json:"r"`
	Exp      int64  `json:"e"`
	// Invite is the invite link's token the login was started with.
	Invite string `json:"i,omitempty"`
}

const (
	maxPendingLogins = 4    // parallel logins (tabs) one browser may have open
	maxCookieValue   = 3800 // stay under browsers' 4096 bytes per cookie, name and attributes included
)

func (a *Auth) serveLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET")
		a.fail(w, r, http.StatusMethodNotAllowed, errors.New("login is GET only"))
		return
	}
	ret, err := CheckReturn(r.URL.Query().Get("return"), a.cfg.AllowedReturnHosts)
	if err != nil {
		ret = "/"
	}
	op, err := a.provider(r.Context())
	if err != nil {
		a.fail(w, r, http.StatusServiceUnavailable, err)
		return
	}
	st := loginState{State: randomString(), Nonce: randomString(), Verifier: oauth2.GenerateVerifier(),
		Return: ret, Exp: a.now().Add(a.cfg.LoginTimeout).Unix()}
	if st.Invite = r.URL.Query().Get("invite"); st.Invite != "" {
		if err := a.checkInvite(r.Context(), st.Invite); err != nil {
			a.fail(w, r, http.StatusForbidden, err)
			return
		}
	}
	a.writeLogins(w, append([]loginState{st}, a.readLogins(r)...))
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(st.Verifier), oidc.Nonce(st.Nonce)}
	if r.URL.Query().Get("account") == "choose" {
		// Someone refused under one account is still signed in at the
		// provider with it; without this the provider would log them
		// straight back in as the same person.
		opts = append(opts, oauth2.SetAuthURLParam("prompt", "select_account"))
	}
	target := op.oauth.AuthCodeURL(st.State, opts...)
	http.Redirect(w, r, target, http.StatusFound)
}

// readLogins returns the unexpired logins in progress, newest first.
func (a *Auth) readLogins(r *http.Request) []loginState {
	c, err := r.Cookie(a.loginName)
	if err != nil {
		return nil
	}
	plain, err := a.loginSeal.open(a.loginName, c.Value)
	if err != nil {
		return nil
	}
	var all []loginState
	if json.Unmarshal(plain, &all) != nil {
		return nil
	}
	now := a.now().Unix()
	return slices.DeleteFunc(all, func(s loginState) bool { return s.Exp <= now })
}

// writeLogins stores logins in one cookie, dropping the oldest beyond the
// count and size budget so that parallel logins never pile up headers.
func (a *Auth) writeLogins(w http.ResponseWriter, logins []loginState) {
	if len(logins) > maxPendingLogins {
		logins = logins[:maxPendingLogins]
	}
	for len(logins) > 0 {
		plain, _ := json.Marshal(logins)
		v := a.loginSeal.seal(a.loginName, plain)
		if len(v) <= maxCookieValue {
			http.SetCookie(w, a.cookie(a.loginName, v, a.cfg.LoginTimeout))
			return
		}
		logins = logins[:len(logins)-1]
	}
	http.SetCookie(w, a.cookie(a.loginName, "", -1))
}

func (a *Auth) cookie(name, value string, maxAge time.Duration) *http.Cookie {
	c := &http.Cookie{Name: name, Value: value, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode}
	if maxAge < 0 {
		c.MaxAge = -1
	} else {
		c.MaxAge = int(maxAge / time.Second)
	}
	return c
}

// callbackError is a failed callback: what the browser is told (status)
// and what the audit log records (reason), never a token.
type callbackError struct {
	status int
	reason string
	err    error
}

func (e *callbackError) Error() string {
	if e.err != nil {
		return e.reason + ": " + e.err.Error()
	}
	return e.reason
}
func (e *callbackError) Unwrap() error { return e.err }

func failed(status int, reason string, err error) error {
	return &callbackError{status: status, reason: reason, err: err}
}

func (a *Auth) serveCallback(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		a.fail(w, r, http.StatusMethodNotAllowed, errors.New("callback is GET only"))
		return
	}
	id, ret, err := a.completeLogin(w, r)
	if err != nil {
		ev := audit.Event{Kind: "login_failure", Via: "session", Outcome: "denied", RemoteIP: a.clientIP(r)}
		status := http.StatusBadRequest
		var fe *ForbiddenError
		var ce *callbackError
		switch {
		case errors.As(err, &fe):
			status, ev.Subject, ev.Email, ev.Reasons = http.StatusForbidden, fe.Subject, fe.Email, []string{fe.Reason}
		case errors.As(err, &ce):
			status, ev.Error = ce.status, ce.reason
		default:
			status, ev.Outcome, ev.Error = http.StatusServiceUnavailable, "error", "login could not be completed"
		}
		a.audit.LogContext(r.Context(), ev)
		a.log.Info("login failed", zap.Error(err))
		if a.offerSignUp(w, r, err) {
			return
		}
		a.fail(w, r, status, err)
		return
	}
	a.audit.LogContext(r.Context(), audit.Event{Kind: "login", Subject: id.Subject, Email: id.Email, Org: id.Org, Level: id.Level,
		Via: "session", Allowed: true, Outcome: "ok", RemoteIP: a.clientIP(r)})
	http.Redirect(w, r, ret, http.StatusSeeOther)
}

// completeLogin checks the callback against the login it answers, redeems
// the code, verifies what comes back, resolves the member and starts a new
// session. The login state is used up whatever happens.
func (a *Auth) completeLogin(w http.ResponseWriter, r *http.Request) (*identity.Identity, string, error) {
	q := r.URL.Query()
	logins := a.readLogins(r)
	i := slices.IndexFunc(logins, func(s loginState) bool {
		return subtle.ConstantTimeCompare([]byte(s.State), []byte(q.Get("state"))) == 1
	})
	if i < 0 || q.Get("state") == "" {
		return nil, "", failed(http.StatusBadRequest, "no login in progress matches this callback", nil)
	}
	st := logins[i]
	a.writeLogins(w, slices.Delete(logins, i, i+1))
	if err := a.store.Create(r.Context(), stateKey(st.State), nil, time.Unix(st.Exp, 0)); err != nil {
		if errors.Is(err, ErrExists) {
			return nil, "", failed(http.StatusBadRequest, "login state replayed", nil)
		}
		return nil, "", fmt.Errorf("auth: session store: %w", err)
	}
	if e := q.Get("error"); e != "" {
		return nil, "", failed(http.StatusUnauthorized, "provider refused the login ("+sanitizeCode(e)+")", nil)
	}
	code := q.Get("code")
	if code == "" {
		return nil, "", failed(http.StatusBadRequest, "callback without a code", nil)
	}
	op, err := a.provider(r.Context())
	if err != nil {
		return nil, "", err
	}
	ctx, cancel := a.opContext(r.Context())
	defer cancel()
	tok, err := op.oauth.Exchange(ctx, code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return nil, "", failed(http.StatusUnauthorized, "code exchange refused ("+sanitizeCode(re.ErrorCode)+")", nil)
		}
		return nil, "", fmt.Errorf("%w: code exchange: %v", ErrProviderUnavailable, err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		return nil, "", failed(http.StatusUnauthorized, "token response without an ID token", nil)
	}
	idt, claims, err := a.verifyIDToken(ctx, op, rawID, tok.AccessToken, st.Nonce)
	if err != nil {
		return nil, "", failed(http.StatusUnauthorized, "ID token rejected", err)
	}
	if claims, err = a.withUserInfo(ctx, op, tok, idt.Subject, claims); err != nil {
		return nil, "", err
	}
	if err := a.acceptInvite(r.Context(), st.Invite, idt.Subject, claims); err != nil {
		return nil, "", err
	}
	id, checked, err := a.profiles.resolve(r.Context(), "session", idt.Issuer, claims)
	if err != nil {
		return nil, "", err
	}
	if err := a.startSession(r.Context(), w, r, id, checked, idt, tok, rawID, claims); err != nil {
		return nil, "", err
	}
	ret, err := CheckReturn(st.Return, a.cfg.AllowedReturnHosts)
	if err != nil {
		ret = "/"
	}
	id.Via = "session"
	return id, ret, nil
}

func stateKey(state string) string {
	sum := sha256.Sum256([]byte(state))
	return "state/" + hex.EncodeToString(sum[:16])
}

// sanitizeCode keeps an OAuth error code printable and short: it comes
// from a query parameter and ends up in a page and a log.
func sanitizeCode(s string) string {
	out := make([]byte, 0, min(len(s), 40))
	for i := 0; i < len(s) && len(out) < 40; i++ {
		if c := s[i]; c == '_' || c == '-' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') {
			out = append(out, c)
		}
	}
	return string(out)
}

// verifyIDToken runs go-oidc's checks (signature with an allowed algorithm
// and a key of the provider, iss, aud, exp, nbf) and then the ones it
// leaves to the relying party: typ (an access token typed at+jwt is no ID
// token), nonce (when expected), sub, iat, azp and at_hash.
func (a *Auth) verifyIDToken(ctx context.Context, op *opState, raw, accessToken, nonce string) (*oidc.IDToken, map[string]any, error) {
	t, err := op.idTokens.Verify(ctx, raw)
	if err != nil {
		return nil, nil, err
	}
	if at, _ := headerType(raw); at {
		return nil, nil, errors.New("an access token (typ at+jwt) is not an ID token")
	}
	if nonce != "" && subtle.ConstantTimeCompare([]byte(t.Nonce), []byte(nonce)) != 1 {
		return nil, nil, errors.New("nonce mismatch")
	}
	var claims map[string]any
	if err := t.Claims(&claims); err != nil {
		return nil, nil, err
	}
	if err := a.checkCommonClaims(t, claims); err != nil {
		return nil, nil, err
	}
	if a.now().Sub(t.IssuedAt) > a.cfg.LoginTimeout+a.cfg.ClockSkew {
		return nil, nil, errors.New("ID token is stale")
	}
	azp, hasAzp := claims["azp"].(string)
	if (len(t.Audience) > 1 || hasAzp) && azp != a.cfg.ClientID {
		return nil, nil, errors.New("azp is not this client")
	}
	if t.AccessTokenHash != "" {
		if err := t.VerifyAccessToken(accessToken); err != nil {
			return nil, nil, fmt.Errorf("at_hash: %w", err)
		}
	}
	return t, claims, nil
}

// checkCommonClaims: a token must name its subject and say when it was
// issued and until when it holds; within the clock skew, it may not be
// expired, issued in the future, or not valid yet (nbf).
func (a *Auth) checkCommonClaims(t *oidc.IDToken, claims map[string]any) error {
	if t.Subject == "" {
		return errors.New("token has no sub")
	}
	now, skew := a.now(), a.cfg.ClockSkew
	if _, ok := claims["exp"]; !ok || t.Expiry.IsZero() {
		return errors.New("token has no exp")
	}
	if now.After(t.Expiry.Add(skew)) {
		return errors.New("token expired")
	}
	if _, ok := claims["iat"]; !ok || t.IssuedAt.IsZero() {
		return errors.New("token has no iat")
	}
	if t.IssuedAt.After(now.Add(skew)) {
		return errors.New("token issued in the future")
	}
	if v, ok := claims["nbf"]; ok {
		nbf, isNum := v.(float64)
		if !isNum {
			return errors.New("token's nbf is not a time")
		}
		if time.Unix(int64(nbf), 0).After(now.Add(skew)) {
			return errors.New("token not valid yet (nbf)")
		}
	}
	return nil
}

// withUserInfo adds the userinfo claims the ID token lacks, when
// configured; the userinfo must be about the same subject.
func (a *Auth) withUserInfo(ctx context.Context, op *opState, tok *oauth2.Token, sub string, claims map[string]any) (map[string]any, error) {
	if !a.cfg.UserInfo {
		return claims, nil
	}
	ui, err := op.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return nil, fmt.Errorf("%w: userinfo: %v", ErrProviderUnavailable, err)
	}
	if ui.Subject != sub {
		return nil, failed(http.StatusUnauthorized, "userinfo is about another subject", nil)
	}
	var extra map[string]any
	if err := ui.Claims(&extra); err != nil {
		return nil, failed(http.StatusUnauthorized, "userinfo unreadable", err)
	}
	for k, v := range extra {
		if _, ok := claims[k]; !ok {
			claims[k] = v
		}
	}
	return claims, nil
}
