package auth

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"go.uber.org/zap"
	"golang.org/x/oauth2"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/audit"
)

// sessionCookie is what the browser holds: the session id, the timestamps
// that bound it, and a summary of the identity so most requests need no
// profile work. It is sealed, so none of it can be read or changed.
type sessionCookie struct {
	SID  string   `json:"s"`
	Gen  uint64   `json:"g"` // the record generation the summary was made from
	Iat  int64    `json:"i"`
	Exp  int64    `json:"e"`           // absolute end
	Seen int64    `json:"l"`           // last use, for the idle timeout
	Due  int64    `json:"d"`           // when the provider must be asked again
	Chk  int64    `json:"k,omitempty"` // when the members directory must be asked again
	ID   *summary `json:"u,omitempty"`
}

type summary struct {
	Sub    string         `json:"s"`
	Iss    string         `json:"i"`
	Email  string         `json:"e,omitempty"`
	Name   string         `json:"n,omitempty"`
	Level  string         `json:"l,omitempty"`
	Org    string         `json:"o,omitempty"`
	Groups []string       `json:"g,omitempty"`
	Attrs  map[string]any `json:"a,omitempty"`
	Lang   string         `json:"la,omitempty"`
	TZ     string         `json:"tz,omitempty"`
}

func summarize(id *identity.Identity) *summary {
	return &summary{Sub: id.Subject, Iss: id.Issuer, Email: id.Email, Name: id.Name, Level: id.Level,
		Org: id.Org, Groups: id.Groups, Attrs: id.Attrs, Lang: id.Lang, TZ: id.TimeZone}
}

func (s *summary) identity() *identity.Identity {
	return &identity.Identity{Subject: s.Sub, Issuer: s.Iss, Email: s.Email, Name: s.Name, Level: s.Level,
		Org: s.Org, Groups: s.Groups, Attrs: s.Attrs, Lang: s.Lang, TimeZone: s.TZ, Via: "session"}
}

// record is the server side of a session, sealed before it reaches the
// store. Its presence is what keeps the session alive.
type record struct {
	Gen          uint64         `json:"g"`
	Iss          string         `json:"i"`
	Sub          string         `json:"s"`
	Exp          int64          `json:"e"`
	Due          int64          `json:"d"`
	RefreshToken string         `json:"r,omitempty"`
	IDToken      string         `json:"t,omitempty"`
	Claims       jsontext.Value `json:"c"`
	// OPSession is the provider's session id (the ID token's sid), which a
	// back-channel logout may name.
	OPSession string `json:"o,omitempty"`
}

const maxClaimsBytes = 64 << 10

func recordKey(sid string) string { return "session/" + sid }

// A stored record is its generation (8 bytes, big-endian) followed by the
// sealed record. The generation is bound into the seal, so it cannot be
// changed unnoticed, and it lets the common request — a session whose
// cookie is current — check liveness without opening the record.
func (a *Auth) saveRecord(ctx context.Context, sid string, rec *record, create bool) error {
	plain, err := jsonv2.Marshal(rec)
	if err != nil {
		return err
	}
	v := binary.BigEndian.AppendUint64(nil, rec.Gen)
	v = append(v, a.recordSeal.seal(recordAD(sid, rec.Gen), plain)...)
	if create {
		return a.store.Create(ctx, recordKey(sid), v, time.Unix(rec.Exp, 0))
	}
	return a.store.Update(ctx, recordKey(sid), v)
}

func recordAD(sid string, gen uint64) string { return fmt.Sprintf("%s#%d", recordKey(sid), gen) }

// recordGen returns the generation of the live session sid.
func (a *Auth) recordGen(ctx context.Context, sid string) (uint64, []byte, error) {
	v, err := a.store.Get(ctx, recordKey(sid))
	if err != nil {
		return 0, nil, err
	}
	if len(v) < 8 {
		return 0, nil, ErrNotFound
	}
	return binary.BigEndian.Uint64(v), v, nil
}

func (a *Auth) loadRecord(ctx context.Context, sid string) (*record, error) {
	_, v, err := a.recordGen(ctx, sid)
	if err != nil {
		return nil, err
	}
	return a.openRecord(sid, v)
}

