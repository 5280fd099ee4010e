package testworld

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintonesim"
)

// The write world adds two apps that partners write to: budget requests
// (process management, a unique key, files, a subtable, fields hidden from
// partners) and tickets in guest space 7 (a hidden field set by a preset,
// and a scope that defaults to one partners cannot see).
// policy/writes.rego says who may do what in them.
const (
	BudgetApp    = "20"
	TicketsApp   = "21"
	BudgetToken  = "tok-budget"
	TicketsToken = "tok-tickets"
	// BudgetQuoteFile is the seed file attached to budget record 1.
	BudgetQuoteFile = "file-budget-quote"
)

// Erin is a gold acme member whose attrs.tracking is too long for the
// tickets app's hidden tracking field, so kintone refuses the preset.
var Erin = &identity.Identity{Subject: "u-erin", Issuer: "https://idp.test", Email: "erin@acme.example",
	Name: "Erin", Level: "gold", Org: "acme", Attrs: map[string]any{"tracking": "TOO-LONG-FOR-IT"}}

// WriteApps is the gateway configuration of the write world: the read
// world's apps and the two write apps.
func WriteApps() []gateway.App {
	return append(Apps(),
		gateway.App{ID: BudgetApp, Alias: "budget", Tokens: []string{BudgetToken}},
		gateway.App{ID: TicketsApp, Alias: "tickets", GuestSpace: NoticesSpace, Tokens: []string{TicketsToken}},
	)
}

// WriteSeed is the read world's seed with orders orders, plus the write
// apps, their files and the kintone users that mentions and assignees
// name.
func WriteSeed(orders int) *kintonesim.Seed {
	s := Seed(orders, 1)
	s.Users = append(s.Users,
		kintonesim.SeedUser{Code: "boss", Password: "boss-pw", Name: "Boss Kimura", Organization: "sales"},
		kintonesim.SeedUser{Code: "clerk", Password: "clerk-pw", Name: "Clerk Ono", Organization: "sales"},
	)
	s.Organizations = append(s.Organizations, kintonesim.SeedEntity{Code: "sales", Name: "Sales"})
	s.Files = append(s.Files, kintonesim.SeedFile{FileKey: BudgetQuoteFile, Name: "budget-quote.txt", ContentType: "text/plain", Text: "quote for the acme flyers"})
	s.Apps = append(s.Apps, budgetApp(), ticketsApp())
	return s
}

// StartWrites runs the write world on a loopback port until the test ends.
func StartWrites(t testing.TB, orders int) *World {
	t.Helper()
	sim, err := kintonesim.New(WriteSeed(orders))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(func() {
		srv.Close()
		sim.Close()
	})
	w := &World{Sim: sim, PolicyDir: PolicyDir(t)}
	w.URL = srv.URL
	return w
}

func fields(list ...map[string]any) []json.RawMessage {
	out := make([]json.RawMessage, len(list))
	for i, f := range list {
		out[i] = raw(f)
	}
	return out
}

