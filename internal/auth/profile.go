package auth

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"

	"golang.org/x/sync/singleflight"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/audit"
)

// Member is one entry of the operator's members directory (in kgate's
// deployments, a kintone members app).
type Member struct {
	Email   string
	Subject string
	Name    string
	Org     string
	Level   string
	Groups  []string
	Attrs   map[string]any
	State   string // MemberActive, MemberInactive, MemberPending or MemberRefused
}

// Member states.
const (
	MemberActive   = "active"
	MemberInactive = "inactive"
	MemberPending  = "pending"
	// MemberRefused is a sign-up the operator's staff turned down.
	MemberRefused = "refused"
)

// Lookup keys for MemberDirectory.Lookup.
const (
	ByEmail   = "email"
	BySubject = "sub"
)

// MemberDirectory is where the operator keeps members in bulk. kgate only
// reads it, except to add an unknown person as pending when configured to.
type MemberDirectory interface {
	// Lookup finds the member whose field by (ByEmail or BySubject) equals
	// value; it returns (nil, nil) when there is none.
	Lookup(ctx context.Context, by, value string) (*Member, error)
	// AddPending records m (State MemberPending) for an operator to approve.
	AddPending(ctx context.Context, m Member) error
}

// ForbiddenError means the person is authenticated but not (or no longer)
// a member who may use kgate: unknown, inactive, pending approval, or
// without a level. Callers answer 403 and may show Reason.
type ForbiddenError struct {
	Reason  string
	Subject string
	Email   string
	// who is the refused person's verified profile, kept for the
	// sign-up offered to an unknown one.
	who *Applicant
}

func (e *ForbiddenError) Error() string { return "auth: forbidden: " + e.Reason }

// Reasons carried by ForbiddenError.
const (
	ReasonUnknownMember    = "not a registered member"
	ReasonInactiveMember   = "membership is inactive"
	ReasonPendingMember    = "membership is awaiting approval"
	ReasonNoLevel          = "no member level"
	ReasonEmailUnusable    = "no verified, well-formed e-mail address"
	ReasonMissingSubject   = "no subject"
	ReasonDirectoryUnknown = "unknown member state"
	ReasonEmailTaken       = "e-mail address belongs to another account"
	ReasonRefusedMember    = "sign-up was refused"
	ReasonInviteInvalid    = "invitation link is not valid"
	ReasonInviteExpired    = "invitation link has expired"
	ReasonInviteUsed       = "invitation link has already been used"
	ReasonSignUpDomain     = "sign-up is not open to this e-mail domain"
)

// ClaimNames says where each part of a member profile is found in the
// provider's claims. A name is tried as a claim first and, failing that, as a
// dotted path into nested objects ("realm_access.roles").
type ClaimNames struct {
	Email    string            // default "email"
	Name     string            // default "name"
	Level    string            // default "level"
	Org      string            // default "org"
	Groups   string            // default "groups"
	Lang     string            // default "locale"
	TimeZone string            // default "zoneinfo"
	Attrs    map[string]string // attribute name → claim name or path
}

func (c *ClaimNames) defaults() {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&c.Email, "email")
	def(&c.Name, "name")
	def(&c.Level, "level")
	def(&c.Org, "org")
	def(&c.Groups, "groups")
	def(&c.Lang, "locale")
	def(&c.TimeZone, "zoneinfo")
}

// GroupLevel maps a group value to a member level.
type GroupLevel struct {
	Group string
	Level string
}

// profiles turns verified claims into an Identity, consulting the members
// directory when there is one.
type profiles struct {
	claims          ClaimNames
	groupLevels     []GroupLevel
	defaultLevel    string
	trustUnverified bool // take the e-mail claim without email_verified
	dir             MemberDirectory
	lookupBy        string
	addPending      bool
	cache           *ttlCache[*Member]
	group           singleflight.Group
	bindings        *emailBindings
	audit           *audit.Logger
}