func (a *Auth) openRecord(sid string, v []byte) (*record, error) {
	plain, err := a.recordSeal.open(recordAD(sid, binary.BigEndian.Uint64(v)), string(v[8:]))
	if err != nil {
		return nil, ErrNotFound // sealed under a key we no longer hold, or altered: the session is over
	}
	rec := new(record)
	if err := jsonv2.Unmarshal(plain, rec); err != nil {
		return nil, ErrNotFound
	}
	return rec, nil
}

// startSession issues a brand-new session for a completed login. Any
// session the browser brought along is ended first, so an id planted
// before login can never become a logged-in session (fixation).
func (a *Auth) startSession(ctx context.Context, w http.ResponseWriter, r *http.Request, id *identity.Identity,
	checked time.Time, idt *oidc.IDToken, tok *oauth2.Token, rawID string, claims map[string]any) error {
	if old, err := a.readSessionCookie(r); err == nil {
		if err := a.store.Delete(ctx, recordKey(old.SID)); err != nil {
			return fmt.Errorf("auth: session store: %w", err)
		}
	}
	cj, err := json.Marshal(claims)
	if err != nil || len(cj) > maxClaimsBytes {
		return failed(http.StatusBadRequest, "claims too large", err)
	}
	now := a.now()
	opSession, _ := claims["sid"].(string)
	rec := &record{Gen: 1, Iss: idt.Issuer, Sub: idt.Subject, Exp: now.Add(a.cfg.SessionLifetime).Unix(),
		Due: now.Add(a.cfg.RefreshInterval).Unix(), RefreshToken: tok.RefreshToken, IDToken: rawID, Claims: cj,
		OPSession: opSession}
	sid := randomString()
	// Indexed before it exists: a back-channel logout never misses a
	// session that is already in use.
	if err := a.index(ctx, sid, rec); err != nil {
		return fmt.Errorf("auth: session store: %w", err)
	}
	if err := a.saveRecord(ctx, sid, rec, true); err != nil {
		return fmt.Errorf("auth: session store: %w", err)
	}
	a.writeSessionCookie(w, &sessionCookie{SID: sid, Gen: rec.Gen, Iat: now.Unix(), Exp: rec.Exp,
		Seen: now.Unix(), Due: rec.Due, Chk: a.recheckDue(checked), ID: summarize(id)})
	return nil
}

// recheckDue is when a session's member must be looked up again, given
// when the directory's answer was fetched.
func (a *Auth) recheckDue(checked time.Time) int64 {
	if a.cfg.Directory == nil {
		return 0
	}
	return checked.Add(a.cfg.MemberRecheck).Unix()
}

// writeSessionCookie sets the cookie, leaving the identity summary out if
// it would not fit (the identity is then rebuilt from the record).
func (a *Auth) writeSessionCookie(w http.ResponseWriter, c *sessionCookie) {
	plain, _ := jsonv2.Marshal(c)
	v := a.cookieSeal.seal(a.sessionName, plain)
	if len(v) > maxCookieValue {
		short := *c
		short.ID = nil
		plain, _ = jsonv2.Marshal(&short)
		v = a.cookieSeal.seal(a.sessionName, plain)
	}
	http.SetCookie(w, a.cookie(a.sessionName, v, time.Unix(c.Exp, 0).Sub(a.now())))
}

func (a *Auth) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, a.cookie(a.sessionName, "", -1))
}

func (a *Auth) readSessionCookie(r *http.Request) (*sessionCookie, error) {
	c, err := r.Cookie(a.sessionName)
	if err != nil {
		return nil, noIdentity("no session cookie")
	}
	if sc, ok := a.opened.get(c.Value); ok {
		return sc, nil
	}
	plain, err := a.cookieSeal.open(a.sessionName, c.Value)
	if err != nil {
		return nil, noIdentity("session cookie invalid")
	}
	sc := new(sessionCookie)
	if err := jsonv2.Unmarshal(plain, sc); err != nil || sc.SID == "" {
		return nil, noIdentity("session cookie invalid")
	}
	a.opened.put(c.Value, sc)
	return sc, nil
}

