package gateway_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/testworld"
)

// Budget records of the write world (testworld/writes.go): 1, 2, 7, 8 are
// acme drafts, 5 an acme request already submitted, 3 acme but internal,
// 4 and 6 bluebird's.

func errorKeys(ke *kintone.Error) []string {
	var keys []string
	for k := range ke.Errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestCreateRefusesFieldsOutsideWritableNamingEach(t *testing.T) {
	e := newWriteEnv(t)
	before := e.count(t, testworld.BudgetApp, "")
	_, err := e.gw.AddRecord(e.ctx, alice, gateway.AddRecordRequest{App: budget, Record: values(map[string]any{
		"title": "more budget", "approved_amount": 999999, "Record_number": "x",
	})})
	ke := refusal(t, err, "CB_NO02", http.StatusForbidden)
	if got := errorKeys(ke); !reflect.DeepEqual(got, []string{"record.approved_amount.value"}) {
		t.Errorf("errors = %v, want only record.approved_amount.value (the record number is ignored, as kintone ignores it)", got)
	}
	if n := e.count(t, testworld.BudgetApp, ""); n != before {
		t.Errorf("records %d → %d: a refused create wrote something", before, n)
	}
	if w := e.up.writes(); len(w) != 0 {
		t.Errorf("upstream writes %v, want none", w)
	}
	ev := e.lastEvent(t)
	if ev["outcome"] != "denied" || ev["action"] != "create" || ev["app"] != "budget" || ev["policy_version"] == nil {
		t.Errorf("audit event %v, want a denied create with the policy version", ev)
	}
}

func TestUnknownAndHiddenFieldsAnswerAlike(t *testing.T) {
	e := newWriteEnv(t)
	_, err := e.gw.AddRecord(e.ctx, alice, gateway.AddRecordRequest{App: budget, Record: values(map[string]any{
		"title": "x", "internal_note": "mine now", "no_such_field": "y",
	})})
	ke := refusal(t, err, "CB_VA01", http.StatusBadRequest)
	hidden, unknown := ke.Errors["record.internal_note.value"], ke.Errors["record.no_such_field.value"]
	if len(hidden.Messages) == 0 || !reflect.DeepEqual(hidden, unknown) {
		t.Errorf("hidden field → %v, unknown field → %v: want the same answer for both", hidden, unknown)
	}
	if len(ke.Errors) != 2 {
		t.Errorf("errors = %v, want exactly the two fields", errorKeys(ke))
	}
}

func TestPresetsCannotBeOverridden(t *testing.T) {
	e := newWriteEnv(t)
	w, err := e.gw.AddRecord(e.ctx, alice, gateway.AddRecordRequest{App: budget, Record: values(map[string]any{
		"title": "attributed", "requested_by": "mallory@evil.example", "org": "bluebird",
	})})
	if err != nil {
		t.Fatal(err)
	}
	got := e.stored(t, testworld.BudgetApp, w.ID)
	if textOf(got, "requested_by") != alice.Email || textOf(got, "org") != "acme" {
		t.Errorf("stored requested_by %q org %q, want the presets %q and acme", textOf(got, "requested_by"), textOf(got, "org"), alice.Email)
	}
	// On update too: record 2 was requested by nobody; alice's edit attributes it.
	if _, err := e.gw.UpdateRecord(e.ctx, alice, gateway.UpdateRecordRequest{App: budget, RecordUpdate: gateway.RecordUpdate{
		ID: "2", Record: values(map[string]any{"purpose": "edited", "requested_by": "someone@else.example"}),
	}}); err != nil {
		t.Fatal(err)
	}
	if got := textOf(e.stored(t, testworld.BudgetApp, "2"), "requested_by"); got != alice.Email {
		t.Errorf("requested_by after update = %q, want %q", got, alice.Email)
	}
	ev := e.lastEvent(t)
	if f := ev["fields"]; !reflect.DeepEqual(f, []any{"org", "purpose", "requested_by"}) {
		t.Errorf("audited fields = %v, want the changed field and the presets (names only)", f)
	}
}

func TestACreateThatWouldBeInvisibleIsRefused(t *testing.T) {
	e := newWriteEnv(t)
	before := e.count(t, testworld.BudgetApp, "")
	_, err := e.gw.AddRecord(e.ctx, alice, gateway.AddRecordRequest{App: budget, Record: values(map[string]any{
		"title": "secret plan", "visibility": "internal",
	})})
	ke := refusal(t, err, "CB_NO02", http.StatusForbidden)
	if len(ke.Errors["record"].Messages) == 0 {
		t.Errorf("errors = %v, want the reason under record", ke.Errors)
	}
	// The tickets app's scope defaults to internal: leaving it out would
	// create a ticket alice cannot see, so kgate checks the default too.
	_, err = e.gw.AddRecord(e.ctx, alice, gateway.AddRecordRequest{App: tickets, Record: values(map[string]any{"title": "help"})})
	refusal(t, err, "CB_NO02", http.StatusForbidden)
	if _, err := e.gw.AddRecord(e.ctx, alice, gateway.AddRecordRequest{App: tickets, Record: values(map[string]any{"title": "help", "scope": "shared"})}); err != nil {
		t.Errorf("a ticket alice can see: %v", err)
	}
	if n := e.count(t, testworld.BudgetApp, ""); n != before {
		t.Errorf("budget records %d → %d", before, n)
	}
}

func TestSystemFieldsAreRefusedAsKintoneRefusesThem(t *testing.T) {
	e := newWriteEnv(t)
	cases := []struct {
		name   string
		update bool
		field  string
		value  any
		code   string
		status int
	}{
		{"created time on create", false, "Created_datetime", "2020-01-01T00:00:00Z", "GAIA_BF02", http.StatusForbidden},
		{"a system field the member cannot read is unknown", false, "Created_by", map[string]any{"code": "boss"}, "CB_VA01", http.StatusBadRequest},
		{"created time on update", true, "Created_datetime", "2020-01-01T00:00:00Z", "GAIA_UN10", http.StatusBadRequest},
		{"status on update", true, "Status", "Approved", "GAIA_UN10", http.StatusBadRequest},
		{"status on create", false, "Status", "Approved", "GAIA_UN10", http.StatusBadRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := values(map[string]any{"title": "sys", c.field: c.value})
			var err error
			if c.update {
				_, err = e.gw.UpdateRecord(e.ctx, alice, gateway.UpdateRecordRequest{App: budget, RecordUpdate: gateway.RecordUpdate{ID: "1", Record: r}})
			} else {
				_, err = e.gw.AddRecord(e.ctx, alice, gateway.AddRecordRequest{App: budget, Record: r})
			}
			refusal(t, err, c.code, c.status)
		})
	}
	// What kintone computes itself is ignored, as kintone ignores it.
	w, err := e.gw.AddRecord(e.ctx, alice, gateway.AddRecordRequest{App: budget, Record: values(map[string]any{
		"title": "ids ignored", "$id": "1", "$revision": "7", "Record_number": "BUD-1",
	})})
	if err != nil || w.ID == "1" {
		t.Fatalf("create with $id etc.: %+v %v", w, err)
	}
}