// resolve builds the identity for verified claims from issuer, for a
// request that came via "session" or "bearer", and says when the members
// directory's answer it used was fetched (zero without a directory). A
// person who may not use kgate gets a *ForbiddenError; a directory or
// store failure is returned as it is (the caller answers 503 rather than
// 403).
func (p *profiles) resolve(ctx context.Context, via, issuer string, claims map[string]any) (_ *identity.Identity, checked time.Time, _ error) {
	id := &identity.Identity{Issuer: issuer}
	id.Subject, _ = claims["sub"].(string)
	if id.Subject == "" {
		return nil, checked, &ForbiddenError{Reason: ReasonMissingSubject}
	}
	id.Email = verifiedEmail(claims, p.claims.Email, p.trustUnverified)
	id.Name = claimString(claims, p.claims.Name)
	id.Level = claimString(claims, p.claims.Level)
	id.Org = claimString(claims, p.claims.Org)
	id.Groups = claimStrings(claims, p.claims.Groups)
	id.Lang = langOf(claimString(claims, p.claims.Lang))
	id.TimeZone = claimString(claims, p.claims.TimeZone)
	for name, path := range p.claims.Attrs {
		if v, ok := lookupClaim(claims, path); ok {
			if id.Attrs == nil {
				id.Attrs = make(map[string]any)
			}
			id.Attrs[name] = v
		}
	}
	if id.Level == "" {
		id.Level = p.levelFromGroups(id.Groups)
	}
	var bound string // the subject the members app gives this address
	if p.dir != nil {
		var err error
		if bound, checked, err = p.applyDirectory(ctx, id); err != nil {
			return nil, checked, err
		}
	}
	if id.Level == "" {
		id.Level = p.defaultLevel
	}
	if id.Level == "" {
		return nil, checked, &ForbiddenError{Reason: ReasonNoLevel, Subject: id.Subject, Email: id.Email}
	}
	if err := p.checkBinding(ctx, via, id, bound); err != nil {
		return nil, checked, err
	}
	return id, checked, nil
}

// checkBinding keeps an e-mail address with one account: the subject the
// members app records for it, or else the first subject of this issuer
// that used it. Policies and the members app know people by address, so a
// second account with the same address — re-created at the provider, or
// one whose address the provider let someone claim — is refused rather
// than taken for the first.
func (p *profiles) checkBinding(ctx context.Context, via string, id *identity.Identity, bound string) error {
	if id.Email == "" {
		return nil
	}
	if bound == "" {
		var err error
		if bound, err = p.bindings.subject(ctx, id.Issuer, id.Email, id.Subject); err != nil {
			return err
		}
	}
	if bound == id.Subject {
		return nil
	}
	p.audit.LogContext(ctx, audit.Event{Kind: "identity_conflict", Subject: id.Subject, Email: id.Email, Via: via,
		Outcome: "denied", Error: "the e-mail address is bound to subject " + bound})
	return &ForbiddenError{Reason: ReasonEmailTaken, Subject: id.Subject, Email: id.Email}
}

func (p *profiles) levelFromGroups(groups []string) string {
	for _, gl := range p.groupLevels {
		for _, g := range groups {
			if g == gl.Group {
				return gl.Level
			}
		}
	}
	return ""
}

// applyDirectory overlays the directory's entry on id: the operator's
// directory is the authority on level, organization, groups and attributes.
// Looked up by e-mail, it returns the subject the entry records, if any;
// and when the directory gave the answer.
func (p *profiles) applyDirectory(ctx context.Context, id *identity.Identity) (bound string, fetched time.Time, err error) {
	key := id.Subject
	if p.lookupBy == ByEmail {
		key = id.Email
		if key == "" {
			return "", fetched, &ForbiddenError{Reason: ReasonEmailUnusable, Subject: id.Subject}
		}
	}
	m, fetched, err := p.lookup(ctx, key)
	if err != nil {
		return "", fetched, err
	}
	forbid := func(reason string) error {
		return &ForbiddenError{Reason: reason, Subject: id.Subject, Email: id.Email, who: applicantOf(id)}
	}
	if m == nil {
		if !p.addPending {
			return "", fetched, forbid(ReasonUnknownMember)
		}
		if err := p.addAsPending(ctx, key, id); err != nil {
			return "", fetched, err
		}
		return "", fetched, forbid(ReasonPendingMember)
	}
	switch m.State {
	case MemberActive:
	case MemberInactive:
		return "", fetched, forbid(ReasonInactiveMember)
	case MemberPending:
		return "", fetched, forbid(ReasonPendingMember)
	case MemberRefused:
		return "", fetched, forbid(ReasonRefusedMember)
	default:
		return "", fetched, forbid(ReasonDirectoryUnknown)
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&id.Name, m.Name)
	set(&id.Level, m.Level)
	set(&id.Org, m.Org)
	if len(m.Groups) > 0 {
		id.Groups = m.Groups
	}
	for k, v := range m.Attrs {
		if id.Attrs == nil {
			id.Attrs = make(map[string]any)
		}
		id.Attrs[k] = v
	}
	if p.lookupBy == ByEmail {
		bound = m.Subject
	}
	return bound, fetched, nil
}

