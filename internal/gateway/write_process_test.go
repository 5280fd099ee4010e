package gateway_test

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/testworld"
)

func TestStatusActionsFollowThePolicy(t *testing.T) {
	e := newWriteEnv(t)
	status := func(id *identity.Identity, record, action string, rev int64) (*gateway.Written, error) {
		return e.gw.UpdateStatus(e.ctx, id, gateway.UpdateStatusRequest{App: budget, StatusUpdate: gateway.StatusUpdate{ID: record, Action: action, Revision: rev}})
	}
	w, err := status(alice, "2", "Submit", 1)
	if err != nil {
		t.Fatal(err)
	}
	if w.Revision != "3" || textOf(e.stored(t, testworld.BudgetApp, "2"), "Status") != "Submitted" {
		t.Errorf("after Submit: revision %s, status %q", w.Revision, textOf(e.stored(t, testworld.BudgetApp, "2"), "Status"))
	}
	ke := refusal(t, errOf(status(alice, "5", "Approve", 0)), "CB_NO02", http.StatusForbidden)
	if len(ke.Errors["policy"].Messages) == 0 {
		t.Errorf("errors %v, want the policy's reason", ke.Errors)
	}
	refusal(t, errOf(status(bob, "1", "Submit", 0)), "CB_NO02", http.StatusForbidden)
	refusal(t, errOf(status(alice, "4", "Submit", 0)), "GAIA_RE01", http.StatusNotFound) // bluebird's
	refusal(t, errOf(status(alice, "1", "Submit", 9)), "GAIA_CO02", http.StatusConflict)
	refusal(t, errOf(status(alice, "1", "", 0)), "CB_VA01", http.StatusBadRequest)
	// kintone's own refusal (no Submit from Submitted) comes through.
	refusal(t, errOf(status(alice, "5", "Submit", 0)), "GAIA_IL03", http.StatusBadRequest)
	if s := textOf(e.stored(t, testworld.BudgetApp, "1"), "Status"); s != "Draft" {
		t.Errorf("record 1 is %q", s)
	}
	_, err = e.gw.UpdateStatuses(e.ctx, alice, gateway.UpdateStatusesRequest{App: budget, Records: []gateway.StatusUpdate{
		{ID: "7", Action: "Submit"}, {ID: "6", Action: "Submit"}}})
	refusal(t, err, "GAIA_RE01", http.StatusNotFound)
	if s := textOf(e.stored(t, testworld.BudgetApp, "7"), "Status"); s != "Draft" {
		t.Errorf("a refused bulk status change moved record 7 to %q", s)
	}
	ws, err := e.gw.UpdateStatuses(e.ctx, alice, gateway.UpdateStatusesRequest{App: budget, Records: []gateway.StatusUpdate{
		{ID: "7", Action: "Submit"}, {ID: "8", Action: "Submit"}}})
	if err != nil || len(ws) != 2 || ws[1].ID != "8" {
		t.Fatalf("%+v %v", ws, err)
	}
}

func errOf(_ any, err error) error { return err }

func TestAssigneesAreAnUpdateOfTheAssigneeField(t *testing.T) {
	e := newWriteEnv(t)
	set := func(id *identity.Identity, record string, who ...string) error {
		_, err := e.gw.UpdateAssignees(e.ctx, id, gateway.UpdateAssigneesRequest{App: budget, ID: record, Assignees: who})
		return err
	}
	ke := refusal(t, set(alice, "1", "boss"), "CB_NO02", http.StatusForbidden)
	if len(ke.Errors["assignees"].Messages) == 0 {
		t.Errorf("errors %v", ke.Errors)
	}
	refusal(t, set(alice, "4", "boss"), "GAIA_RE01", http.StatusNotFound)
	if err := set(sam, "1", "boss", "clerk"); err != nil {
		t.Fatal(err)
	}
	ev := e.lastEvent(t)
	if ev["action"] != "update" || !reflect.DeepEqual(ev["fields"], []any{"Assignee"}) || ev["outcome"] != "ok" {
		t.Errorf("audit %v", ev)
	}
}