func TestUpdateOfAHiddenRecordAnswersLikeAMissingOne(t *testing.T) {
	e := newWriteEnv(t)
	answer := func(id string) *kintone.Error {
		_, err := e.gw.UpdateRecord(e.ctx, alice, gateway.UpdateRecordRequest{App: budget, RecordUpdate: gateway.RecordUpdate{
			ID: id, Record: values(map[string]any{"title": "mine"})}})
		return refusal(t, err, "GAIA_RE01", http.StatusNotFound)
	}
	missing := answer("999")
	for _, id := range []string{"3", "4"} { // internal; another organization's
		got := answer(id)
		if len(got.Errors) != len(missing.Errors) || strings.Replace(got.Message, id, "999", 1) != missing.Message {
			t.Errorf("record %s: %q %v, missing record: %q %v", id, got.Message, got.Errors, missing.Message, missing.Errors)
		}
		if textOf(e.stored(t, testworld.BudgetApp, id), "title") == "mine" {
			t.Errorf("hidden record %s was changed", id)
		}
	}
	if w := e.up.writes(); len(w) != 0 {
		t.Errorf("upstream writes %v, want none", w)
	}
	if ev := e.lastEvent(t); ev["outcome"] != "denied" {
		t.Errorf("audit outcome %v, want denied for a hidden record", ev["outcome"])
	}
}

