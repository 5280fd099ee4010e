package notify_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/mail"
)

// mailWant is what one member's mail must and must not say.
type mailWant struct {
	lang     string
	has, not []string
}

// A webhook for a record mails exactly the active members whose policy
// lets them read it — in their own language, with the fields they may
// read, masks shown as hidden, and never a field they may not read — and
// audits a decision for every active member.
func TestAWebhookMailsExactlyTheMembersWhoMayReadTheRecord(t *testing.T) {
	link1 := "https://partners.example.com/apps/tickets/records/1"
	tests := []struct {
		name   string
		policy string
		hook   map[string]any
		want   map[string]mailWant
	}{
		{"an edit: own organization, silver sees the amount masked", orgPolicy, hook("UPDATE_RECORD", "1"), map[string]mailWant{
			"alice@acme.example": {lang: "en", has: []string{"Hello Alice,", "Title: Acme printer order", "Amount: " + maskedAmount, link1,
				"[Partner Portal] Tickets: a record was edited: Acme printer order"},
				not: []string{hiddenNote, "Internal note", "Shared"}},
			"bob@acme.example": {lang: "ja", has: []string{"Bob 様", "件名: Acme printer order", "金額: （非表示）", link1, "【パートナーポータル】"},
				not: []string{hiddenNote, "社内メモ", maskedAmount, "Shared"}},
		}},
		{"a comment: its text only for comment.read, the mention for bob", orgPolicy, hook("ADD_RECORD_COMMENT", "1"), map[string]mailWant{
			"alice@acme.example": {lang: "en", has: []string{"Shipment leaves Monday", "A comment was added", link1}, not: []string{hiddenNote}},
			"bob@acme.example": {lang: "ja", has: []string{"あなたが宛先に指定されました", link1, "あなた宛てのコメント"},
				not: []string{"Shipment leaves Monday", hiddenNote, maskedAmount}},
		}},
		{"another policy: gold members of any organization read shared records", goldPolicy, hook("UPDATE_STATUS", "2"), map[string]mailWant{
			"alice@acme.example": {lang: "en", has: []string{"Internal note: bluebird note", "Title: Bluebird freight", "status changed"},
				not: []string{"Progress"}},
			"carol@bluebird.example": {lang: "en", has: []string{"Internal note: bluebird note", "https://partners.example.com/apps/tickets/records/2"},
				not: []string{"Progress"}},
		}},
		{"another policy, a record shared with nobody: only its own organization's gold member", goldPolicy, hook("ADD_RECORD", "1"), map[string]mailWant{
			"alice@acme.example": {lang: "en", has: []string{"A record was added", "Internal note: " + hiddenNote}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, tt.policy, 20, nil)
			if rec := w.post(secret, tt.hook); rec.Code != http.StatusNoContent {
				t.Fatalf("webhook: %d %s", rec.Code, rec.Body)
			}
			msgs := w.box.take()
			checkMails(t, msgs, tt.want)
			notices := w.notices()
			if len(notices) != 5 {
				t.Fatalf("%d notify events, want one per active member (5): %v", len(notices), notices)
			}
			for _, e := range notices {
				_, mailed := tt.want[e["email"].(string)]
				wantDecision, wantOutcome := "deny", "denied"
				if mailed {
					wantDecision, wantOutcome = "allow", "sent"
				}
				if e["decision"] != wantDecision || e["outcome"] != wantOutcome || e["event"] != tt.hook["type"] ||
					e["app"] != "tickets" || e["action"] != "read" {
					t.Errorf("audit %v: want decision %s, outcome %s", e, wantDecision, wantOutcome)
				}
			}
		})
	}
}