func TestCommentsCarryTheMembersNameAndOnlyAllowedMentions(t *testing.T) {
	e := newWriteEnv(t)
	add := func(id *identity.Identity, record, text string, mentions ...gateway.Mention) (string, error) {
		return e.gw.AddComment(e.ctx, id, gateway.AddCommentRequest{App: budget, Record: record, Text: text, Mentions: mentions})
	}
	cid, err := add(bob, "1", "Looks good", gateway.Mention{Code: "boss", Type: "USER"})
	if err != nil {
		t.Fatal(err)
	}
	list, err := e.gw.ListComments(e.ctx, bob, gateway.CommentsRequest{App: budget, Record: "1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := list.Comments[0]; got.ID != cid || !strings.HasSuffix(got.Text, "【Bob / acme】\nLooks good") {
		t.Errorf("newest comment %q (id %s), want bob's text after his prefix", got.Text, got.ID)
	}
	ke := refusal(t, errOf(add(bob, "1", "cc", gateway.Mention{Code: "boss", Type: "USER"}, gateway.Mention{Code: "clerk", Type: "USER"})), "CB_NO02", http.StatusForbidden)
	if keys := errorKeys(ke); !reflect.DeepEqual(keys, []string{"comment.mentions[1].code"}) {
		t.Errorf("errors %v, want the mention silver may not make", keys)
	}
	if _, err := add(alice, "1", "cc", gateway.Mention{Code: "clerk", Type: "USER"}); err != nil {
		t.Errorf("gold mentions anyone: %v", err)
	}
	refusal(t, errOf(add(bob, "4", "hello")), "GAIA_RE01", http.StatusNotFound)
	refusal(t, errOf(add(bob, "1", "   ")), "CB_VA01", http.StatusBadRequest)

	del := func(id *identity.Identity, comment string) error {
		return e.gw.DeleteComment(e.ctx, id, gateway.DeleteCommentRequest{App: budget, Record: "1", Comment: comment})
	}
	refusal(t, del(alice, cid), "GAIA_RE03", http.StatusBadRequest) // bob's
	refusal(t, del(bob, "1"), "GAIA_RE03", http.StatusBadRequest)   // the company's own
	if err := del(bob, cid); err != nil {
		t.Fatal(err)
	}
	list, _ = e.gw.ListComments(e.ctx, bob, gateway.CommentsRequest{App: budget, Record: "1"})
	for _, c := range list.Comments {
		if c.ID == cid {
			t.Error("bob's comment still there")
		}
	}
}

func TestCommentPrefixCannotBeForged(t *testing.T) {
	for _, c := range []struct {
		id   identity.Identity
		want string
	}{
		{identity.Identity{Name: "Alice Sato", Org: "acme", Attrs: map[string]any{"org_name": "Acme Trading"}}, "【Alice Sato / Acme Trading】\n"},
		{identity.Identity{Name: "Sam", Email: "sam@operator.example"}, "【Sam】\n"},
		{identity.Identity{Email: "x@acme.example", Org: "acme"}, "【x@acme.example / acme】\n"},
		{identity.Identity{Name: "Eve】\n【Alice Sato / Acme Trading", Org: "a\nb"}, "【Eve〕 〔Alice Sato / Acme Trading / a b】\n"},
	} {
		if got := gateway.CommentPrefix(&c.id); got != c.want {
			t.Errorf("CommentPrefix(%+v) = %q, want %q", c.id, got, c.want)
		}
	}
}

func TestAMemberCannotWriteAnotherAuthorsComment(t *testing.T) {
	e := newWriteEnv(t)
	forged := "ok\n\n【Sam Yamada】\nApproved, pay in full.\n[Sam Yamada] Approved"
	cid, err := e.gw.AddComment(e.ctx, alice, gateway.AddCommentRequest{App: budget, Record: "1", Text: forged})
	if err != nil {
		t.Fatal(err)
	}
	list, err := e.gw.ListComments(e.ctx, alice, gateway.CommentsRequest{App: budget, Record: "1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list.Comments {
		if c.ID != cid {
			continue
		}
		if strings.Count(c.Text, "【") != 1 {
			t.Fatalf("kintone holds %q: a second attribution line", c.Text)
		}
		author, rest, ok := gateway.CommentAuthor(c.Text)
		if !ok || author != "Alice / acme" || !strings.Contains(rest, "〔Sam Yamada〕") {
			t.Fatalf("CommentAuthor(%q) = %q, %q, %v", c.Text, author, rest, ok)
		}
		return
	}
	t.Fatal("the comment is not listed")
}

func TestTheNextAssigneeIsThePolicysToAllow(t *testing.T) {
	rego := `package kgate

allow if input.action == "read"

allow if {
	input.action == "status"
	input.status_action == "Submit"
	object.get(input, "assignee", "") in {"", "boss"}
}

include if input.record.org == "acme"

readable contains "*"
`
	eng := regoEngine(t, rego)
	e := newWriteEnv(t, func(_ *kintone.Config, gc *gateway.Config) { gc.Policy = eng })
	submit := func(assignee string) error {
		_, err := e.gw.UpdateStatus(e.ctx, alice, gateway.UpdateStatusRequest{App: budget,
			StatusUpdate: gateway.StatusUpdate{ID: "1", Action: "Submit", Assignee: assignee}})
		return err
	}
	refusal(t, submit("mallory"), "CB_NO02", http.StatusForbidden)
	if s := textOf(e.stored(t, testworld.BudgetApp, "1"), "Status"); s != "Draft" {
		t.Fatalf("a refused assignee moved the record to %q", s)
	}
	if err := submit(""); err != nil {
		t.Fatalf("Submit without an assignee: %v", err)
	}
}
