package kintonesim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

const webhookSeed = `{"apps":[{"id":3,"name":"Tickets",
 "fields":[{"type":"SINGLE_LINE_TEXT","code":"title","label":"Title"},{"type":"NUMBER","code":"n","label":"N","maxValue":"10"}],
 "process":{"enable":true,"states":[{"name":"Open"},{"name":"Done"}],"actions":[{"name":"Close","from":"Open","to":"Done"}]},
 "tokens":[{"token":"tok","view":true,"add":true,"edit":true,"delete":true}],
 "records":[{"title":{"value":"first"}}]},
 {"id":4,"name":"Quiet","fields":[{"type":"SINGLE_LINE_TEXT","code":"title","label":"Title"}],
 "tokens":[{"token":"tok4","view":true,"add":true}]}]}`

// receiver collects the notifications posted to it.
func receiver(t *testing.T) (*httptest.Server, chan map[string]any) {
	got := make(chan map[string]any, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		if r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(b, &m) != nil {
			t.Errorf("not a JSON notification: %s %s", r.Header.Get("Content-Type"), b)
		}
		got <- m
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

// next is the next notification; the bound only keeps a broken sender
// from hanging the test.
func next(t *testing.T, got chan map[string]any) map[string]any {
	t.Helper()
	select {
	case m := <-got:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no notification arrived")
		return nil
	}
}

// Every committed change of an app with a webhook is posted as kintone's
// notification, in order: additions, edits (through the API and in
// kintone's screen), status changes and bulk requests with the record,
// deletions with recordId, comments with recordId and the comment. Failed
// writes, writes to apps without webhooks and event types not chosen post
// nothing.
func TestWebhooksPostEveryCommittedChange(t *testing.T) {
	s := newSeeded(t, webhookSeed)
	srv, got := receiver(t)
	s.SetWebhook(3, srv.URL)
	other, otherGot := receiver(t)
	s.SetWebhook(3, other.URL, "ADD_RECORD_COMMENT")

	must(t, do(t, s, req{method: "POST", path: "/k/v1/record.json", token: "tok", body: map[string]any{"app": 3, "record": map[string]any{"title": map[string]any{"value": "second"}}}}))
	must(t, do(t, s, req{method: "PUT", path: "/k/v1/record.json", token: "tok", body: map[string]any{"app": 3, "id": 1, "record": map[string]any{"title": map[string]any{"value": "edited"}}}}))
	if r := do(t, s, req{method: "PUT", path: "/k/v1/record.json", token: "tok", body: map[string]any{"app": 3, "id": 1, "record": map[string]any{"n": map[string]any{"value": "99"}}}}); r.status == 200 {
		t.Fatal("an out-of-range value was stored")
	}
	if _, err := s.EditRecord(3, 2, "", map[string]any{"title": map[string]any{"value": "in the screen"}}); err != nil {
		t.Fatal(err)
	}
	must(t, do(t, s, req{method: "PUT", path: "/k/v1/record/status.json", token: "tok", body: map[string]any{"app": 3, "id": 1, "action": "Close"}}))
	must(t, do(t, s, req{method: "POST", path: "/k/v1/record/comment.json", token: "tok", body: map[string]any{"app": 3, "record": 2, "comment": map[string]any{"text": "hello"}}}))
	must(t, do(t, s, req{method: "POST", path: "/k/v1/record.json", token: "tok4", body: map[string]any{"app": 4, "record": map[string]any{}}}))
	must(t, do(t, s, req{method: "POST", path: "/k/v1/bulkRequest.json", token: "tok", body: map[string]any{"requests": []any{
		map[string]any{"method": "PUT", "api": "/k/v1/record.json", "payload": map[string]any{"app": 3, "id": 2, "record": map[string]any{"n": map[string]any{"value": "1"}}}},
	}}}))
	must(t, do(t, s, req{method: "DELETE", path: "/k/v1/records.json?app=3&ids[0]=2", token: "tok"}))

	want := []struct{ typ, record, text string }{
		{"ADD_RECORD", "2", "second"}, {"UPDATE_RECORD", "1", "edited"}, {"UPDATE_RECORD", "2", "in the screen"},
		{"UPDATE_STATUS", "1", "edited"}, {"ADD_RECORD_COMMENT", "2", "hello"}, {"UPDATE_RECORD", "2", "in the screen"},
		{"DELETE_RECORD", "2", ""},
	}
	for _, w := range want {
		m := next(t, got)
		app, _ := m["app"].(map[string]any)
		if m["type"] != w.typ || app["id"] != "3" || app["name"] != "Tickets" || m["id"] == "" {
			t.Fatalf("got %v, want %s of app 3", m, w.typ)
		}
		switch w.typ {
		case "DELETE_RECORD":
			if m["recordId"] != w.record {
				t.Errorf("%s: %v", w.typ, m)
			}
		case "ADD_RECORD_COMMENT":
			c, _ := m["comment"].(map[string]any)
			if m["recordId"] != w.record || c["text"] != w.text || c["id"] != "1" {
				t.Errorf("%s: %v", w.typ, m)
			}
		default:
			rec, _ := m["record"].(map[string]any)
			if valueOf(rec, "$id") != w.record || valueOf(rec, "title") != w.text {
				t.Errorf("%s: %v", w.typ, m)
			}
		}
	}
	if m := next(t, otherGot); m["type"] != "ADD_RECORD_COMMENT" {
		t.Errorf("the comment-only webhook got %v", m)
	}
	// A last write marks the end: nothing else may arrive before it.
	must(t, do(t, s, req{method: "POST", path: "/k/v1/record/comment.json", token: "tok", body: map[string]any{"app": 3, "record": 1, "comment": map[string]any{"text": "end"}}}))
	if m := next(t, got); m["type"] != "ADD_RECORD_COMMENT" {
		t.Errorf("after the deletion came %v, want only the last comment", m)
	}
	if m := next(t, otherGot); m["type"] != "ADD_RECORD_COMMENT" {
		t.Errorf("the comment-only webhook got %v", m)
	}
}