func budgetApp() kintonesim.SeedApp {
	a := kintonesim.SeedApp{
		ID: 20, Code: "BUD", Name: "Budget requests",
		Tokens: []kintonesim.SeedToken{{Token: BudgetToken, View: true, Add: true, Edit: true, Delete: true}},
		Fields: fields(
			map[string]any{"type": "SINGLE_LINE_TEXT", "code": "title", "label": "Title", "required": true, "maxLength": 100},
			map[string]any{"type": "DROP_DOWN", "code": "org", "label": "Organization", "required": true, "options": Orgs},
			map[string]any{"type": "NUMBER", "code": "amount", "label": "Amount", "minValue": 0},
			map[string]any{"type": "DROP_DOWN", "code": "category", "label": "Category", "options": []string{"marketing", "event", "training", "other"}},
			map[string]any{"type": "MULTI_LINE_TEXT", "code": "purpose", "label": "Purpose"},
			map[string]any{"type": "SINGLE_LINE_TEXT", "code": "requested_by", "label": "Requested by"},
			map[string]any{"type": "SINGLE_LINE_TEXT", "code": "ref", "label": "Reference", "unique": true},
			map[string]any{"type": "DROP_DOWN", "code": "visibility", "label": "Visibility", "options": []string{"public", "internal"}, "defaultValue": "public"},
			map[string]any{"type": "DATE", "code": "due", "label": "Due"},
			map[string]any{"type": "DATETIME", "code": "starts", "label": "Starts"},
			map[string]any{"type": "CHECK_BOX", "code": "tags", "label": "Tags", "options": []string{"a", "b", "c"}},
			map[string]any{"type": "FILE", "code": "attachment", "label": "Attachment"},
			map[string]any{"type": "SUBTABLE", "code": "items", "label": "Items", "fields": []any{
				map[string]any{"type": "SINGLE_LINE_TEXT", "code": "item", "label": "Item"},
				map[string]any{"type": "NUMBER", "code": "cost", "label": "Cost"},
				map[string]any{"type": "FILE", "code": "receipt", "label": "Receipt"},
			}},
			map[string]any{"type": "NUMBER", "code": "approved_amount", "label": "Approved amount"},
			map[string]any{"type": "MULTI_LINE_TEXT", "code": "internal_note", "label": "Internal note"},
		),
		Process: &kintonesim.SeedProcess{
			Enable: true,
			States: []kintonesim.SeedState{
				{Name: "Draft", Assignee: kintonesim.SeedAssignee{Type: "ANY"}},
				{Name: "Submitted", Assignee: kintonesim.SeedAssignee{Type: "ANY", Entities: []kintonesim.SeedAssigneeOf{{Entity: kintonesim.SeedEntityRef{Type: "USER", Code: "boss"}}}}},
				{Name: "Approved", Assignee: kintonesim.SeedAssignee{Type: "ANY"}},
				{Name: "Rejected", Assignee: kintonesim.SeedAssignee{Type: "ANY"}},
			},
			Actions: []kintonesim.SeedAction{
				{Name: "Submit", From: "Draft", To: "Submitted"},
				{Name: "Withdraw", From: "Submitted", To: "Draft"},
				{Name: "Approve", From: "Submitted", To: "Approved"},
				{Name: "Reject", From: "Submitted", To: "Rejected"},
			},
		},
		Comments: []kintonesim.SeedComment{{Record: 1, Text: "Received. We will review it this week."}},
	}
	type rec struct{ title, org, vis, status, ref string }
	for i, r := range []rec{
		{"Acme flyers", "acme", "public", "Draft", "A-1"},          // 1
		{"Acme event", "acme", "public", "Draft", "A-2"},           // 2
		{"Acme internal plan", "acme", "internal", "Draft", "A-H"}, // 3: hidden from partners
		{"Bluebird fair", "bluebird", "public", "Draft", "B-1"},    // 4: hidden from acme
		{"Acme training", "acme", "public", "Submitted", "A-3"},    // 5
		{"Bluebird seminar", "bluebird", "public", "Draft", "B-2"}, // 6
		{"Acme spare", "acme", "public", "Draft", "A-4"},           // 7
		{"Acme catalogue", "acme", "public", "Draft", "A-5"},       // 8
	} {
		v := map[string]json.RawMessage{
			"title":         raw(map[string]any{"value": r.title}),
			"org":           raw(map[string]any{"value": r.org}),
			"amount":        raw(map[string]any{"value": "1000"}),
			"category":      raw(map[string]any{"value": "marketing"}),
			"ref":           raw(map[string]any{"value": r.ref}),
			"visibility":    raw(map[string]any{"value": r.vis}),
			"Status":        raw(map[string]any{"value": r.status}),
			"internal_note": raw(map[string]any{"value": "staff only"}),
			"items": raw(map[string]any{"value": []any{
				map[string]any{"value": map[string]any{"item": map[string]any{"value": "design"}, "cost": map[string]any{"value": "600"}}},
				map[string]any{"value": map[string]any{"item": map[string]any{"value": "print"}, "cost": map[string]any{"value": "400"}}},
			}}),
		}
		if i == 0 {
			v["attachment"] = raw(map[string]any{"value": []any{map[string]any{"fileKey": BudgetQuoteFile}}})
		}
		a.Records = append(a.Records, v)
	}
	return a
}

func ticketsApp() kintonesim.SeedApp {
	a := kintonesim.SeedApp{
		ID: 21, Name: "Tickets", SpaceID: 7, ThreadID: 71,
		Tokens: []kintonesim.SeedToken{{Token: TicketsToken, View: true, Add: true, Edit: true, Delete: true}},
		Fields: fields(
			map[string]any{"type": "SINGLE_LINE_TEXT", "code": "title", "label": "Title", "required": true},
			map[string]any{"type": "DROP_DOWN", "code": "org", "label": "Organization", "options": Orgs},
			map[string]any{"type": "MULTI_LINE_TEXT", "code": "note", "label": "Note"},
			map[string]any{"type": "SINGLE_LINE_TEXT", "code": "tracking", "label": "Tracking", "maxLength": 8},
			map[string]any{"type": "DROP_DOWN", "code": "scope", "label": "Scope", "options": []string{"shared", "internal"}, "defaultValue": "internal"},
			map[string]any{"type": "FILE", "code": "screenshot", "label": "Screenshot"},
		),
	}
	for _, t := range [][2]string{{"Ticket of acme", "acme"}, {"Ticket of bluebird", "bluebird"}, {"Pinned", "acme"}} {
		a.Records = append(a.Records, map[string]json.RawMessage{
			"title": raw(map[string]any{"value": t[0]}),
			"org":   raw(map[string]any{"value": t[1]}),
			"scope": raw(map[string]any{"value": "shared"}),
		})
	}
	return a
}