// openedCookies remembers recently opened session cookies by their exact
// sealed value, so a browser's run of requests pays for AES-GCM and
// decoding once. A sealed value can only ever open to the same content
// under this Auth's keys, so the cache cannot change any answer; what a
// cookie says is still checked (expiry, idle, the store) on every request.
type openedCookies struct {
	mu  sync.Mutex
	m   map[string]sessionCookie
	max int
}

func (o *openedCookies) get(v string) (*sessionCookie, bool) {
	o.mu.Lock()
	sc, ok := o.m[v]
	o.mu.Unlock()
	if !ok {
		return nil, false
	}
	return &sc, true // a copy: callers change it
}

func (o *openedCookies) put(v string, sc *sessionCookie) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.m == nil {
		o.m = make(map[string]sessionCookie)
	}
	for k := range o.m { // full: forget an arbitrary entry
		if len(o.m) < o.max {
			break
		}
		delete(o.m, k)
	}
	o.m[v] = *sc
}

// Identify returns who sent r: from an "Authorization: Bearer" JWT when
// there is one, else from the session cookie. Errors wrap ErrNoIdentity
// (log in / 401), are a *ForbiddenError (403), or are anything else (503).
// w may receive a Set-Cookie — a session kept alive, refreshed or ended —
// and nothing else, so call Identify before writing the response.
func (a *Auth) Identify(w http.ResponseWriter, r *http.Request) (*identity.Identity, error) {
	if authz := r.Header.Values("Authorization"); len(authz) > 0 {
		if len(authz) > 1 {
			return nil, noIdentity("several Authorization headers")
		}
		if scheme, tok, ok := strings.Cut(authz[0], " "); ok && strings.EqualFold(scheme, "Bearer") {
			return a.identifyBearer(r.Context(), strings.TrimSpace(tok))
		}
	}
	return a.identifySession(w, r)
}

func (a *Auth) identifySession(w http.ResponseWriter, r *http.Request) (*identity.Identity, error) {
	ctx := r.Context()
	sc, err := a.readSessionCookie(r)
	if err != nil {
		if _, present := r.Cookie(a.sessionName); present == nil {
			a.clearSessionCookie(w)
		}
		return nil, err
	}
	now := a.now()
	if now.Unix() >= sc.Exp || now.Sub(time.Unix(sc.Seen, 0)) > a.cfg.IdleTimeout {
		a.clearSessionCookie(w)
		if err := a.store.Delete(ctx, recordKey(sc.SID)); err != nil {
			a.log.Warn("deleting an expired session", zap.Error(err))
		}
		return nil, noIdentity("session expired")
	}
	gen, raw, err := a.recordGen(ctx, sc.SID)
	if errors.Is(err, ErrNotFound) {
		a.clearSessionCookie(w)
		return nil, noIdentity("session ended")
	}
	if err != nil {
		return nil, fmt.Errorf("auth: session store: %w", err)
	}
	// The members directory is the authority on who is still a member:
	// past the re-check, the summary in the cookie no longer vouches.
	recheck := a.cfg.Directory != nil && now.Unix() >= sc.Chk
	if gen == sc.Gen && now.Unix() < sc.Due && sc.ID != nil && !recheck {
		if now.Sub(time.Unix(sc.Seen, 0)) >= a.touchEvery {
			sc.Seen = now.Unix()
			a.writeSessionCookie(w, sc)
		}
		return sc.ID.identity(), nil
	}
	rec, err := a.openRecord(sc.SID, raw)
	if err != nil {
		a.clearSessionCookie(w)
		return nil, noIdentity("session ended")
	}
	if rec.Gen == sc.Gen && now.Unix() < sc.Due && !recheck { // the summary did not fit in the cookie
		id, _, err := a.identityFromRecord(ctx, rec)
		if err != nil {
			return nil, a.refused(ctx, w, sc.SID, rec, err)
		}
		if now.Sub(time.Unix(sc.Seen, 0)) >= a.touchEvery {
			sc.Seen = now.Unix()
			a.writeSessionCookie(w, sc)
		}
		return id, nil
	}
	// The summary is missing or stale: refreshed here or by another
	// instance, due for a re-check with the directory, or due for a
	// refresh now.
	if now.Unix() >= rec.Due {
		if rec, err = a.refreshSession(ctx, sc.SID); err != nil {
			if errors.Is(err, ErrNoIdentity) {
				a.clearSessionCookie(w)
			}
			return nil, err
		}
	}
	id, checked, err := a.identityFromRecord(ctx, rec)
	if err != nil {
		return nil, a.refused(ctx, w, sc.SID, rec, err)
	}
	sc.Gen, sc.Due, sc.Chk, sc.Seen, sc.ID = rec.Gen, rec.Due, a.recheckDue(checked), now.Unix(), summarize(id)
	a.writeSessionCookie(w, sc)
	return id, nil
}

