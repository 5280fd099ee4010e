package gateway_test

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/testworld"
)

func TestCreateAbilitiesNameWhatAFormMayOffer(t *testing.T) {
	e := newWriteEnv(t)
	partnerFields := []string{"amount", "attachment", "category", "cost", "due", "item", "items", "purpose",
		"receipt", "ref", "starts", "tags", "title", "visibility"}
	tests := []struct {
		name string
		who  *identity.Identity
		want gateway.Abilities
	}{
		{"gold partner: its fields, presets apart", alice, gateway.Abilities{Create: true, Upload: true,
			Writable: partnerFields, Presets: []string{"org", "requested_by"}}},
		{"silver partner: nothing", bob, gateway.Abilities{}},
		{"staff: every field that can be written, hidden ones included", sam, gateway.Abilities{Create: true, Upload: true,
			Writable: []string{"amount", "approved_amount", "attachment", "category", "cost", "due", "internal_note", "item", "items",
				"org", "purpose", "receipt", "ref", "requested_by", "starts", "tags", "title", "visibility"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.gw.CreateAbilities(e.ctx, tt.who, budget)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got %+v\nwant %+v", *got, tt.want)
			}
		})
	}
	if len(e.up.writes()) != 0 {
		t.Errorf("abilities wrote: %v", e.up.writes())
	}
}

func TestRecordPageAbilitiesFollowThePolicyForThatRecord(t *testing.T) {
	e := newWriteEnv(t)
	partnerFields := []string{"amount", "attachment", "category", "cost", "due", "item", "items", "purpose",
		"receipt", "ref", "starts", "tags", "title", "visibility"}
	tests := []struct {
		name   string
		who    *identity.Identity
		record string
		want   gateway.Abilities
	}{
		{"gold partner, own draft: edit, delete, comment, submit", alice, "1", gateway.Abilities{
			Update: true, Delete: true, Comment: true, Upload: true, ReadComments: true, Download: true,
			Writable: partnerFields, Presets: []string{"org", "requested_by"}, Actions: []string{"Submit"}}},
		{"gold partner, submitted: no edit, withdraw only", alice, "5", gateway.Abilities{
			Delete: true, Comment: true, Upload: true, ReadComments: true, Download: true, Actions: []string{"Withdraw"}}},
		{"silver partner: read its comments and files, comment", bob, "1", gateway.Abilities{Comment: true, ReadComments: true, Download: true}},
		{"staff, submitted: every action of that state", sam, "5", gateway.Abilities{
			Update: true, Delete: true, Comment: true, Upload: true, ReadComments: true, Download: true,
			Writable: []string{"amount", "approved_amount", "attachment", "category", "cost", "due", "internal_note", "item", "items",
				"org", "purpose", "receipt", "ref", "requested_by", "starts", "tags", "title", "visibility"},
			Actions: []string{"Withdraw", "Approve", "Reject"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.gw.RecordPage(e.ctx, tt.who, gateway.RecordPageRequest{App: budget, Record: tt.record})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Abilities, tt.want) {
				t.Errorf("got %+v\nwant %+v", got.Abilities, tt.want)
			}
		})
	}
}

func TestRecordPageOfARecordTheMemberCannotSeeAnswersNotFound(t *testing.T) {
	e := newWriteEnv(t)
	for _, tt := range []struct {
		name, record string
	}{
		{"another organization's", "4"},
		{"hidden by its visibility", "3"},
		{"missing", "999"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.gw.RecordPage(e.ctx, alice, gateway.RecordPageRequest{App: budget, Record: tt.record})
			refusal(t, err, "GAIA_RE01", http.StatusNotFound)
		})
	}
	_, err := e.gw.RecordPage(e.ctx, alice, gateway.RecordPageRequest{App: budget, Record: "1 or 1"})
	refusal(t, err, "CB_VA01", http.StatusBadRequest)
}

// What the abilities offer, the write path accepts; what they withhold, it
// refuses.
func TestRecordPageAbilitiesAgreeWithTheWritePath(t *testing.T) {
	e := newWriteEnv(t)
	for _, tt := range []struct {
		who    *identity.Identity
		record string
	}{{alice, "2"}, {alice, "5"}, {bob, "2"}} {
		page, err := e.gw.RecordPage(e.ctx, tt.who, gateway.RecordPageRequest{App: budget, Record: tt.record})
		if err != nil {
			t.Fatal(err)
		}
		ab := page.Abilities
		_, err = e.gw.UpdateRecord(e.ctx, tt.who, gateway.UpdateRecordRequest{App: budget, RecordUpdate: gateway.RecordUpdate{
			ID: tt.record, Record: values(map[string]any{"title": "changed " + tt.record})}})
		if (err == nil) != ab.Update {
			t.Errorf("%s on %s: Update %v, but the update answered %v", tt.who.Subject, tt.record, ab.Update, err)
		}
		for _, action := range []string{"Submit", "Withdraw", "Approve"} {
			offered := false
			for _, a := range ab.Actions {
				offered = offered || a == action
			}
			if offered {
				continue // running it would change the state for the next one
			}
			if _, err := e.gw.UpdateStatus(e.ctx, tt.who, gateway.UpdateStatusRequest{App: budget,
				StatusUpdate: gateway.StatusUpdate{ID: tt.record, Action: action}}); err == nil {
				t.Errorf("%s on %s: %s was not offered but ran", tt.who.Subject, tt.record, action)
			}
		}
	}
	if s := textOf(e.stored(t, testworld.BudgetApp, "5"), "Status"); s != "Submitted" {
		t.Errorf("record 5 is %q", s)
	}
}

func TestAbilitiesNeverOfferAMaskedField(t *testing.T) {
	rego := `package kgate

allow if input.app.alias == "budget"

include if input.record.org == "acme"

readable contains "*"

writable contains f if some f in {"title", "amount"}

masks.amount := "0"
`
	eng := regoEngine(t, rego)
	e := newWriteEnv(t, func(_ *kintone.Config, gc *gateway.Config) { gc.Policy = eng })
	for _, get := range []func() (*gateway.Abilities, error){
		func() (*gateway.Abilities, error) { return e.gw.CreateAbilities(e.ctx, alice, budget) },
		func() (*gateway.Abilities, error) {
			page, err := e.gw.RecordPage(e.ctx, alice, gateway.RecordPageRequest{App: budget, Record: "1"})
			if err != nil {
				return nil, err
			}
			return &page.Abilities, nil
		},
	} {
		ab, err := get()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ab.Writable, []string{"title"}) {
			t.Errorf("writable %v, want only the unmasked title", ab.Writable)
		}
	}
}
