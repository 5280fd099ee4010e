package portal

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/seal"
)

// fakeViewAs is the Caddy module's part for a portal test: the session is
// a "sid" cookie, the members are the demo's, the policy is the world's.
type fakeViewAs struct {
	*seal.Keys
	gw     *gateway.Gateway
	mu     sync.Mutex
	events []audit.Event
}

func newFakeViewAs(t *testing.T, gw *gateway.Gateway) *fakeViewAs {
	secret := make([]byte, 32)
	rand.Read(secret)
	k, err := seal.New([][]byte{secret}, "view-as cookie")
	if err != nil {
		t.Fatal(err)
	}
	return &fakeViewAs{Keys: k, gw: gw}
}

func (f *fakeViewAs) Session(r *http.Request) string {
	c, err := r.Cookie("sid")
	if err != nil {
		return ""
	}
	return c.Value
}

func (f *fakeViewAs) May(ctx context.Context, staff *identity.Identity) (bool, error) {
	ref, _ := f.gw.Ref("members")
	return f.gw.Allows(ctx, staff, ref, "view_as")
}

func (f *fakeViewAs) Member(_ context.Context, email string) (*identity.Identity, error) {
	for name, m := range members {
		if m.Email == email {
			return demoMember(name), nil
		}
	}
	return nil, ErrNoSuchMember
}

func (f *fakeViewAs) Explain(_ context.Context, m *identity.Identity, alias, action, record string) (string, error) {
	return "EXPLAINED " + m.Email + " " + action + " " + alias + " " + record, nil
}

func (f *fakeViewAs) Log(_ context.Context, e audit.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, e)
}

func (f *fakeViewAs) last() audit.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.events) == 0 {
		return audit.Event{}
	}
	return f.events[len(f.events)-1]
}

// browser is one staff browser: a session id and the cookies kgate set.
type viewAsBrowser struct {
	w       *world
	who     *identity.Identity
	cookies map[string]string
}