// refused ends the session of a member the profile refuses (err is a
// *ForbiddenError) and passes err on.
func (a *Auth) refused(ctx context.Context, w http.ResponseWriter, sid string, rec *record, err error) error {
	var fe *ForbiddenError
	if errors.As(err, &fe) {
		a.endSession(ctx, sid, rec, "member refused: "+fe.Reason)
		a.clearSessionCookie(w)
	}
	return err
}

func (a *Auth) identityFromRecord(ctx context.Context, rec *record) (*identity.Identity, time.Time, error) {
	var claims map[string]any
	if err := json.Unmarshal(rec.Claims, &claims); err != nil {
		return nil, time.Time{}, noIdentity("session record unreadable")
	}
	id, checked, err := a.profiles.resolve(ctx, "session", rec.Iss, claims)
	if err != nil {
		return nil, checked, err
	}
	id.Via = "session"
	return id, checked, nil
}

func (a *Auth) endSession(ctx context.Context, sid string, rec *record, why string) {
	if err := a.store.Delete(ctx, recordKey(sid)); err != nil {
		a.log.Warn("ending a session", zap.Error(err))
	}
	a.unindex(ctx, sid, rec)
	a.audit.LogContext(ctx, audit.Event{Kind: "logout", Subject: rec.Sub, Via: "session", Outcome: "ok", Error: why})
}

// refreshSession asks the provider again once the session's validity has
// run out. Concurrent requests of one session share one refresh (rotating
// refresh tokens allow exactly one use); a refresh finished meanwhile by
// another request or instance is adopted instead of repeated.
func (a *Auth) refreshSession(ctx context.Context, sid string) (*record, error) {
	ctx = context.WithoutCancel(ctx) // the refresh serves every request waiting for it
	v, err, _ := a.refreshGroup.Do(sid, func() (any, error) {
		rec, err := a.loadRecord(ctx, sid)
		if errors.Is(err, ErrNotFound) {
			return nil, noIdentity("session ended")
		}
		if err != nil {
			return nil, fmt.Errorf("auth: session store: %w", err)
		}
		if a.now().Unix() < rec.Due {
			return rec, nil
		}
		return a.refresh(ctx, sid, rec)
	})
	if err != nil {
		return nil, err
	}
	return v.(*record), nil
}

func (a *Auth) refresh(ctx context.Context, sid string, rec *record) (*record, error) {
	now := a.now()
	next := *rec
	next.Gen++
	next.Due = now.Add(a.cfg.RefreshInterval).Unix()
	if rec.RefreshToken != "" {
		if err := a.refreshAtProvider(ctx, rec, &next); err != nil {
			var ce *callbackError
			switch {
			case errors.As(err, &ce):
				// The provider refused. Another instance may have rotated the
				// token a moment ago; otherwise the session is over.
				if cur, gerr := a.loadRecord(ctx, sid); gerr == nil && cur.Gen != rec.Gen {
					return cur, nil
				}
				a.endSession(ctx, sid, rec, "refresh refused: "+ce.reason)
				return nil, noIdentity("session refresh refused")
			default:
				// The provider is unreachable: keep the session, retry soon.
				a.log.Warn("session refresh postponed", zap.Error(err))
				next = *rec
				next.Gen++
				next.Due = now.Add(min(time.Minute, a.cfg.RefreshInterval)).Unix()
			}
		}
	}
	if err := a.saveRecord(ctx, sid, &next, false); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, noIdentity("session ended")
		}
		return nil, fmt.Errorf("auth: session store: %w", err)
	}
	return &next, nil
}