func TestUnchangedValuesSentBackAreIgnored(t *testing.T) {
	e := newWriteEnv(t)
	raw, err := e.gw.GetRecord(e.ctx, alice, budget, "1")
	if err != nil {
		t.Fatal(err)
	}
	var back kintone.Record
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	for _, system := range []string{"Created_datetime", "Status", "Assignee"} {
		delete(back, system) // kintone refuses these even unchanged
	}
	back["title"] = kintone.FieldValue{Value: json.RawMessage(`"Acme flyers, revised"`)}
	back["amount"] = kintone.FieldValue{Value: json.RawMessage(`1000.0`)} // the same number, written differently
	w, err := e.gw.UpdateRecord(e.ctx, alice, gateway.UpdateRecordRequest{App: budget, RecordUpdate: gateway.RecordUpdate{ID: "1", Record: back}})
	if err != nil {
		t.Fatalf("sending back what was read (approved_amount, file tokens, rows) with one change: %v", err)
	}
	got := e.stored(t, testworld.BudgetApp, "1")
	if textOf(got, "title") != "Acme flyers, revised" || w.Revision != "2" {
		t.Errorf("title %q revision %s", textOf(got, "title"), w.Revision)
	}
	var files []struct{ FileKey string }
	json.Unmarshal(got["attachment"].Value, &files)
	if len(files) != 1 || files[0].FileKey != testworld.BudgetQuoteFile {
		t.Errorf("attachment = %s, want the quote kept", got["attachment"].Value)
	}
	ev := e.lastEvent(t)
	if f := ev["fields"]; !reflect.DeepEqual(f, []any{"org", "requested_by", "title"}) {
		t.Errorf("audited fields = %v, want only the change and the presets", f)
	}
}

func TestEveryChangedFieldMustBeWritableForTheExistingRecord(t *testing.T) {
	e := newWriteEnv(t)
	// Record 5 is submitted: gold members write budget requests only as drafts.
	_, err := e.gw.UpdateRecord(e.ctx, alice, gateway.UpdateRecordRequest{App: budget, RecordUpdate: gateway.RecordUpdate{
		ID: "5", Record: values(map[string]any{"title": "changed late", "amount": 5})}})
	ke := refusal(t, err, "CB_NO02", http.StatusForbidden)
	if got := errorKeys(ke); !reflect.DeepEqual(got, []string{"record.amount.value", "record.title.value"}) {
		t.Errorf("errors = %v, want both fields named", got)
	}
	// Sending the existing values back is no change.
	if _, err := e.gw.UpdateRecord(e.ctx, alice, gateway.UpdateRecordRequest{App: budget, RecordUpdate: gateway.RecordUpdate{
		ID: "5", Record: values(map[string]any{"title": "Acme training", "amount": "1000"})}}); err != nil {
		t.Errorf("unchanged values on a submitted request: %v", err)
	}
	// Staff may.
	if _, err := e.gw.UpdateRecord(e.ctx, sam, gateway.UpdateRecordRequest{App: budget, RecordUpdate: gateway.RecordUpdate{
		ID: "5", Record: values(map[string]any{"approved_amount": 800})}}); err != nil {
		t.Errorf("staff approving an amount: %v", err)
	}
}

func TestAnUpdateThatWouldHideTheRecordIsRefused(t *testing.T) {
	e := newWriteEnv(t)
	_, err := e.gw.UpdateRecord(e.ctx, alice, gateway.UpdateRecordRequest{App: budget, RecordUpdate: gateway.RecordUpdate{
		ID: "2", Record: values(map[string]any{"visibility": "internal"})}})
	refusal(t, err, "CB_NO02", http.StatusForbidden)
	if v := textOf(e.stored(t, testworld.BudgetApp, "2"), "visibility"); v != "public" {
		t.Errorf("visibility = %q", v)
	}
}

