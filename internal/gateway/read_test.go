package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kintonesim"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/testworld"
)

// env is a gateway over the test world.
type env struct {
	gw     *gateway.Gateway
	direct *kintone.Client // to the simulator, past kgate
	world  *testworld.World
	ctx    context.Context
	want   *testworld.Oracle
}

func newEnv(t testing.TB, orders int) *env {
	t.Helper()
	w := testworld.Start(t, orders)
	ctx := context.Background()
	eng, err := policy.Open(ctx, policy.Options{Dir: w.PolicyDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	client, err := kintone.NewClient(kintone.Config{BaseURL: w.URL})
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(gateway.Config{Client: client, Policy: eng, Apps: testworld.Apps(), Logger: zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))})
	if err != nil {
		t.Fatal(err)
	}
	return &env{gw: gw, direct: client, world: w, ctx: ctx, want: w.Oracle(t)}
}

// sharedEnv is a world of 600 orders for a test that only reads.
func sharedEnv(t *testing.T) *env { return newEnv(t, 600) }

func idOf(r kintone.Record) string { return testworld.ID(r) }

// listAll pages through ListRecords and returns the ids in order.
func (e *env) listAll(t testing.TB, id *identity.Identity, query string) ([]string, error) {
	t.Helper()
	var ids []string
	for offset := 0; ; offset += 50 {
		q := query + fmt.Sprintf(" limit 50 offset %d", offset)
		page, err := e.gw.ListRecords(e.ctx, id, gateway.ListRequest{App: gateway.AppRef{ID: testworld.OrdersApp}, Query: q, Fields: []string{"$id"}})
		if err != nil {
			return nil, err
		}
		for _, r := range page.Records {
			var rec kintone.Record
			json.Unmarshal(r, &rec)
			ids = append(ids, idOf(rec))
		}
		if len(page.Records) < 50 {
			return ids, nil
		}
	}
}

func set(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

func diff(got, want map[string]bool) (extra, missing []string) {
	for id := range got {
		if !want[id] {
			extra = append(extra, id)
		}
	}
	for id := range want {
		if !got[id] {
			missing = append(missing, id)
		}
	}
	sort.Strings(extra)
	sort.Strings(missing)
	return extra, missing
}

func TestEachMemberListsExactlyTheRowsThePolicyAllows(t *testing.T) {
	e := sharedEnv(t)
	for name, id := range testworld.Identities {
		if id.Level == "" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			ids, err := e.listAll(t, id, "order by $id asc")
			if err != nil {
				t.Fatal(err)
			}
			want := e.want.Visible(t, id, testworld.OrdersApp, "orders")
			if extra, missing := diff(set(ids), want); len(extra)+len(missing) > 0 {
				t.Fatalf("kgate returned %d extra ids %v and missed %d ids %v", len(extra), extra, len(missing), missing)
			}
			if len(want) == 0 || (id.Level != "staff" && len(want) == len(e.want.Records[testworld.OrdersApp])) {
				t.Fatalf("the world is degenerate for %s: %d visible records", name, len(want))
			}
		})
	}
}

func TestTotalCountCountsOnlyAllowedMatches(t *testing.T) {
	e := sharedEnv(t)
	for _, name := range []string{"alice", "bob", "sam"} {
		id := testworld.Identities[name]
		page, err := e.gw.ListRecords(e.ctx, id, gateway.ListRequest{App: gateway.AppRef{ID: testworld.OrdersApp},
			Query: `priority in ("high") limit 1`, TotalCount: true})
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for rid := range e.want.Visible(t, id, testworld.OrdersApp, "orders") {
			if fieldString(e.want.Records[testworld.OrdersApp][rid], "priority") == "high" {
				want++
			}
		}
		if page.TotalCount == nil || *page.TotalCount != int64(want) {
			t.Errorf("%s: totalCount = %v, want %d", name, page.TotalCount, want)
		}
	}
}

func fieldString(r kintone.Record, code string) string {
	var s string
	json.Unmarshal(r[code].Value, &s)
	return s
}