func checkMails(t *testing.T, msgs []mail.Message, want map[string]mailWant) {
	t.Helper()
	var wantTo []string
	for to := range want {
		wantTo = append(wantTo, to)
	}
	slices.Sort(wantTo)
	if got := recipients(msgs); !slices.Equal(got, wantTo) {
		t.Fatalf("mailed %v, want %v", got, wantTo)
	}
	for _, m := range msgs {
		wm := want[m.To]
		all := m.Subject + "\n" + m.Text
		if m.Lang != wm.lang || m.Kind != "notification" {
			t.Errorf("%s: lang %q kind %q, want %q notification", m.To, m.Lang, m.Kind, wm.lang)
		}
		for _, s := range wm.has {
			if !strings.Contains(all, s) {
				t.Errorf("%s: the mail lacks %q:\n%s", m.To, s, all)
			}
		}
		for _, s := range wm.not {
			if strings.Contains(all, s) {
				t.Errorf("%s: the mail holds %q:\n%s", m.To, s, all)
			}
		}
	}
}

// Only the secret URL takes webhooks, and only well-formed ones: anything
// else is refused with its status and tells nobody anything.
func TestWebhooksOtherThanKintonesAreRefusedAndSendNothing(t *testing.T) {
	w := newWorld(t, orgPolicy, 20, nil)
	tests := []struct {
		name   string
		method string
		secret string
		body   string
		want   int
	}{
		{"wrong secret", http.MethodPost, "a-webhook-secret-of-at-least-32-characterz", string(raw(hook("UPDATE_RECORD", "1"))), http.StatusNotFound},
		{"no secret", http.MethodPost, "", string(raw(hook("UPDATE_RECORD", "1"))), http.StatusNotFound},
		{"the secret's prefix", http.MethodPost, secret[:20], string(raw(hook("UPDATE_RECORD", "1"))), http.StatusNotFound},
		{"the secret and more", http.MethodPost, secret + "x", string(raw(hook("UPDATE_RECORD", "1"))), http.StatusNotFound},
		{"a GET", http.MethodGet, secret, "", http.StatusMethodNotAllowed},
		{"not JSON", http.MethodPost, secret, "type=UPDATE_RECORD", http.StatusBadRequest},
		{"no type", http.MethodPost, secret, `{"app":{"id":"5"},"record":{"$id":{"value":"1"}}}`, http.StatusBadRequest},
		{"no record id", http.MethodPost, secret, `{"type":"UPDATE_RECORD","app":{"id":"5"},"record":{}}`, http.StatusBadRequest},
		{"an id that is no id", http.MethodPost, secret, `{"type":"UPDATE_RECORD","app":{"id":"5"},"record":{"$id":{"value":"1 or 1"}}}`, http.StatusBadRequest},
		{"a comment without its id", http.MethodPost, secret, `{"type":"ADD_RECORD_COMMENT","app":{"id":"5"},"recordId":"1"}`, http.StatusBadRequest},
		{"too large", http.MethodPost, secret, `{"type":"UPDATE_RECORD","pad":"` + strings.Repeat("x", 4<<20) + `"}`, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			w.webhook.ServeHTTP(rec, httptest.NewRequest(tt.method, "/kgate/webhooks/"+tt.secret, strings.NewReader(tt.body)))
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d (%s)", rec.Code, tt.want, rec.Body)
			}
			if msgs := w.box.take(); len(msgs) != 0 {
				t.Fatalf("mailed %v", recipients(msgs))
			}
			if n := w.notices(); len(n) != 0 {
				t.Fatalf("audited %v", n)
			}
		})
	}
}

// Changes kgate does not tell about — a deletion (there is no record left
// to judge), an app it does not open, a record or comment kintone does not
// have — are answered and tell nobody.
func TestChangesWithNothingToJudgeTellNobody(t *testing.T) {
	w := newWorld(t, orgPolicy, 20, nil)
	comment := hook("ADD_RECORD_COMMENT", "1")
	comment["comment"] = map[string]any{"id": "99", "text": "forged"}
	other := hook("UPDATE_RECORD", "1")
	other["app"] = map[string]any{"id": "77"}
	for name, body := range map[string]map[string]any{
		"deleted": hook("DELETE_RECORD", "1"), "missing record": hook("UPDATE_RECORD", "40"),
		"missing comment": comment, "another app": other,
	} {
		if rec := w.post(secret, body); rec.Code != http.StatusNoContent {
			t.Fatalf("%s: %d %s", name, rec.Code, rec.Body)
		}
		if msgs := w.box.take(); len(msgs) != 0 {
			t.Fatalf("%s: mailed %v", name, recipients(msgs))
		}
	}
}