func TestTheClientsRevisionIsHonouredWithoutAskingKintone(t *testing.T) {
	e := newWriteEnv(t)
	_, err := e.gw.UpdateRecord(e.ctx, alice, gateway.UpdateRecordRequest{App: budget, RecordUpdate: gateway.RecordUpdate{
		ID: "2", Revision: 7, Record: values(map[string]any{"title": "stale"})}})
	refusal(t, err, "GAIA_CO02", http.StatusConflict)
	if w := e.up.writes(); len(w) != 0 {
		t.Errorf("upstream writes %v, want none", w)
	}
	if _, err := e.gw.UpdateRecord(e.ctx, alice, gateway.UpdateRecordRequest{App: budget, RecordUpdate: gateway.RecordUpdate{
		ID: "2", Revision: 1, Record: values(map[string]any{"title": "fresh"})}}); err != nil {
		t.Errorf("the current revision: %v", err)
	}
}

func TestAnUpdateRacingADirectEditFailsWithTheConflictAndWritesNothing(t *testing.T) {
	e := newWriteEnv(t)
	edited := false
	e.up.before = func(r *http.Request) {
		if r.Method == http.MethodPut && !edited {
			edited = true // another kintone user edits between kgate's check and its write
			if _, err := e.world.Sim.EditRecord(20, 2, "", map[string]any{"visibility": map[string]any{"value": "internal"}}); err != nil {
				t.Error(err)
			}
		}
	}
	_, err := e.gw.UpdateRecord(e.ctx, alice, gateway.UpdateRecordRequest{App: budget, RecordUpdate: gateway.RecordUpdate{
		ID: "2", Record: values(map[string]any{"title": "slipped past"})}})
	refusal(t, err, "GAIA_CO02", http.StatusConflict)
	got := e.stored(t, testworld.BudgetApp, "2")
	if textOf(got, "title") != "Acme event" || textOf(got, "$revision") != "2" {
		t.Errorf("title %q revision %s: want only the direct edit applied", textOf(got, "title"), textOf(got, "$revision"))
	}
	ev := e.lastEvent(t)
	if ev["outcome"] != "error" || ev["upstream_status"] != int64(409) {
		t.Errorf("audit %v, want outcome error with upstream status 409", ev)
	}
}

func TestABulkWriteWithOneForbiddenRecordWritesNothing(t *testing.T) {
	e := newWriteEnv(t)
	before := e.count(t, testworld.BudgetApp, "")
	_, err := e.gw.AddRecords(e.ctx, alice, gateway.AddRecordsRequest{App: budget, Records: []kintone.Record{
		values(map[string]any{"title": "one"}),
		values(map[string]any{"title": "two", "approved_amount": 1}),
		values(map[string]any{"title": "three"}),
	}})
	ke := refusal(t, err, "CB_NO02", http.StatusForbidden)
	if got := errorKeys(ke); !reflect.DeepEqual(got, []string{"records[1].approved_amount.value"}) {
		t.Errorf("errors = %v", got)
	}
	_, err = e.gw.UpdateRecords(e.ctx, alice, gateway.UpdateRecordsRequest{App: budget, Records: []gateway.RecordUpdate{
		{ID: "1", Record: values(map[string]any{"title": "one"})},
		{ID: "4", Record: values(map[string]any{"title": "not yours"})},
	}})
	refusal(t, err, "GAIA_RE01", http.StatusNotFound)
	if n := e.count(t, testworld.BudgetApp, ""); n != before {
		t.Errorf("records %d → %d", before, n)
	}
	if textOf(e.stored(t, testworld.BudgetApp, "1"), "title") != "Acme flyers" {
		t.Error("record 1 changed although the bulk update was refused")
	}
	if w := e.up.writes(); len(w) != 0 {
		t.Errorf("upstream writes %v, want none", w)
	}
	// One query fetched both records of the update.
	gets := 0
	for _, c := range e.up.calls {
		if c == "GET /k/v1/records.json" {
			gets++
		}
	}
	if gets != 1 {
		t.Errorf("GET records.json %d times, want 1: one query per request, never one per record", gets)
	}
}