func decode(t testing.TB, raw json.RawMessage) kintone.Record {
	t.Helper()
	var r kintone.Record
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestFieldsAreThoseTheLevelMayRead(t *testing.T) {
	e := sharedEnv(t)
	tests := []struct {
		name       string
		fields     []string
		want, deny []string
		masked     []string
	}{
		{"bob", nil, []string{"$id", "$revision", "title", "org", "amount", "items"}, []string{"cost", "secret", "visibility", "作成者"}, []string{"amount"}},
		{"alice", nil, []string{"title", "cost", "amount"}, []string{"secret", "visibility"}, nil},
		{"sam", nil, []string{"title", "cost", "secret", "visibility"}, nil, nil},
		{"bob", []string{"title", "secret", "visibility"}, []string{"title"}, []string{"secret", "visibility", "amount", "org"}, nil},
		{"alice", []string{"cost"}, []string{"cost"}, []string{"title", "$revision"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+strings.Join(tt.fields, ","), func(t *testing.T) {
			page, err := e.gw.ListRecords(e.ctx, testworld.Identities[tt.name], gateway.ListRequest{
				App: gateway.AppRef{ID: testworld.OrdersApp}, Fields: tt.fields, Query: "limit 20"})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Records) == 0 {
				t.Fatal("no records")
			}
			for _, raw := range page.Records {
				rec := decode(t, raw)
				for _, f := range tt.want {
					if _, ok := rec[f]; !ok {
						t.Errorf("field %s missing from %s", f, raw)
					}
				}
				for _, f := range tt.deny {
					if _, ok := rec[f]; ok {
						t.Errorf("field %s present in %s", f, raw)
					}
				}
				for _, f := range tt.masked {
					if string(rec[f].Value) != `""` || rec[f].Type != "NUMBER" {
						t.Errorf("field %s = %s, want the mask with its type", f, raw)
					}
				}
			}
		})
	}
}

// kerr returns err as a kintone error or fails.
func kerr(t testing.TB, err error) *kintone.Error {
	t.Helper()
	var ke *kintone.Error
	if !errors.As(err, &ke) {
		t.Fatalf("err = %v (%T), want a kintone error", err, err)
	}
	return ke
}

func TestAHiddenRecordAnswersExactlyLikeAMissingOne(t *testing.T) {
	e := sharedEnv(t)
	bob := testworld.Identities["bob"]
	visible := e.want.Visible(t, bob, testworld.OrdersApp, "orders")
	var hidden string
	for rid := range e.want.Records[testworld.OrdersApp] {
		if !visible[rid] {
			hidden = rid
			break
		}
	}
	missing := "999999"
	_, errHidden := e.gw.GetRecord(e.ctx, bob, gateway.AppRef{ID: testworld.OrdersApp}, hidden)
	_, errMissing := e.gw.GetRecord(e.ctx, bob, gateway.AppRef{ID: testworld.OrdersApp}, missing)
	h, m := kerr(t, errHidden), kerr(t, errMissing)
	if h.Status != 404 || h.Code != "GAIA_RE01" || m.Status != h.Status || m.Code != h.Code ||
		strings.ReplaceAll(h.Message, hidden, "N") != strings.ReplaceAll(m.Message, missing, "N") || len(h.Errors)+len(m.Errors) != 0 {
		t.Fatalf("hidden: %+v\nmissing: %+v\nthey must differ only in the id", h, m)
	}
	for rid := range visible {
		rec, err := e.gw.GetRecord(e.ctx, bob, gateway.AppRef{ID: testworld.OrdersApp}, rid)
		if err != nil {
			t.Fatal(err)
		}
		if r := decode(t, rec); idOf(r) != rid || r["secret"].Value != nil {
			t.Fatalf("GetRecord(%s) = %s", rid, rec)
		}
		break
	}
}

func TestConditionsAndSortOnlyOnFieldsTheMemberMayRead(t *testing.T) {
	e := sharedEnv(t)
	tests := []struct {
		who, query, code, names string
	}{
		{"bob", `secret = "s1"`, "GAIA_IQ11", "secret"},
		{"bob", `visibility in ("internal")`, "GAIA_IQ11", "visibility"},
		{"bob", `title like "alpha" order by cost desc`, "GAIA_IQ11", "cost"},
		{"alice", `secret = "s1" or title like "alpha"`, "GAIA_IQ11", "secret"},
		{"bob", `amount > 100`, "CB_VA01", "amount"},
		{"bob", `order by amount asc`, "CB_VA01", "amount"},
		{"alice", `nosuchfield = "x"`, "GAIA_IQ11", "nosuchfield"},
	}
	for _, tt := range tests {
		t.Run(tt.who+"/"+tt.query, func(t *testing.T) {
			_, err := e.gw.ListRecords(e.ctx, testworld.Identities[tt.who], gateway.ListRequest{App: gateway.AppRef{ID: testworld.OrdersApp}, Query: tt.query})
			ke := kerr(t, err)
			body, _ := json.Marshal(ke)
			if ke.Status != 400 || ke.Code != tt.code || !strings.Contains(string(body), tt.names) {
				t.Fatalf("error %s, want 400 %s naming %q", body, tt.code, tt.names)
			}
		})
	}
	if _, err := e.gw.ListRecords(e.ctx, testworld.Identities["sam"], gateway.ListRequest{App: gateway.AppRef{ID: testworld.OrdersApp}, Query: `secret = "s1" order by cost desc`}); err != nil {
		t.Fatalf("staff may query every field: %v", err)
	}
}

func TestPagesAreKintonesWhateverTheLevel(t *testing.T) {
	e := sharedEnv(t)
	ref := gateway.AppRef{ID: testworld.OrdersApp}
	bob := testworld.Identities["bob"]
	all, err := e.gw.ListRecords(e.ctx, bob, gateway.ListRequest{App: ref, Query: "limit 1", TotalCount: true})
	if err != nil {
		t.Fatal(err)
	}
	visible := int(*all.TotalCount)
	for _, tt := range []struct {
		query string
		want  int
	}{
		{"", min(100, visible)}, // kintone's default, not a policy's
		{"limit 51", min(51, visible)},
		{"limit 500", min(500, visible)},
	} {
		page, err := e.gw.ListRecords(e.ctx, bob, gateway.ListRequest{App: ref, Query: tt.query})
		if err != nil || len(page.Records) != tt.want {
			t.Errorf("silver %q: %d records (%v), want %d", tt.query, len(page.Records), err, tt.want)
		}
	}
	if _, err := e.gw.ListRecords(e.ctx, bob, gateway.ListRequest{App: ref, Query: "limit 501"}); kerr(t, err).Code != "GAIA_QU01" {
		t.Errorf("limit 501: %v, want kintone's GAIA_QU01", err)
	}
	page, err := e.gw.ListRecords(e.ctx, testworld.Identities["sam"], gateway.ListRequest{App: ref, Query: "limit 500"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Records) != 500 {
		t.Errorf("staff limit 500: %d records", len(page.Records))
	}
	_, err = e.gw.ListRecords(e.ctx, testworld.Identities["sam"], gateway.ListRequest{App: ref, Query: "offset 10001"})
	if ke := kerr(t, err); ke.Code != "GAIA_QU02" {
		t.Errorf("offset 10001: %+v, want GAIA_QU02", ke)
	}
}

func TestMembersWithoutAccessAreDeniedWithReasons(t *testing.T) {
	e := sharedEnv(t)
	_, err := e.gw.ListRecords(e.ctx, testworld.Identities["nolvl"], gateway.ListRequest{App: gateway.AppRef{ID: testworld.OrdersApp}})
	ke := kerr(t, err)
	if ke.Status != 403 || ke.Code != "CB_NO02" || len(ke.Errors["policy"].Messages) == 0 {
		t.Fatalf("%+v, want 403 CB_NO02 with the policy's reasons", ke)
	}
}

func TestGuestSpaceRulesAreKintones(t *testing.T) {
	e := sharedEnv(t)
	alice := testworld.Identities["alice"]
	tests := []struct {
		ref  gateway.AppRef
		code string
	}{
		{gateway.AppRef{ID: testworld.NoticesApp}, "GAIA_IL23"},
		{gateway.AppRef{ID: testworld.NoticesApp, Space: "8"}, "CB_NO02"},
		{gateway.AppRef{ID: testworld.OrdersApp, Space: "7"}, "CB_NO02"},
		{gateway.AppRef{ID: "12"}, "GAIA_AP01"},
	}
	for _, tt := range tests {
		_, err := e.gw.ListRecords(e.ctx, alice, gateway.ListRequest{App: tt.ref})
		if ke := kerr(t, err); ke.Code != tt.code {
			t.Errorf("%+v: %s, want %s", tt.ref, ke.Code, tt.code)
		}
	}
	page, err := e.gw.ListRecords(e.ctx, testworld.Identities["bob"], gateway.ListRequest{App: gateway.AppRef{ID: testworld.NoticesApp, Space: testworld.NoticesSpace}, Query: "limit 50"})
	if err != nil {
		t.Fatal(err)
	}
	want := e.want.Visible(t, testworld.Identities["bob"], testworld.NoticesApp, "notices")
	if len(page.Records) != len(want) || len(want) == 0 || len(want) == 20 {
		t.Fatalf("silver sees %d notices, want %d (of 20)", len(page.Records), len(want))
	}
}

func TestCursorsServeOnlyAllowedRowsAndOnlyTheirOwner(t *testing.T) {
	e := sharedEnv(t)
	ref := gateway.AppRef{ID: testworld.OrdersApp}
	dave, carol := testworld.Identities["dave"], testworld.Identities["carol"]
	key, total, err := e.gw.CreateCursor(e.ctx, dave, gateway.CursorRequest{App: ref, Fields: []string{"$id", "secret"}, Query: "order by $id asc", Size: 40})
	if err != nil {
		t.Fatal(err)
	}
	want := e.want.Visible(t, dave, testworld.OrdersApp, "orders")
	if total != int64(len(want)) {
		t.Errorf("cursor totalCount = %d, want %d", total, len(want))
	}
	if _, err := e.gw.GetCursor(e.ctx, carol, key); kerr(t, err).Code != "GAIA_CU01" {
		t.Error("another member read dave's cursor")
	}
	got := map[string]bool{}
	for {
		page, err := e.gw.GetCursor(e.ctx, dave, key)
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range page.Records {
			r := decode(t, raw)
			if _, ok := r["secret"]; ok {
				t.Fatal("a cursor returned an unreadable field")
			}
			got[idOf(r)] = true
		}
		if !page.Next {
			break
		}
	}
	if extra, missing := diff(got, want); len(extra)+len(missing) > 0 {
		t.Fatalf("cursor: extra %v missing %v", extra, missing)
	}
	if _, err := e.gw.GetCursor(e.ctx, dave, key); err == nil {
		t.Error("a cursor read to the end is still there")
	}
	if _, _, err := e.gw.CreateCursor(e.ctx, dave, gateway.CursorRequest{App: ref, Query: "limit 10"}); kerr(t, err).Code != "CB_VA01" {
		t.Error("a cursor query with limit was accepted")
	}
	// kintone's largest size is never cut: the member's rate bounds the
	// speed, not the page.
	big, total, err := e.gw.CreateCursor(e.ctx, dave, gateway.CursorRequest{App: ref, Size: 500, Fields: []string{"$id"}})
	if err != nil {
		t.Fatalf("a cursor of kintone's largest size: %v", err)
	}
	page, err := e.gw.GetCursor(e.ctx, dave, big)
	if err != nil || len(page.Records) != int(min(total, 500)) {
		t.Fatalf("a cursor page of %d records (%v), want %d", len(page.Records), err, min(total, 500))
	}
	e.gw.DeleteCursor(e.ctx, dave, big)
	if _, _, err := e.gw.CreateCursor(e.ctx, dave, gateway.CursorRequest{App: ref, Size: 501}); kerr(t, err).Code != "CB_VA01" {
		t.Error("a cursor above kintone's 500 was accepted")
	}
}

func TestCursorsPerIdentityAreCapped(t *testing.T) {
	e := newEnv(t, 20)
	ref := gateway.AppRef{ID: testworld.OrdersApp}
	alice := testworld.Identities["alice"]
	var keys []string
	for i := 0; i < 2; i++ {
		k, _, err := e.gw.CreateCursor(e.ctx, alice, gateway.CursorRequest{App: ref})
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if _, _, err := e.gw.CreateCursor(e.ctx, alice, gateway.CursorRequest{App: ref}); kerr(t, err).Code != "GAIA_TM12" {
		t.Fatal("a third cursor was opened")
	}
	if _, _, err := e.gw.CreateCursor(e.ctx, testworld.Identities["carol"], gateway.CursorRequest{App: ref}); err != nil {
		t.Fatalf("another member is limited by alice's cursors: %v", err)
	}
	if err := e.gw.DeleteCursor(e.ctx, alice, keys[0]); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.gw.CreateCursor(e.ctx, alice, gateway.CursorRequest{App: ref}); err != nil {
		t.Fatalf("after a delete: %v", err)
	}
}

func TestFileKeysBecomeTokensOnlyTheirHolderCanUse(t *testing.T) {
	e := sharedEnv(t)
	alice, carol, bob := testworld.Identities["alice"], testworld.Identities["carol"], testworld.Identities["bob"]
	page, err := e.gw.ListRecords(e.ctx, alice, gateway.ListRequest{App: gateway.AppRef{ID: testworld.OrdersApp},
		Query: "attachment is not empty order by $id asc", Fields: []string{"attachment"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Records) == 0 {
		t.Fatal("alice sees no record with an attachment")
	}
	var files []struct{ FileKey, Name string }
	json.Unmarshal(decode(t, page.Records[0])["attachment"].Value, &files)
	if len(files) != 1 || files[0].FileKey == "file-quote" || files[0].Name != "quote.txt" {
		t.Fatalf("attachment = %+v, want kintone's key replaced", files)
	}
	token := files[0].FileKey
	resp, err := e.gw.DownloadFile(e.ctx, alice, token)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "quote for acme" {
		t.Fatalf("downloaded %q", body)
	}
	for name, who := range map[string]*identity.Identity{"carol": carol, "bob": bob} {
		if _, err := e.gw.DownloadFile(e.ctx, who, token); err == nil {
			t.Errorf("%s used alice's file token", name)
		}
	}
	if _, err := e.gw.DownloadFile(e.ctx, alice, "file-quote"); kerr(t, err).Code != "GAIA_BL01" {
		t.Error("kintone's own file key was accepted")
	}
	if _, err := e.gw.DownloadFile(e.ctx, alice, token[:len(token)-2]+"AA"); kerr(t, err).Code != "GAIA_BL01" {
		t.Error("a tampered token was accepted")
	}
}

// StatFile checks a token exactly as DownloadFile does, without the
// content: the portal's thumbnails rely on it before using their cache.
func TestStatFileChecksLikeDownloadAndOpensTheSameContent(t *testing.T) {
	e := sharedEnv(t)
	alice, carol, bob := testworld.Identities["alice"], testworld.Identities["carol"], testworld.Identities["bob"]
	page, err := e.gw.ListRecords(e.ctx, alice, gateway.ListRequest{App: gateway.AppRef{ID: testworld.OrdersApp},
		Query: "attachment is not empty order by $id asc", Fields: []string{"attachment"}})
	if err != nil || len(page.Records) == 0 {
		t.Fatalf("records with an attachment: %v", err)
	}
	var files []struct{ FileKey string }
	json.Unmarshal(decode(t, page.Records[0])["attachment"].Value, &files)
	token := files[0].FileKey
	f, err := e.gw.StatFile(e.ctx, alice, token)
	if err != nil {
		t.Fatal(err)
	}
	if f.Name != "quote.txt" || f.Body != nil || f.Key == "" || strings.Contains(f.Key, token) {
		t.Fatalf("StatFile = %+v", f)
	}
	body, err := f.Open(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(body)
	body.Close()
	if string(got) != "quote for acme" {
		t.Errorf("opened %q", got)
	}
	for name, c := range map[string]struct {
		who   *identity.Identity
		token string
	}{
		"carol with alice's token": {carol, token},
		"bob with alice's token":   {bob, token},
		"kintone's own key":        {alice, "file-quote"},
		"a tampered token":         {alice, token[:len(token)-2] + "AA"},
	} {
		if f, err := e.gw.StatFile(e.ctx, c.who, c.token); kerr(t, err).Code != "GAIA_BL01" || f != nil {
			t.Errorf("%s: StatFile = %+v, %v", name, f, err)
		}
	}
}

func TestFormAndLayoutShowOnlyReadableFields(t *testing.T) {
	e := sharedEnv(t)
	form, err := e.gw.FormFields(e.ctx, testworld.Identities["bob"], gateway.AppRef{ID: testworld.OrdersApp}, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, hidden := range []string{"secret", "visibility", "cost"} {
		if _, ok := form.Properties[hidden]; ok {
			t.Errorf("form shows %s to a silver member", hidden)
		}
	}
	if _, ok := form.Properties["title"]; !ok {
		t.Error("form hides title")
	}
	apps, err := e.gw.Apps(e.ctx, testworld.Identities["nolvl"], gateway.AppsFilter{})
	if err != nil || len(apps) != 0 {
		t.Errorf("a member without access lists apps %v (%v)", apps, err)
	}
	apps, err = e.gw.Apps(e.ctx, testworld.Identities["bob"], gateway.AppsFilter{})
	if err != nil || len(apps) != 2 {
		t.Fatalf("apps = %v, %v", apps, err)
	}
	if string(apps[0].Creator) != `{"code":"","name":""}` {
		t.Errorf("app creator shown: %s", apps[0].Creator)
	}
}

func TestHostileQueriesNeverWidenTheResult(t *testing.T) {
	e := sharedEnv(t)
	for _, name := range []string{"bob", "carol"} {
		id := testworld.Identities[name]
		allowed := e.want.Visible(t, id, testworld.OrdersApp, "orders")
		for i, q := range testworld.HostileQueries {
			page, err := e.gw.ListRecords(e.ctx, id, gateway.ListRequest{App: gateway.AppRef{ID: testworld.OrdersApp}, Query: q, Fields: []string{"$id"}, TotalCount: true})
			if err != nil {
				if ke := kerr(t, err); ke.Status != 400 && ke.Status != 403 {
					t.Errorf("%s query %d: %d %s, want a 4xx", name, i, ke.Status, ke.Code)
				}
				continue
			}
			for _, raw := range page.Records {
				if rid := idOf(decode(t, raw)); !allowed[rid] {
					t.Fatalf("%s query %d %.80q returned record %s outside the row rule", name, i, q, rid)
				}
			}
			if *page.TotalCount > int64(len(allowed)) {
				t.Fatalf("%s query %d: totalCount %d exceeds the %d allowed rows", name, i, *page.TotalCount, len(allowed))
			}
		}
	}
}

func TestRecordsAreNotSharedBetweenOrganizations(t *testing.T) {
	e := sharedEnv(t)
	acme, err := e.listAll(t, testworld.Identities["bob"], "")
	if err != nil {
		t.Fatal(err)
	}
	blue, err := e.listAll(t, testworld.Identities["dave"], "")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range acme {
		if slices.Contains(blue, id) {
			t.Fatalf("record %s is visible to silver members of both organizations", id)
		}
	}
}

func TestCommentsOnlyOnRecordsTheMemberMaySee(t *testing.T) {
	e := newEnv(t, 40)
	bob := testworld.Identities["bob"]
	visible := e.want.Visible(t, bob, testworld.OrdersApp, "orders")
	seen, hidden := 0, 0
	for i := 1; i <= 30; i += 3 {
		rid := strconv.Itoa(i)
		out, err := e.gw.ListComments(e.ctx, bob, gateway.CommentsRequest{App: gateway.AppRef{ID: testworld.OrdersApp}, Record: rid})
		if !visible[rid] {
			if ke := kerr(t, err); ke.Code != "GAIA_RE01" {
				t.Errorf("record %s: %s, want GAIA_RE01 for a record bob may not see", rid, ke.Code)
			}
			hidden++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Comments) != 1 || out.Comments[0].Text != "comment on "+rid {
			t.Errorf("record %s: comments %+v", rid, out.Comments)
		}
		seen++
	}
	if seen == 0 || hidden == 0 {
		t.Fatalf("seen %d, hidden %d: the world does not exercise both", seen, hidden)
	}
	if _, err := e.gw.ListComments(e.ctx, testworld.Identities["nolvl"], gateway.CommentsRequest{App: gateway.AppRef{ID: testworld.OrdersApp}, Record: "1"}); kerr(t, err).Code != "CB_NO02" {
		t.Error("a member without comment.read read comments")
	}
}

func TestKintonesErrorsArePassedOnWithoutTheirArguments(t *testing.T) {
	e := newEnv(t, 5)
	e.world.Sim.InjectFault(kintonesim.Fault{Path: "/k/v1/records.json", Times: 1, Status: 404,
		Body: `{"code":"GAIA_RE01","id":"x","message":"The specified record (ID: 4242) is not found."}`})
	_, err := e.gw.ListRecords(e.ctx, testworld.Identities["sam"], gateway.ListRequest{App: gateway.AppRef{ID: testworld.OrdersApp}})
	ke := kerr(t, err)
	if ke.Code != "GAIA_RE01" || strings.Contains(ke.Message, "%") || strings.Contains(ke.Message, "4242") {
		t.Fatalf("%+v: want kintone's code with kgate's own message and no argument slots", ke)
	}
}

func TestFormFieldsKeepKintonesOwnPropertiesButNotTheCompanysUsers(t *testing.T) {
	e := newEnv(t, 5)
	form, err := e.gw.FormFields(e.ctx, testworld.Identities["sam"], gateway.AppRef{ID: testworld.OrdersApp}, "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(form)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Properties map[string]map[string]any
		Revision   string
	}
	json.Unmarshal(b, &out)
	title := out.Properties["title"]
	for _, key := range []string{"type", "code", "label", "noLabel", "required", "unique"} {
		if _, ok := title[key]; !ok {
			t.Errorf("title's %q is missing from %v: kintone always sends it", key, title)
		}
	}
	if out.Revision == "" || out.Properties["secret"] == nil {
		t.Errorf("form: %s", b)
	}
}