// refreshAtProvider redeems the refresh token and checks what comes back:
// a new ID token must come from the same issuer about the same subject.
// Refusals are *callbackError; anything else means the provider could not
// be asked.
func (a *Auth) refreshAtProvider(ctx context.Context, rec, next *record) error {
	op, err := a.provider(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := a.opContext(ctx)
	defer cancel()
	tok, err := op.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: rec.RefreshToken, Expiry: time.Unix(1, 0)}).Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode >= 400 && re.Response.StatusCode < 500 {
			return failed(http.StatusUnauthorized, "provider refused the refresh ("+sanitizeCode(re.ErrorCode)+")", nil)
		}
		return fmt.Errorf("%w: refresh: %v", ErrProviderUnavailable, err)
	}
	var claims map[string]any
	if err := json.Unmarshal(rec.Claims, &claims); err != nil {
		return failed(http.StatusUnauthorized, "session record unreadable", err)
	}
	if rawID, _ := tok.Extra("id_token").(string); rawID != "" {
		t, fresh, err := a.verifyIDToken(ctx, op, rawID, tok.AccessToken, "")
		if err != nil {
			return failed(http.StatusUnauthorized, "refreshed ID token rejected", err)
		}
		if t.Issuer != rec.Iss || t.Subject != rec.Sub {
			return failed(http.StatusUnauthorized, "refreshed ID token is about someone else", nil)
		}
		claims, next.IDToken = fresh, rawID
	}
	if claims, err = a.withUserInfo(ctx, op, tok, rec.Sub, claims); err != nil {
		return err
	}
	if next.Claims, err = json.Marshal(claims); err != nil || len(next.Claims) > maxClaimsBytes {
		return failed(http.StatusUnauthorized, "claims too large", err)
	}
	if tok.RefreshToken != "" {
		next.RefreshToken = tok.RefreshToken
	}
	return nil
}

func (a *Auth) serveLogout(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		a.fail(w, r, http.StatusMethodNotAllowed, errors.New("logout is POST only"))
		return
	}
	if !SameOrigin(r, a.origin) {
		a.audit.LogContext(r.Context(), audit.Event{Kind: "logout", Outcome: "denied", Error: "cross-origin logout refused", RemoteIP: a.clientIP(r)})
		a.fail(w, r, http.StatusForbidden, errors.New("cross-origin logout refused"))
		return
	}
	ctx := r.Context()
	var idToken string
	ev := audit.Event{Kind: "logout", Via: "session", Outcome: "ok", RemoteIP: a.clientIP(r)}
	if sc, err := a.readSessionCookie(r); err == nil {
		if sc.ID != nil {
			// The auditor looks members up by e-mail: the cookie's summary
			// names the member whose session ends.
			ev.Email, ev.Org, ev.Level = sc.ID.Email, sc.ID.Org, sc.ID.Level
		}
		rec, err := a.loadRecord(ctx, sc.SID)
		if err == nil {
			idToken, ev.Subject = rec.IDToken, rec.Sub
		}
		if err := a.store.Delete(ctx, recordKey(sc.SID)); err != nil {
			a.fail(w, r, http.StatusServiceUnavailable, fmt.Errorf("auth: session store: %w", err))
			return
		}
		if rec != nil {
			a.unindex(ctx, sc.SID, rec)
		}
	}
	a.clearSessionCookie(w)
	a.audit.LogContext(ctx, ev)
	http.Redirect(w, r, a.afterLogout(ctx, idToken), http.StatusSeeOther)
}

// afterLogout is the provider's end_session_endpoint with id_token_hint,
// client_id and (when configured) post_logout_redirect_uri and state, or
// LoggedOutURL when the provider has none.
func (a *Auth) afterLogout(ctx context.Context, idToken string) string {
	op, err := a.provider(ctx)
	if err != nil || op.endSession == "" {
		return a.cfg.LoggedOutURL
	}
	u, err := url.Parse(op.endSession)
	if err != nil {
		return a.cfg.LoggedOutURL
	}
	q := u.Query()
	if idToken != "" {
		q.Set("id_token_hint", idToken)
	}
	q.Set("client_id", a.cfg.ClientID)
	if a.cfg.PostLogoutRedirectURL != "" {
		q.Set("post_logout_redirect_uri", a.cfg.PostLogoutRedirectURL)
		q.Set("state", randomString())
	}
	u.RawQuery = q.Encode()
	return u.String()
}