func TestBulkUpdatesAreCheckedRecordByRecordAndPinned(t *testing.T) {
	e := newWriteEnv(t)
	ws, err := e.gw.UpdateRecords(e.ctx, alice, gateway.UpdateRecordsRequest{App: budget, Records: []gateway.RecordUpdate{
		{ID: "7", Record: values(map[string]any{"title": "spare, first"})},
		{ID: "7", Record: values(map[string]any{"purpose": "second edit of the same record"})},
		{ID: "8", Record: values(map[string]any{"amount": 12})},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if ws[0].Revision != "2" || ws[1].Revision != "3" || ws[2].Revision != "2" {
		t.Errorf("revisions %+v", ws)
	}
	got := e.stored(t, testworld.BudgetApp, "7")
	if textOf(got, "title") != "spare, first" || textOf(got, "purpose") != "second edit of the same record" {
		t.Errorf("record 7: %q / %q", textOf(got, "title"), textOf(got, "purpose"))
	}
}

func TestDeleteIsAllOrNothing(t *testing.T) {
	e := newWriteEnv(t)
	err := e.gw.DeleteRecords(e.ctx, alice, gateway.DeleteRecordsRequest{App: budget, IDs: []string{"1", "4"}})
	refusal(t, err, "GAIA_RE01", http.StatusNotFound)
	err = e.gw.DeleteRecords(e.ctx, alice, gateway.DeleteRecordsRequest{App: budget, IDs: []string{"1", "2"}, Revisions: []int64{1, 5}})
	refusal(t, err, "GAIA_CO02", http.StatusConflict)
	err = e.gw.DeleteRecords(e.ctx, bob, gateway.DeleteRecordsRequest{App: budget, IDs: []string{"1"}})
	refusal(t, err, "CB_NO02", http.StatusForbidden)
	for _, id := range []string{"1", "2", "4"} {
		if e.stored(t, testworld.BudgetApp, id) == nil {
			t.Fatalf("record %s deleted by a refused delete", id)
		}
	}
	if w := e.up.writes(); len(w) != 0 {
		t.Errorf("upstream writes %v, want none", w)
	}
	if err := e.gw.DeleteRecords(e.ctx, alice, gateway.DeleteRecordsRequest{App: budget, IDs: []string{"1", "2"}, Revisions: []int64{1, gateway.NoRevision}}); err != nil {
		t.Fatal(err)
	}
	if e.stored(t, testworld.BudgetApp, "1") != nil || e.stored(t, testworld.BudgetApp, "2") != nil {
		t.Error("records 1 and 2 still there")
	}
	if w := e.up.writes(); !reflect.DeepEqual(w, []string{"DELETE /k/v1/records.json"}) {
		t.Errorf("upstream writes %v, want one DELETE", w)
	}
}

func TestUpsertUpdatesVisibleRecordsAndInsertsTheRest(t *testing.T) {
	e := newWriteEnv(t)
	ws, err := e.gw.UpdateRecords(e.ctx, alice, gateway.UpdateRecordsRequest{App: budget, Upsert: true, Records: []gateway.RecordUpdate{
		{Key: &gateway.UpdateKey{Field: "ref", Value: "A-2"}, Record: values(map[string]any{"amount": 42})},
		{Key: &gateway.UpdateKey{Field: "ref", Value: "A-NEW"}, Record: values(map[string]any{"title": "brand new"})},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if ws[0].ID != "2" || ws[0].Operation != "UPDATE" || ws[1].Operation != "INSERT" {
		t.Fatalf("results %+v", ws)
	}
	added := e.stored(t, testworld.BudgetApp, ws[1].ID)
	if textOf(added, "ref") != "A-NEW" || textOf(added, "requested_by") != alice.Email {
		t.Errorf("inserted ref %q requested_by %q", textOf(added, "ref"), textOf(added, "requested_by"))
	}
	if textOf(e.stored(t, testworld.BudgetApp, "2"), "amount") != "42" {
		t.Error("record 2 not updated")
	}
	// Errors of the inserted part come back under the member's own indexes.
	_, err = e.gw.UpdateRecords(e.ctx, alice, gateway.UpdateRecordsRequest{App: budget, Upsert: true, Records: []gateway.RecordUpdate{
		{Key: &gateway.UpdateKey{Field: "ref", Value: "A-1"}, Record: values(map[string]any{"amount": 1})},
		{Key: &gateway.UpdateKey{Field: "ref", Value: "A-NO-TITLE"}, Record: values(map[string]any{"amount": 2})},
	}})
	ke := refusal(t, err, "CB_VA01", http.StatusBadRequest)
	if got := errorKeys(ke); !reflect.DeepEqual(got, []string{"records[1].record.title.value"}) {
		t.Errorf("errors = %v, want the missing title of item 1", got)
	}
	if textOf(e.stored(t, testworld.BudgetApp, "1"), "amount") != "1000" {
		t.Error("the update half of a failed upsert was applied")
	}
}

func TestUpdateKeyOfAHiddenRecordLooksNotFound(t *testing.T) {
	e := newWriteEnv(t)
	update := func(value string, upsert bool) error {
		_, err := e.gw.UpdateRecords(e.ctx, alice, gateway.UpdateRecordsRequest{App: budget, Upsert: upsert, Records: []gateway.RecordUpdate{
			{Key: &gateway.UpdateKey{Field: "ref", Value: value}, Record: values(map[string]any{"title": "taken over"})},
		}})
		return err
	}
	missing := refusal(t, update("NO-SUCH-REF", false), "GAIA_RE20", http.StatusNotFound)
	for _, ref := range []string{"B-1", "A-H"} { // another organization's; internal
		got := refusal(t, update(ref, false), "GAIA_RE20", http.StatusNotFound)
		if got.Message != missing.Message || len(got.Errors) != 0 {
			t.Errorf("%s: %q %v, want what a missing key gets", ref, got.Message, got.Errors)
		}
		// An upsert inserts instead, and kintone refuses the duplicate
		// key as for any insert: the unique field's inherent channel,
		// and nothing more.
		ke := refusal(t, update(ref, true), "CB_VA01", http.StatusBadRequest)
		if got := errorKeys(ke); !reflect.DeepEqual(got, []string{"records[0].record.ref.value"}) {
			t.Errorf("%s upsert: errors %v", ref, got)
		}
	}
	if textOf(e.stored(t, testworld.BudgetApp, "4"), "title") != "Bluebird fair" || textOf(e.stored(t, testworld.BudgetApp, "3"), "title") != "Acme internal plan" {
		t.Error("a hidden record was changed through its update key")
	}
	refusal(t, update("x", false), "GAIA_RE20", http.StatusNotFound)
	_, err := e.gw.UpdateRecord(e.ctx, alice, gateway.UpdateRecordRequest{App: budget, RecordUpdate: gateway.RecordUpdate{
		Key: &gateway.UpdateKey{Field: "internal_note", Value: "staff only"}, Record: values(map[string]any{"title": "x"})}})
	refusal(t, err, "GAIA_IQ11", http.StatusBadRequest) // a hidden field is no key
	_, err = e.gw.UpdateRecord(e.ctx, alice, gateway.UpdateRecordRequest{App: budget, RecordUpdate: gateway.RecordUpdate{
		Key: &gateway.UpdateKey{Field: "title", Value: "Acme event"}, Record: values(map[string]any{"amount": 1})}})
	refusal(t, err, "GAIA_IQ27", http.StatusBadRequest) // not unique
}

func TestValidationErrorsOnHiddenFieldsAreNotDisclosed(t *testing.T) {
	e := newWriteEnv(t)
	// Erin's tracking preset is too long for the hidden tracking field,
	// and the title is missing.
	_, err := e.gw.AddRecord(e.ctx, testworld.Erin, gateway.AddRecordRequest{App: tickets, Record: values(map[string]any{"scope": "shared", "note": "n"})})
	ke := refusal(t, err, "CB_VA01", http.StatusBadRequest)
	body, _ := json.Marshal(ke)
	if strings.Contains(string(body), "tracking") || strings.Contains(string(body), "TOO-LONG") {
		t.Errorf("error %s names the hidden field or its value", body)
	}
	if len(ke.Errors["record.title.value"].Messages) == 0 || len(ke.Errors["record"].Messages) == 0 {
		t.Errorf("errors %v, want the visible field's error and one generic entry", errorKeys(ke))
	}
}

func TestSubtablesMergeByRowAsKintoneDoes(t *testing.T) {
	e := newWriteEnv(t)
	raw, err := e.gw.GetRecord(e.ctx, alice, budget, "5")
	if err != nil {
		t.Fatal(err)
	}
	var r kintone.Record
	json.Unmarshal(raw, &r)
	var rows []map[string]any
	json.Unmarshal(r["items"].Value, &rows)
	// Record 5 is submitted: its rows sent back unchanged are no change…
	if _, err := e.gw.UpdateRecord(e.ctx, alice, gateway.UpdateRecordRequest{App: budget, RecordUpdate: gateway.RecordUpdate{
		ID: "5", Record: kintone.Record{"items": r["items"]}}}); err != nil {
		t.Fatalf("rows sent back unchanged: %v", err)
	}
	// …but dropping a row, or changing a cost, is.
	one, _ := json.Marshal(rows[:1])
	_, err = e.gw.UpdateRecord(e.ctx, alice, gateway.UpdateRecordRequest{App: budget, RecordUpdate: gateway.RecordUpdate{
		ID: "5", Record: kintone.Record{"items": {Value: one}}}})
	ke := refusal(t, err, "CB_NO02", http.StatusForbidden)
	if got := errorKeys(ke); !reflect.DeepEqual(got, []string{"record.items.value"}) {
		t.Errorf("errors %v", got)
	}
	// On a draft, a row sent with its id keeps the inner fields it leaves out.
	json.Unmarshal(mustRecord(t, e, "1")["items"].Value, &rows)
	edit, _ := json.Marshal([]any{
		map[string]any{"id": rows[0]["id"], "value": map[string]any{"cost": map[string]any{"value": "650"}}},
		map[string]any{"value": map[string]any{"item": map[string]any{"value": "delivery"}}},
	})
	if _, err := e.gw.UpdateRecord(e.ctx, alice, gateway.UpdateRecordRequest{App: budget, RecordUpdate: gateway.RecordUpdate{
		ID: "1", Record: kintone.Record{"items": {Value: edit}}}}); err != nil {
		t.Fatal(err)
	}
	var after []struct {
		ID    string
		Value map[string]kintone.FieldValue
	}
	json.Unmarshal(e.stored(t, testworld.BudgetApp, "1")["items"].Value, &after)
	if len(after) != 2 || after[0].ID != rows[0]["id"] || textOf(after[0].Value, "item") != "design" || textOf(after[0].Value, "cost") != "650" || textOf(after[1].Value, "item") != "delivery" {
		t.Errorf("rows after the merge: %+v", after)
	}
}

func mustRecord(t testing.TB, e *wenv, id string) kintone.Record {
	t.Helper()
	raw, err := e.gw.GetRecord(e.ctx, alice, budget, id)
	if err != nil {
		t.Fatal(err)
	}
	var r kintone.Record
	json.Unmarshal(raw, &r)
	return r
}

func TestARecordTheMemberSeesButMayNotWriteIsRefusedNotHidden(t *testing.T) {
	e := newWriteEnv(t)
	// Ticket 3 is pinned: alice reads it, but the row rule for delete
	// leaves it out. "Not found" would be a lie that hides nothing.
	err := e.gw.DeleteRecords(e.ctx, alice, gateway.DeleteRecordsRequest{App: tickets, IDs: []string{"3"}})
	refusal(t, err, "CB_NO02", http.StatusForbidden)
	err = e.gw.DeleteRecords(e.ctx, alice, gateway.DeleteRecordsRequest{App: tickets, IDs: []string{"2"}}) // bluebird's
	refusal(t, err, "GAIA_RE01", http.StatusNotFound)
	if err := e.gw.DeleteRecords(e.ctx, alice, gateway.DeleteRecordsRequest{App: tickets, IDs: []string{"1"}}); err != nil {
		t.Fatal(err)
	}
	if e.stored(t, testworld.TicketsApp, "3") == nil || e.stored(t, testworld.TicketsApp, "1") != nil {
		t.Error("wrong tickets deleted")
	}
}
