package devidp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Back-channel logout (OpenID Connect Back-Channel Logout 1.0): when a
// provider session ends, each client that registered a back-channel logout
// URI receives a logout token naming the session (sid) and the person
// (sub), signed like an ID token and typed logout+jwt.

const backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// LogoutToken signs a logout token for clientID about sub's provider
// session sid ("" names every session of sub), valid for two minutes, as
// the provider sends them: for tests that deliver one themselves.
func (p *Provider) LogoutToken(clientID, sub, sid string) (string, error) {
	p.store.mu.Lock()
	_, known := p.store.clients[clientID]
	key := p.store.signing
	p.store.mu.Unlock()
	if !known {
		return "", fmt.Errorf("devidp: no client %q", clientID)
	}
	now := time.Now()
	claims := map[string]any{"iss": p.issuer, "aud": clientID, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(),
		"jti": randomID(), "events": map[string]any{backchannelEvent: map[string]any{}}}
	if sub != "" {
		claims["sub"] = sub
	}
	if sid != "" {
		claims["sid"] = sid
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	return signJWT(key, "logout+jwt", payload)
}

// Logout ends every provider session of sub, revoking the tokens issued
// for them, and delivers a logout token for each to its client's
// back-channel logout URI, as end_session does. It returns an error for
// each delivery a client did not answer with 200.
func (p *Provider) Logout(ctx context.Context, sub string) error {
	return p.deliverLogouts(ctx, p.store.endSessions(sub))
}

// Sessions returns the sids of sub's provider sessions.
func (p *Provider) Sessions(sub string) []string {
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	var out []string
	for sid, o := range p.store.sessions {
		if o.subject == sub {
			out = append(out, sid)
		}
	}
	return out
}

func (p *Provider) deliverLogouts(ctx context.Context, ended []opSession) error {
	var errs []error
	for _, o := range ended {
		p.store.mu.Lock()
		c := p.store.clients[o.clientID]
		p.store.mu.Unlock()
		if c == nil || c.BackchannelLogoutURI == "" {
			continue
		}
		if err := p.deliver(ctx, c.BackchannelLogoutURI, o); err != nil {
			errs = append(errs, fmt.Errorf("devidp: back-channel logout of %s at %s: %w", o.clientID, c.BackchannelLogoutURI, err))
		}
	}
	return errors.Join(errs...)
}

func (p *Provider) deliver(ctx context.Context, uri string, o opSession) error {
	token, err := p.LogoutToken(o.clientID, o.subject, o.sid)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri, strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%d %s", resp.StatusCode, body)
	}
	return nil
}