func (b *viewAsBrowser) request(method, target string, form url.Values) *response {
	var r *http.Request
	if form != nil {
		r = httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
	} else {
		r = httptest.NewRequest(method, target, nil)
	}
	for k, v := range b.cookies {
		r.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	rec := httptest.NewRecorder()
	b.w.h.Serve(rec, r, b.who)
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	return &response{ResponseRecorder: rec, body: rec.Body.String()}
}

func (b *viewAsBrowser) token() string {
	return b.w.h.guard.mac(b.who, b.cookies[formCookie])
}

func (b *viewAsBrowser) start(email string) *response {
	return b.request(http.MethodPost, viewAsPath, url.Values{tokenField: {b.token()}, "do": {"start"}, "email": {email}})
}

func newViewAsBrowser(w *world, who *identity.Identity, session string) *viewAsBrowser {
	who.Via = "session"
	return &viewAsBrowser{w: w, who: who, cookies: map[string]string{"sid": session, formCookie: strings.Repeat("f", 43)}}
}

func TestViewAsStartsAndStopsAuditedWithTheCookieBoundToTheSession(t *testing.T) {
	w := newWorld(t)
	f := newFakeViewAs(t, w.gw)
	w.h.EnableViewAs(f)
	sam := newViewAsBrowser(w, demoMember("sam"), "session-1")
	mustContain(t, sam.request(http.MethodGet, "/", nil).body, `<a href="/view-as">`)

	r := sam.start("bob@acme.example")
	if r.Code != http.StatusSeeOther {
		t.Fatalf("start: %d %s", r.Code, r.body)
	}
	var set *http.Cookie
	for _, c := range r.Result().Cookies() {
		if c.Name == "__Host-kgate-view-as" {
			set = c
		}
	}
	if set == nil || !set.Secure || !set.HttpOnly || set.SameSite != http.SameSiteLaxMode || set.Path != "/" || set.Domain != "" {
		t.Fatalf("the view-as cookie %+v", set)
	}
	if e := f.last(); e.Kind != "view_as_start" || e.Action != "view_as" || !e.Allowed || e.ViewedBy != "sam@operator.example" ||
		e.Email != "bob@acme.example" || e.Subject != "u-bob" || e.Outcome != "ok" {
		t.Errorf("start event %+v", e)
	}

	home := sam.request(http.MethodGet, "/", nil)
	mustContain(t, home.body, `class="view-as-banner"`, "Bob Suzuki &lt;bob@acme.example&gt;")
	mustNotContain(t, home.body, `href="/apps/members"`, `<a href="/view-as">`)

	refused := sam.request(http.MethodGet, "/apps/members", nil)
	if refused.Code != http.StatusForbidden {
		t.Errorf("the members app viewed as bob: %d", refused.Code)
	}
	mustContain(t, refused.body, "EXPLAINED bob@acme.example read members ")
	excluded := sam.request(http.MethodGet, "/apps/budget/records/8", nil)
	mustContain(t, excluded.body, "EXPLAINED bob@acme.example read budget 8")

	// The same cookie in another session of sam's, in another staff
	// member's browser, or with sam's bearer token is nobody's view.
	bearer := newViewAsBrowser(w, demoMember("sam"), "session-1")
	bearer.who.Via = "bearer"
	for name, other := range map[string]*viewAsBrowser{
		"a bearer token":  bearer,
		"another session": newViewAsBrowser(w, demoMember("sam"), "session-2"),
		"other staff": newViewAsBrowser(w, &identity.Identity{Subject: "u-sue", Issuer: demoIssuer, Email: "sue@operator.example",
			Level: "staff", Via: "session"}, "session-1"),
	} {
		other.cookies["__Host-kgate-view-as"] = sam.cookies["__Host-kgate-view-as"]
		p := other.request(http.MethodGet, "/", nil)
		mustNotContain(t, p.body, `class="view-as-banner"`)
		if _, kept := other.cookies["__Host-kgate-view-as"]; kept {
			t.Errorf("%s: the cookie was not cleared", name)
		}
	}

	stop := sam.request(http.MethodPost, viewAsPath, url.Values{tokenField: {sam.token()}, "do": {"stop"}})
	if stop.Code != http.StatusSeeOther {
		t.Fatalf("stop: %d", stop.Code)
	}
	if e := f.last(); e.Kind != "view_as_stop" || e.ViewedBy != "sam@operator.example" || e.Email != "bob@acme.example" {
		t.Errorf("stop event %+v", e)
	}
	if _, kept := sam.cookies["__Host-kgate-view-as"]; kept {
		t.Error("stop left the cookie")
	}
	mustNotContain(t, sam.request(http.MethodGet, "/", nil).body, `class="view-as-banner"`)
}

func TestViewAsIsRefusedToWhomThePolicyDoesNotGiveIt(t *testing.T) {
	for _, tc := range []struct {
		name   string
		who    string
		policy func(map[string]any)
	}{
		{"a gold partner", "alice", nil},
		{"staff under a policy without view_as", "sam", func(data map[string]any) {
			staff := data["apps"].(map[string]any)["members"].(map[string]any)["levels"].(map[string]any)["staff"].(map[string]any)
			staff["actions"] = []any{"read"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorldWith(t, worldOptions{policy: tc.policy})
			f := newFakeViewAs(t, w.gw)
			w.h.EnableViewAs(f)
			b := newViewAsBrowser(w, demoMember(tc.who), "session-1")
			mustNotContain(t, b.request(http.MethodGet, "/", nil).body, `<a href="/view-as">`)
			if p := b.request(http.MethodGet, viewAsPath, nil); p.Code != http.StatusForbidden {
				t.Errorf("the view-as page: %d", p.Code)
			}
			r := b.start("bob@acme.example")
			if r.Code != http.StatusForbidden {
				t.Errorf("start: %d", r.Code)
			}
			if _, set := b.cookies["__Host-kgate-view-as"]; set {
				t.Error("a view-as cookie was set")
			}
			if e := f.last(); e.Kind != "view_as_start" || e.Allowed || e.Outcome != "denied" || e.ViewedBy != members[tc.who].Email {
				t.Errorf("the refused start's event %+v", e)
			}
		})
	}
}

// A member refused a page never sees the policy's explanation.
func TestMembersAreNotShownTheExplanation(t *testing.T) {
	w := newWorld(t)
	w.h.EnableViewAs(newFakeViewAs(t, w.gw))
	bob := newViewAsBrowser(w, demoMember("bob"), "session-1")
	for _, path := range []string{"/apps/members", "/apps/budget/records/8"} {
		mustNotContain(t, bob.request(http.MethodGet, path, nil).body, "EXPLAINED")
	}
}

// A member who stops being an active member while staff view as them ends
// the view: staff are back in their own portal.
func TestViewAsEndsWhenTheMemberIsNoLongerActive(t *testing.T) {
	w := newWorld(t)
	f := newFakeViewAs(t, w.gw)
	w.h.EnableViewAs(f)
	sam := newViewAsBrowser(w, demoMember("sam"), "session-1")
	sam.cookies[viewAsCookie] = f.Seal(viewAsAD(sam.who, "session-1"), []byte(`{"e":"gone@acme.example"}`))
	p := sam.request(http.MethodGet, "/", nil)
	if p.Code != http.StatusOK {
		t.Fatalf("home: %d", p.Code)
	}
	mustNotContain(t, p.body, `class="view-as-banner"`)
	if _, kept := sam.cookies[viewAsCookie]; kept {
		t.Error("the cookie was not cleared")
	}
}