// lookup asks the directory through a TTL cache, and says when the
// answer was fetched; concurrent misses for the same key make one call.
func (p *profiles) lookup(ctx context.Context, key string) (*Member, time.Time, error) {
	if m, fetched, ok := p.cache.get(key); ok {
		return m, fetched, nil
	}
	v, err, _ := p.group.Do(key, func() (any, error) {
		m, err := p.dir.Lookup(ctx, p.lookupBy, key)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrDirectoryUnavailable, err)
		}
		return cached[*Member]{v: m, fetched: p.cache.put(key, m)}, nil
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	c := v.(cached[*Member])
	return c.v, c.fetched, nil
}

// addAsPending adds an unknown person once: the pending entry is cached
// so that repeated attempts within the TTL do not add it again, and the
// directory itself then answers "pending" for it.
func (p *profiles) addAsPending(ctx context.Context, key string, id *identity.Identity) error {
	_, err, _ := p.group.Do("pending\x00"+key, func() (any, error) {
		if m, _, ok := p.cache.get(key); ok && m != nil {
			return nil, nil
		}
		m := Member{Email: id.Email, Subject: id.Subject, Name: id.Name, State: MemberPending}
		if err := p.dir.AddPending(ctx, m); err != nil {
			return nil, fmt.Errorf("auth: members directory: adding pending member: %w", err)
		}
		p.cache.put(key, &m)
		return nil, nil
	})
	return err
}

// verifiedEmail returns the e-mail claim in lower case when it is usable
// as an identity: exactly one "@" with something on both sides, no spaces
// or controls, and email_verified true (a boolean, or the string some
// providers send) unless trustUnverified. Anything else is "", which
// matches no member and no rule.
func verifiedEmail(claims map[string]any, name string, trustUnverified bool) string {
	e := claimString(claims, name)
	if e == "" {
		return ""
	}
	if !trustUnverified {
		switch v := claims["email_verified"].(type) {
		case bool:
			if !v {
				return ""
			}
		case string:
			if !strings.EqualFold(v, "true") {
				return ""
			}
		default: // absent or not a truth value: the provider does not vouch for it
			return ""
		}
	}
	at := strings.IndexByte(e, '@')
	if at <= 0 || at == len(e)-1 || strings.Count(e, "@") != 1 || len(e) > 254 {
		return ""
	}
	for _, r := range e {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return ""
		}
	}
	return strings.ToLower(e)
}

func langOf(locale string) string {
	l := strings.ToLower(locale)
	switch {
	case l == "ja" || strings.HasPrefix(l, "ja-") || strings.HasPrefix(l, "ja_"):
		return "ja"
	case l == "en" || strings.HasPrefix(l, "en-") || strings.HasPrefix(l, "en_"):
		return "en"
	}
	return ""
}

// lookupClaim finds name as a top-level claim, or else as a dotted path.
func lookupClaim(claims map[string]any, name string) (any, bool) {
	if name == "" {
		return nil, false
	}
	if v, ok := claims[name]; ok {
		return v, true
	}
	var cur any = claims
	for part := range strings.SplitSeq(name, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func claimString(claims map[string]any, name string) string {
	v, _ := lookupClaim(claims, name)
	s, _ := v.(string)
	return s
}

// claimStrings reads a claim that is a list of strings or a single string.
func claimStrings(claims map[string]any, name string) []string {
	v, _ := lookupClaim(claims, name)
	switch v := v.(type) {
	case string:
		if v != "" {
			return []string{v}
		}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// ttlCache is a bounded cache whose entries live ttl after they were put.
// The members directory's answers are kept in one, misses included (a nil
// member), so that an unknown person cannot make every request reach the
// directory.
type ttlCache[V any] struct {
	ttl time.Duration
	max int
	now func() time.Time
	mu  sync.Mutex
	m   map[string]cached[V]
}

type cached[V any] struct {
	v       V
	fetched time.Time
}

func newTTLCache[V any](ttl time.Duration, max int, now func() time.Time) *ttlCache[V] {
	return &ttlCache[V]{ttl: ttl, max: max, now: now, m: make(map[string]cached[V])}
}

// get returns the value for key and when it was put, unless it is older
// than the cache's ttl.
func (c *ttlCache[V]) get(key string) (V, time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || !c.now().Before(e.fetched.Add(c.ttl)) {
		var zero V
		return zero, time.Time{}, false
	}
	return e.v, e.fetched, true
}

// drop forgets key.
func (c *ttlCache[V]) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
}

// put keeps v under key and returns the moment it counts from.
func (c *ttlCache[V]) put(key string, v V) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.m) >= c.max {
		for k, e := range c.m { // drop what has expired, then anything
			if !now.Before(e.fetched.Add(c.ttl)) {
				delete(c.m, k)
			}
		}
		for k := range c.m {
			if len(c.m) < c.max {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[key] = cached[V]{v: v, fetched: now}
	return now
}