// kgate takes only the ids from a webhook: a payload that claims other
// values for the record — another organization, another title — mails
// what kintone holds to whom kintone's record lets read it.
func TestThePayloadsClaimsAreNotBelieved(t *testing.T) {
	w := newWorld(t, orgPolicy, 20, nil)
	lying := hook("UPDATE_RECORD", "1")
	lying["record"] = map[string]any{"$id": map[string]any{"type": "__ID__", "value": "1"},
		"title": map[string]any{"type": "SINGLE_LINE_TEXT", "value": "FORGED TITLE"},
		"org":   map[string]any{"type": "DROP_DOWN", "value": "bluebird"}}
	lying["recordTitle"] = "FORGED TITLE"
	w.post(secret, lying)
	checkMails(t, w.box.take(), map[string]mailWant{
		"alice@acme.example": {lang: "en", has: []string{"Acme printer order"}, not: []string{"FORGED"}},
		"bob@acme.example":   {lang: "ja", has: []string{"Acme printer order"}, not: []string{"FORGED"}},
	})

	// Staff move the record to bluebird; a payload still saying acme
	// mails bluebird's members the record as it is now.
	w.update("1", map[string]any{"org": "bluebird", "title": "Moved order"})
	stale := hook("UPDATE_RECORD", "1")
	stale["record"] = map[string]any{"$id": map[string]any{"value": "1"}, "org": map[string]any{"value": "acme"}}
	w.post(secret, stale)
	checkMails(t, w.box.take(), map[string]mailWant{
		"carol@bluebird.example": {lang: "en", has: []string{"Moved order"}, not: []string{"Acme printer order", hiddenNote}},
		"dave@bluebird.example":  {lang: "ja", has: []string{"Moved order", "金額: （非表示）"}, not: []string{maskedAmount, hiddenNote}},
	})
}

// An opted-out member gets nothing; a member with the digest setting gets
// one mail per period with every change, each record judged again when
// the digest is sent; every decision is audited.
func TestOptOutAndDigest(t *testing.T) {
	w := newWorld(t, orgPolicy, 20, func(ppl []member) []member {
		ppl[0].digest = true // alice
		ppl[1].off = true    // bob
		return ppl
	})
	w.post(secret, hook("UPDATE_RECORD", "1"))
	w.post(secret, hook("ADD_RECORD_COMMENT", "1"))
	w.post(secret, hook("ADD_RECORD", "3"))
	w.post(secret, hook("UPDATE_RECORD", "1")) // the same record again: one entry
	if msgs := w.box.take(); len(msgs) != 0 {
		t.Fatalf("mailed before the digest: %v", recipients(msgs))
	}
	outcomes := map[string][]string{}
	for _, e := range w.notices() {
		if e["decision"] == "allow" {
			outcomes[e["email"].(string)] = append(outcomes[e["email"].(string)], e["outcome"].(string))
		}
	}
	if got := outcomes["bob@acme.example"]; len(got) != 4 || slices.ContainsFunc(got, func(o string) bool { return o != "opted_out" }) {
		t.Errorf("bob's outcomes %v, want opted_out ×4", got)
	}
	if got := outcomes["alice@acme.example"]; len(got) != 4 || slices.ContainsFunc(got, func(o string) bool { return o != "digest" }) {
		t.Errorf("alice's outcomes %v, want digest ×4", got)
	}
	if err := w.n.FlushDigests(context.Background()); err != nil {
		t.Fatal(err)
	}
	msgs := w.box.take()
	checkMails(t, msgs, map[string]mailWant{
		"alice@acme.example": {lang: "en", has: []string{"[Partner Portal] 3 changes", "Acme printer order", "Acme second order",
			"Shipment leaves Monday", "https://partners.example.com/apps/tickets/records/3"}, not: []string{hiddenNote}},
	})
	if strings.Count(msgs[0].Text, "Title: Acme printer order") != 2 {
		t.Errorf("the edits of record 1 should make one entry, its comment another:\n%s", msgs[0].Text)
	}
	if err := w.n.FlushDigests(context.Background()); err != nil {
		t.Fatal(err)
	}
	if msgs := w.box.take(); len(msgs) != 0 {
		t.Fatalf("a second digest with nothing new: %v", recipients(msgs))
	}
}

