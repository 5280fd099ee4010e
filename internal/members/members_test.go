package members

import (
	"context"
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
