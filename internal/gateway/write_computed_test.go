package gateway_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kintonesim"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/testworld"
)

func TestAWriteThatWouldMoveARecordThroughALookupIsRefused(t *testing.T) {
	sim, err := kintonesim.New(testworld.LookupSeed())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	defer srv.Close()
	ctx := context.Background()
	eng, err := policy.Open(ctx, policy.Options{Dir: testworld.PolicyDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	client, _ := kintone.NewClient(kintone.Config{BaseURL: srv.URL})
	gw, err := gateway.New(gateway.Config{Client: client, Policy: eng, Apps: testworld.LookupApps()})
	if err != nil {
		t.Fatal(err)
	}
	alice := testworld.Identities["alice"]
	ref := gateway.AppRef{ID: testworld.DeliveriesApp}
	rec := func(fields map[string]string) kintone.Record {
		r := kintone.Record{}
		for k, v := range fields {
			b, _ := json.Marshal(v)
			r[k] = kintone.FieldValue{Value: b}
		}
		return r
	}
	// Changing what kintone copies the organization from: refused, nothing written.
	_, err = gw.UpdateRecord(ctx, alice, gateway.UpdateRecordRequest{App: ref, RecordUpdate: gateway.RecordUpdate{ID: "1", Record: rec(map[string]string{"customer": "C-BLUE"})}})
	if ke := kerr(t, err); ke.Status != 403 || ke.Code != "CB_NO02" {
		t.Fatalf("moving a delivery through its lookup: %+v, want 403", ke)
	}
	got, err := sim.Select(23, "", `$id = 1`)
	if err != nil || len(got) != 1 || fieldString(got[0], "customer") != "C-ACME" || fieldString(got[0], "org") != "acme" {
		t.Fatalf("the delivery changed: %v %v", got, err)
	}
	// A change that leaves the lookup alone is fine.
	if _, err := gw.UpdateRecord(ctx, alice, gateway.UpdateRecordRequest{App: ref, RecordUpdate: gateway.RecordUpdate{ID: "1", Record: rec(map[string]string{"item": "Crates"})}}); err != nil {
		t.Fatalf("an ordinary update was refused: %v", err)
	}
	// So is creating with the lookup set: the row rule reads the copied field.
	_, err = gw.AddRecord(ctx, alice, gateway.AddRecordRequest{App: ref, Record: rec(map[string]string{"item": "Pallets", "customer": "C-BLUE"})})
	if ke := kerr(t, err); ke.Status != 403 {
		t.Fatalf("creating a delivery for another organization's customer: %+v, want 403", ke)
	}
}