// A digest judges each record when it is sent: a record moved out of the
// member's reach since the change is left out.
func TestADigestLeavesOutWhatTheMemberMayNoLongerRead(t *testing.T) {
	w := newWorld(t, orgPolicy, 20, func(ppl []member) []member {
		ppl[0].digest = true
		return ppl
	})
	w.post(secret, hook("UPDATE_RECORD", "1"))
	w.post(secret, hook("UPDATE_RECORD", "3"))
	w.box.take()
	w.update("1", map[string]any{"org": "bluebird"})
	if err := w.n.FlushDigests(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkMails(t, w.box.take(), map[string]mailWant{
		"alice@acme.example": {lang: "en", has: []string{"Acme second order"}, not: []string{"Acme printer order", hiddenNote}},
	})
}

// A member gets at most rate mails an hour; the changes past it wait for
// the next digest, and the next hour mails again.
func TestRateLimitHoldsTheRestForTheDigest(t *testing.T) {
	w := newWorld(t, orgPolicy, 2, nil)
	for _, id := range []string{"1", "3", "1"} {
		w.post(secret, hook("UPDATE_RECORD", id))
	}
	counts := map[string]int{}
	for _, m := range w.box.take() {
		counts[m.To]++
	}
	if counts["alice@acme.example"] != 2 || counts["bob@acme.example"] != 2 || len(counts) != 2 {
		t.Fatalf("mails per member %v, want 2 each for alice and bob", counts)
	}
	limited := 0
	for _, e := range w.notices() {
		if e["outcome"] == "rate_limited" {
			limited++
		}
	}
	if limited != 2 {
		t.Errorf("%d rate_limited events, want 2", limited)
	}
	if err := w.n.FlushDigests(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkMails(t, w.box.take(), map[string]mailWant{
		"alice@acme.example": {lang: "en", has: []string{"Acme printer order"}},
		"bob@acme.example":   {lang: "ja", has: []string{"Acme printer order"}},
	})
	w.now = w.now.Add(time.Hour)
	w.post(secret, hook("UPDATE_RECORD", "3"))
	if got := recipients(w.box.take()); len(got) != 2 {
		t.Fatalf("the next hour mailed %v, want alice and bob", got)
	}
}

// A burst of webhooks lists the members app once; a listing older than
// MembersTTL (30s by default) is not used again, so a member set inactive
// stops getting mail within it.
func TestABurstOfWebhooksListsTheMembersOnce(t *testing.T) {
	w := newWorld(t, orgPolicy, 20, nil)
	for _, id := range []string{"1", "3", "1"} {
		w.post(secret, hook("UPDATE_RECORD", id))
	}
	if w.dir.lists != 1 {
		t.Fatalf("%d listings of the members app for a burst, want 1", w.dir.lists)
	}
	w.box.take()
	if _, err := w.sim.EditRecord(1, 1, "", map[string]any{"state": map[string]any{"value": "inactive"}}); err != nil {
		t.Fatal(err) // alice leaves
	}
	w.now = w.now.Add(31 * time.Second)
	w.post(secret, hook("UPDATE_RECORD", "1"))
	if w.dir.lists != 2 {
		t.Fatalf("%d listings, want a fresh one after 30s", w.dir.lists)
	}
	if got := recipients(w.box.take()); !slices.Equal(got, []string{"bob@acme.example"}) {
		t.Fatalf("mailed %v after alice left, want bob alone", got)
	}
}
