package members

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/auth"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kintonesim"
)

func demoDirectory(t *testing.T) (*Directory, *kintonesim.Server) {
	t.Helper()
	seed, err := kintonesim.LoadSeed("../../examples/partner-portal/seed.json")
	if err != nil {
		t.Fatal(err)
	}
	sim, err := kintonesim.New(seed)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	client, err := kintone.NewClient(kintone.Config{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return New(client, "1", "", []string{"demo-token-members"}, Fields{}), sim
}

func TestLookupReadsTheMembersApp(t *testing.T) {
	d, _ := demoDirectory(t)
	ctx := context.Background()
	tests := []struct {
		by, value string
		want      *auth.Member
	}{
		{auth.ByEmail, "alice@acme.example", &auth.Member{Email: "alice@acme.example", Subject: "u-alice", Org: "acme", Level: "gold", State: "active"}},
		{auth.BySubject, "u-dave", &auth.Member{Email: "dave@bluebird.example", Subject: "u-dave", Org: "bluebird", Level: "silver", State: "active"}},
		{auth.ByEmail, "erin@cosmo.example", &auth.Member{Email: "erin@cosmo.example", Org: "cosmo", Level: "silver", State: "inactive"}},
		{auth.ByEmail, "frank@unknown.example", nil},
		{auth.ByEmail, `x" or email != "`, nil},
	}
	for _, tt := range tests {
		got, err := d.Lookup(ctx, tt.by, tt.value)
		if err != nil {
			t.Fatalf("%s: %v", tt.value, err)
		}
		if tt.want == nil {
			if got != nil {
				t.Errorf("%s: found %+v, want nobody", tt.value, got)
			}
			continue
		}
		if got == nil || got.Email != tt.want.Email || got.Org != tt.want.Org || got.Level != tt.want.Level || got.State != tt.want.State ||
			(tt.want.Subject != "" && got.Subject != tt.want.Subject) {
			t.Errorf("%s: %+v, want %+v", tt.value, got, tt.want)
		}
	}
}

func TestAddPendingRecordsAnUnknownPerson(t *testing.T) {
	d, _ := demoDirectory(t)
	ctx := context.Background()
	if err := d.AddPending(ctx, auth.Member{Email: "frank@unknown.example", Subject: "u-frank", Name: "Frank"}); err != nil {
		t.Fatal(err)
	}
	got, err := d.Lookup(ctx, auth.ByEmail, "frank@unknown.example")
	if err != nil || got == nil || got.State != auth.MemberPending || got.Level != "" {
		t.Fatalf("after AddPending: %+v, %v", got, err)
	}
}

func TestAmbiguousMembersAreAnError(t *testing.T) {
	d, sim := demoDirectory(t)
	if _, err := sim.EditRecord(1, 2, "", map[string]any{"sub": map[string]any{"value": "u-alice"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Lookup(context.Background(), auth.BySubject, "u-alice"); err == nil || !strings.Contains(err.Error(), "more than one") {
		t.Fatalf("err = %v, want an error naming the ambiguity", err)
	}
}

func TestLookupsGetThroughWhileReadsFillTheCap(t *testing.T) {
	seed, err := kintonesim.LoadSeed("../../examples/partner-portal/seed.json")
	if err != nil {
		t.Fatal(err)
	}
	sim, err := kintonesim.New(seed)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	sim.InjectFault(kintonesim.Fault{Path: "/k/v1/record.json", Hold: hold, Times: -1})
	client, err := kintone.NewClient(kintone.Config{BaseURL: srv.URL, MaxConcurrent: 2, MemberShare: 1, MaxQueue: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, id := range []string{"1", "2"} { // one read in flight, one waiting: the general share and its queue are full
		go client.Do(ctx, kintone.Request{Method: "GET", API: "record.json", App: "2", Tokens: []string{"demo-token-budget"},
			Params: url.Values{"app": {"2"}, "id": {id}}})
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if in, waiting := client.Load(); in == 1 && waiting == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the reads did not fill the cap")
		}
	}
	d := New(client, "1", "", []string{"demo-token-members"}, Fields{})
	m, err := d.Lookup(ctx, auth.ByEmail, "alice@acme.example")
	if err != nil || m == nil || m.State != "active" {
		t.Fatalf("a lookup while reads fill the cap: %+v, %v; want alice, from the member share", m, err)
	}
}

// Active lists every active member across pages of 500, with their e-mail
// preferences read from the optional fields: a language only when it is
// ja or en, the switches from a check box or a text saying yes.
func TestActiveListsActiveMembersWithTheirPreferences(t *testing.T) {
	field := func(typ, code string, options ...string) json.RawMessage {
		b, _ := json.Marshal(map[string]any{"type": typ, "code": code, "label": code, "options": options})
		return b
	}
	val := func(v any) json.RawMessage { b, _ := json.Marshal(map[string]any{"value": v}); return b }
	app := kintonesim.SeedApp{ID: 1, Name: "members", Tokens: []kintonesim.SeedToken{{Token: "tok", View: true}},
		Fields: []json.RawMessage{field("SINGLE_LINE_TEXT", "email"), field("DROP_DOWN", "state", "active", "inactive", "pending"),
			field("DROP_DOWN", "level", "silver", "gold"), field("SINGLE_LINE_TEXT", "language"),
			field("CHECK_BOX", "mute", "off"), field("DROP_DOWN", "bundle", "yes", "no")}}
	const n = 1203
	for i := range n {
		state := "active"
		if i%3 == 1 {
			state = "inactive"
		}
		lang := []string{"ja", "en", "fr", ""}[i%4]
		mute := []string{}
		if i%5 == 0 {
			mute = []string{"off"}
		}
		app.Records = append(app.Records, map[string]json.RawMessage{
			"email": val(fmt.Sprintf("m%d@x.example", i)), "state": val(state), "level": val("silver"),
			"language": val(lang), "mute": val(mute), "bundle": val([]string{"no", "yes"}[i%2]),
		})
	}
	sim, err := kintonesim.New(&kintonesim.Seed{Apps: []kintonesim.SeedApp{app}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	client, err := kintone.NewClient(kintone.Config{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		fields Fields
		check  func(i int, s Subscriber) string
	}{
		{"preferences read", Fields{Lang: "language", NotifyOff: "mute", Digest: "bundle"}, func(i int, s Subscriber) string {
			wantLang := map[int]string{0: "ja", 1: "en"}[i%4]
			if s.Lang != wantLang || s.NotifyOff != (i%5 == 0) || s.Digest != (i%2 == 1) {
				return fmt.Sprintf("lang %q off %v digest %v", s.Lang, s.NotifyOff, s.Digest)
			}
			return ""
		}},
		{"no preference fields configured", Fields{}, func(i int, s Subscriber) string {
			if s.Lang != "" || s.NotifyOff || s.Digest {
				return fmt.Sprintf("lang %q off %v digest %v", s.Lang, s.NotifyOff, s.Digest)
			}
			return ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := New(client, "1", "", []string{"tok"}, tt.fields).Active(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			want := 0
			for i := range n {
				if i%3 == 1 {
					continue
				}
				if want >= len(got) {
					t.Fatalf("%d active members, want more", len(got))
				}
				s := got[want]
				if s.Email != fmt.Sprintf("m%d@x.example", i) || s.State != auth.MemberActive {
					t.Fatalf("member %d: %+v", want, s.Member)
				}
				if msg := tt.check(i, s); msg != "" {
					t.Errorf("m%d: %s", i, msg)
				}
				want++
			}
			if len(got) != want {
				t.Fatalf("%d active members, want %d", len(got), want)
			}
		})
	}
}
