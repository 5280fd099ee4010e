package gateway_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"testing"

	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/testworld"
)

func TestBulkRequestAcrossAppsIsOneAtomicCall(t *testing.T) {
	e := newWriteEnv(t)
	results, err := e.gw.Bulk(e.ctx, alice, "", []gateway.WriteOp{
		&gateway.AddRecordRequest{App: budget, Record: values(map[string]any{"title": "from a bulk request"})},
		&gateway.UpdateRecordRequest{App: tickets, RecordUpdate: gateway.RecordUpdate{ID: "1", Record: values(map[string]any{"note": "bulk"})}},
		&gateway.DeleteRecordsRequest{App: budget, IDs: []string{"8"}},
		&gateway.UpdateStatusRequest{App: budget, StatusUpdate: gateway.StatusUpdate{ID: "7", Action: "Submit"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if w := e.up.writes(); !reflect.DeepEqual(w, []string{"POST /k/v1/bulkRequest.json"}) {
		t.Errorf("upstream writes %v, want one bulkRequest", w)
	}
	var added struct{ ID, Revision string }
	json.Unmarshal(results[0], &added)
	if added.ID == "" || string(results[2]) != "{}" {
		t.Errorf("results %s", results)
	}
	if textOf(e.stored(t, testworld.TicketsApp, "1"), "note") != "bulk" || e.stored(t, testworld.BudgetApp, "8") != nil ||
		textOf(e.stored(t, testworld.BudgetApp, "7"), "Status") != "Submitted" || e.stored(t, testworld.BudgetApp, added.ID) == nil {
		t.Error("not every part of the bulk request was applied")
	}
	if n := len(e.events()); n != 4 {
		t.Errorf("%d audit events, want one per operation", n)
	}
}

func TestARefusedOperationRefusesTheWholeBulkRequest(t *testing.T) {
	e := newWriteEnv(t)
	before := e.count(t, testworld.BudgetApp, "")
	_, err := e.gw.Bulk(e.ctx, alice, "", []gateway.WriteOp{
		&gateway.AddRecordRequest{App: budget, Record: values(map[string]any{"title": "fine"})},
		&gateway.UpdateRecordRequest{App: budget, RecordUpdate: gateway.RecordUpdate{ID: "4", Record: values(map[string]any{"title": "not mine"})}},
	})
	var be *kintone.BulkError
	if !errors.As(err, &be) || be.Index != 1 || be.Err.Code != "GAIA_RE01" {
		t.Fatalf("err = %v, want GAIA_RE01 at index 1", err)
	}
	if w := e.up.writes(); len(w) != 0 || e.count(t, testworld.BudgetApp, "") != before {
		t.Errorf("upstream writes %v: nothing may be sent", w)
	}
	for _, ev := range e.events() {
		if ev["outcome"] != "denied" {
			t.Errorf("audit %v, want every operation of the refused request denied", ev)
		}
	}
}

func TestKintonesRefusalInABulkRequestNamesTheMembersIndex(t *testing.T) {
	e := newWriteEnv(t)
	long := make([]byte, 101)
	for i := range long {
		long[i] = 'x'
	}
	_, err := e.gw.Bulk(e.ctx, alice, "", []gateway.WriteOp{
		&gateway.UpdateRecordsRequest{App: budget, Upsert: true, Records: []gateway.RecordUpdate{
			{Key: &gateway.UpdateKey{Field: "ref", Value: "A-1"}, Record: values(map[string]any{"amount": 3})},
			{Key: &gateway.UpdateKey{Field: "ref", Value: "A-77"}, Record: values(map[string]any{"title": "new"})},
		}},
		&gateway.AddRecordRequest{App: budget, Record: values(map[string]any{"title": string(long)})},
	})
	var be *kintone.BulkError
	if !errors.As(err, &be) || be.Index != 1 || be.Err.Code != "CB_VA01" {
		t.Fatalf("err = %v, want kintone's CB_VA01 at the member's index 1 (kgate sent 3 requests)", err)
	}
	if _, ok := be.Err.Errors["record.title.value"]; !ok {
		t.Errorf("errors %v", be.Err.Errors)
	}
	if textOf(e.stored(t, testworld.BudgetApp, "1"), "amount") != "1000" || e.count(t, testworld.BudgetApp, `ref = "A-77"`) != 0 {
		t.Error("part of a failed bulk request was applied")
	}
}

func TestBulkRequestThroughAGuestSpaceStaysInIt(t *testing.T) {
	e := newWriteEnv(t)
	_, err := e.gw.Bulk(e.ctx, alice, testworld.NoticesSpace, []gateway.WriteOp{
		&gateway.UpdateRecordRequest{App: tickets, RecordUpdate: gateway.RecordUpdate{ID: "1", Record: values(map[string]any{"note": "ok"})}},
		&gateway.AddRecordRequest{App: gateway.AppRef{ID: testworld.BudgetApp, Space: testworld.NoticesSpace}, Record: values(map[string]any{"title": "x"})},
	})
	var be *kintone.BulkError
	if !errors.As(err, &be) || be.Index != 1 || be.Err.Code != "CB_NO02" {
		t.Fatalf("err = %v, want CB_NO02 at index 1", err)
	}
	if _, err := e.gw.Bulk(e.ctx, alice, testworld.NoticesSpace, []gateway.WriteOp{
		&gateway.UpdateRecordRequest{App: tickets, RecordUpdate: gateway.RecordUpdate{ID: "1", Record: values(map[string]any{"note": "ok"})}},
	}); err != nil {
		t.Fatal(err)
	}
	if w := e.up.writes(); !reflect.DeepEqual(w, []string{"POST /k/guest/7/v1/bulkRequest.json"}) {
		t.Errorf("upstream writes %v", w)
	}
}

func TestABulkRequestChecksLaterOperationsAgainstEarlierOnes(t *testing.T) {
	e := newWriteEnv(t)
	// Hiding a record and then writing it: the second write is checked
	// against the record as the first leaves it.
	_, err := e.gw.Bulk(e.ctx, sam, "", []gateway.WriteOp{
		&gateway.UpdateRecordRequest{App: budget, RecordUpdate: gateway.RecordUpdate{ID: "2", Record: values(map[string]any{"org": "bluebird"})}},
		&gateway.UpdateRecordRequest{App: budget, RecordUpdate: gateway.RecordUpdate{ID: "2", Record: values(map[string]any{"purpose": "then this"})}},
	})
	if err != nil {
		t.Fatalf("staff: %v", err)
	}
	_, err = e.gw.Bulk(e.ctx, alice, "", []gateway.WriteOp{
		&gateway.UpdateRecordRequest{App: budget, RecordUpdate: gateway.RecordUpdate{ID: "7", Record: values(map[string]any{"title": "edit"})}},
		&gateway.UpdateRecordRequest{App: budget, RecordUpdate: gateway.RecordUpdate{ID: "2", Record: values(map[string]any{"title": "now bluebird's"})}},
	})
	var be *kintone.BulkError
	if !errors.As(err, &be) || be.Index != 1 || be.Err.Code != "GAIA_RE01" {
		t.Fatalf("err = %v, want GAIA_RE01 at index 1", err)
	}
	// A status action, then a write of the same record: kgate cannot know
	// the state the action leads to, so it refuses rather than guess.
	_, err = e.gw.Bulk(e.ctx, alice, "", []gateway.WriteOp{
		&gateway.UpdateStatusRequest{App: budget, StatusUpdate: gateway.StatusUpdate{ID: "7", Action: "Submit"}},
		&gateway.UpdateRecordRequest{App: budget, RecordUpdate: gateway.RecordUpdate{ID: "7", Record: values(map[string]any{"title": "after submit"})}},
	})
	if !errors.As(err, &be) || be.Index != 1 || be.Err.Code != "KGATE_WR02" || be.Err.Status != http.StatusBadRequest {
		t.Fatalf("err = %v, want KGATE_WR02 at index 1", err)
	}
}
