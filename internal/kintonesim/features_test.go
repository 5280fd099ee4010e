package kintonesim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCursors: pages of size, next, the limit of 10 live cursors, expiry
// after 10 minutes on the simulator's clock, and no limit/offset.
func TestCursors(t *testing.T) {
	s := newSim(t)
	now := fixedNow
	s.SetClock(func() time.Time { return now })
	open := func() reply {
		return do(t, s, req{method: "POST", path: "/k/v1/records/cursor.json", token: "tok-orders", body: map[string]any{"app": 2, "size": 2, "fields": []string{"$id"}, "query": "order by $id asc"}})
	}
	c := must(t, open()).obj(t)
	if c["totalCount"] != "3" {
		t.Fatalf("cursor: %v", c)
	}
	get := func(id any) reply {
		return do(t, s, req{method: "GET", path: "/k/v1/records/cursor.json", token: "tok-orders", body: map[string]any{"id": id}})
	}
	p1 := must(t, get(c["id"])).obj(t)
	if js(p1) != `{"next":true,"records":[{"$id":{"type":"__ID__","value":"1"}},{"$id":{"type":"__ID__","value":"2"}}]}` {
		t.Fatalf("page 1: %s", js(p1))
	}
	p2 := must(t, get(c["id"])).obj(t)
	if js(p2) != `{"next":false,"records":[{"$id":{"type":"__ID__","value":"3"}}]}` {
		t.Fatalf("page 2: %s", js(p2))
	}
	if r := get(c["id"]); r.code() != "GAIA_CU01" {
		t.Fatalf("a fully read cursor is freed: %s", r.body)
	}
	var live []any
	for i := 0; i < 10; i++ {
		live = append(live, must(t, open()).obj(t)["id"])
	}
	if r := open(); r.code() != "GAIA_TM12" || r.status != 400 {
		t.Fatalf("11th cursor: %d %s", r.status, r.body)
	}
	must(t, do(t, s, req{method: "DELETE", path: "/k/v1/records/cursor.json", token: "tok-orders", body: map[string]any{"id": live[0]}}))
	live[0] = must(t, open()).obj(t)["id"]
	now = now.Add(10 * time.Minute)
	if r := get(live[1]); r.code() != "GAIA_CU01" {
		t.Fatalf("expired cursor: %s", r.body)
	}
	must(t, open()) // expired cursors no longer count
	r := do(t, s, req{method: "POST", path: "/k/v1/records/cursor.json", token: "tok-orders", body: map[string]any{"app": 2, "query": "limit 5"}})
	if r.code() != "CB_VA01" {
		t.Fatalf("limit in a cursor query: %s", r.body)
	}
	if r := do(t, s, req{method: "POST", path: "/k/v1/records/cursor.json", token: "tok-orders", body: map[string]any{"app": 2, "size": 501}}); r.code() != "CB_VA01" {
		t.Fatalf("size 501: %s", r.body)
	}
}

// TestCursorSeesCurrentValues: a cursor fixes which records, not their
// values; deleted records are skipped.
func TestCursorSeesCurrentValues(t *testing.T) {
	s := newSim(t)
	c := must(t, do(t, s, req{method: "POST", path: "/k/v1/records/cursor.json", token: "tok-orders", body: map[string]any{"app": 2, "fields": []string{"title"}, "query": "order by $id asc"}})).obj(t)
	must(t, do(t, s, req{method: "PUT", path: "/k/v1/record.json", token: "tok-orders", body: map[string]any{"app": 2, "id": 1, "record": map[string]any{"title": v("changed")}}}))
	must(t, do(t, s, req{method: "DELETE", path: "/k/v1/records.json?app=2&ids[0]=2", token: "tok-orders"}))
	p := must(t, do(t, s, req{method: "GET", path: "/k/v1/records/cursor.json?id=" + c["id"].(string), token: "tok-orders"})).obj(t)
	if js(p["records"]) != `[{"title":{"type":"SINGLE_LINE_TEXT","value":"changed"}},{"title":{"type":"SINGLE_LINE_TEXT","value":"Third"}}]` {
		t.Fatalf("page: %s", js(p))
	}
}

func uploadReq(t *testing.T, name, content string) *http.Request {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	w, _ := mw.CreateFormFile("file", name)
	io.WriteString(w, content)
	mw.Close()
	r := httptest.NewRequest("POST", "/k/v1/file.json", &b)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	r.Header.Set("X-Cybozu-API-Token", "tok-orders")
	return r
}

// TestFiles: upload gives a temporary key that only a record turns into a
// download key; the key expires after 3 days.
func TestFiles(t *testing.T) {
	s := newSim(t)
	now := fixedNow
	s.SetClock(func() time.Time { return now })
	upload := func() string {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, uploadReq(t, "notes.txt", "budget notes"))
		if w.Code != 200 {
			t.Fatalf("upload: %d %s", w.Code, w.Body)
		}
		return reply{body: w.Body.Bytes()}.obj(t)["fileKey"].(string)
	}
	key := upload()
	if r := do(t, s, req{method: "GET", path: "/k/v1/file.json?fileKey=" + key, token: "tok-orders"}); r.code() != "GAIA_BL01" {
		t.Fatalf("an upload key downloads: %s", r.body)
	}
	add := func(key string) reply {
		return do(t, s, req{method: "POST", path: "/k/v1/record.json", token: "tok-orders", body: map[string]any{"app": 2, "record": map[string]any{
			"title": v("f"), "amount": v(1), "attachment": v([]any{map[string]any{"fileKey": key}})}}})
	}
	id := must(t, add(key)).obj(t)["id"].(string)
	files := valueOf(getRec(t, s, "2", id), "attachment").([]any)
	f := files[0].(map[string]any)
	if f["name"] != "notes.txt" || f["size"] != "12" || f["contentType"] != "text/plain; charset=utf-8" || f["fileKey"] == key {
		t.Fatalf("file value: %v", f)
	}
	r := must(t, do(t, s, req{method: "GET", path: "/k/v1/file.json?fileKey=" + f["fileKey"].(string), token: "tok-orders"}))
	if string(r.body) != "budget notes" {
		t.Fatalf("download: %s", r.body)
	}
	if r := add(key); r.code() != "GAIA_BL01" {
		t.Fatalf("an upload key attaches twice: %s", r.body)
	}
	if r := do(t, s, req{method: "GET", path: "/k/v1/file.json?fileKey=" + f["fileKey"].(string), token: "tok-cust"}); r.code() != "GAIA_NO01" {
		t.Fatalf("download without view on the app: %s", r.body)
	}
	// Keeping an attached file on update: send its download key back.
	must(t, do(t, s, req{method: "PUT", path: "/k/v1/record.json", token: "tok-orders", body: map[string]any{"app": 2, "id": id, "record": map[string]any{
		"attachment": v([]any{map[string]any{"fileKey": f["fileKey"]}})}}}))
	old := upload()
	now = now.Add(3 * 24 * time.Hour)
	if r := add(old); r.code() != "GAIA_BL01" {
		t.Fatalf("an expired upload key attaches: %s", r.body)
	}
}

// TestComments: order, offset, limit, older/newer, mentions, deleting only
// one's own.
func TestComments(t *testing.T) {
	s := newSim(t)
	post := func(user, text string, mentions ...map[string]any) reply {
		return do(t, s, req{method: "POST", path: "/k/v1/record/comment.json", user: user, body: map[string]any{"app": 2, "record": 1, "comment": map[string]any{"text": text, "mentions": mentions}}})
	}
	for i, text := range []string{"one", "two", "three"} {
		if got := must(t, post("alice", text)).obj(t)["id"]; got != string(rune('1'+i)) {
			t.Fatalf("comment id %v", got)
		}
	}
	must(t, post("bob", "hi", map[string]any{"code": "alice", "type": "USER"}, map[string]any{"code": "acme", "type": "ORGANIZATION"}))
	list := func(q string) map[string]any {
		return must(t, do(t, s, req{method: "GET", path: "/k/v1/record/comments.json?app=2&record=1" + q, token: "tok-orders"})).obj(t)
	}
	page := list("&limit=2")
	cs := page["comments"].([]any)
	if len(cs) != 2 || cs[0].(map[string]any)["text"] != "Alice Sato Acme Trading \nhi" || page["older"] != true || page["newer"] != false {
		t.Fatalf("newest first: %s", js(page))
	}
	if c := cs[0].(map[string]any); js(c["creator"]) != `{"code":"bob","name":"Bob Suzuki"}` || js(c["mentions"]) != `[{"code":"alice","type":"USER"},{"code":"acme","type":"ORGANIZATION"}]` || c["createdAt"] != "2024-05-15T03:00:00Z" {
		t.Fatalf("comment: %s", js(c))
	}
	page = list("&order=asc&offset=1&limit=1")
	if cs := page["comments"].([]any); cs[0].(map[string]any)["text"] != "two" || page["older"] != true || page["newer"] != true {
		t.Fatalf("asc offset 1: %s", js(page))
	}
	if r := do(t, s, req{method: "GET", path: "/k/v1/record/comments.json?app=2&record=1&limit=11", token: "tok-orders"}); r.code() != "CB_VA01" {
		t.Fatalf("limit 11: %s", r.body)
	}
	if r := do(t, s, req{method: "DELETE", path: "/k/v1/record/comment.json", user: "alice", body: map[string]any{"app": 2, "record": 1, "comment": 4}}); r.code() != "GAIA_RE03" {
		t.Fatalf("deleting another's comment: %s", r.body)
	}
	must(t, do(t, s, req{method: "DELETE", path: "/k/v1/record/comment.json", user: "bob", body: map[string]any{"app": 2, "record": 1, "comment": 4}}))
	if n := len(list("")["comments"].([]any)); n != 3 {
		t.Fatalf("after delete: %d comments", n)
	}
}

// TestProcessManagement: actions move the status (+2 revision), assignees
// follow the next state's rule, assignees can be set (+1).
func TestProcessManagement(t *testing.T) {
	s := newSim(t)
	r := must(t, do(t, s, req{method: "PUT", path: "/k/v1/record/status.json", user: "alice", body: map[string]any{"app": 2, "id": 1, "action": "Submit", "assignee": "bob", "revision": 1}}))
	if js(r.obj(t)) != `{"revision":"3"}` {
		t.Fatalf("status: %s", r.body)
	}
	rec := getRec(t, s, "2", "1")
	if valueOf(rec, "Status") != "Submitted" || js(valueOf(rec, "Assignee")) != `[{"code":"bob","name":"Bob Suzuki"}]` {
		t.Fatalf("after Submit: %v %v", valueOf(rec, "Status"), valueOf(rec, "Assignee"))
	}
	if r := do(t, s, req{method: "PUT", path: "/k/v1/record/status.json", user: "alice", body: map[string]any{"app": 2, "id": 1, "action": "Approve"}}); r.code() != "GAIA_NT01" {
		t.Fatalf("alice is not the assignee: %s", r.body)
	}
	r = must(t, do(t, s, req{method: "PUT", path: "/k/v1/records/status.json", token: "tok-orders", body: map[string]any{"app": 2, "records": []any{
		map[string]any{"id": 1, "action": "Approve"}, map[string]any{"id": 2, "action": "Submit", "assignee": "alice"}}}}))
	if js(r.obj(t)) != `{"records":[{"id":"1","revision":"5"},{"id":"2","revision":"3"}]}` {
		t.Fatalf("statuses: %s", r.body)
	}
	if got := js(valueOf(getRec(t, s, "2", "1"), "Assignee")); got != `[]` {
		t.Errorf("Approved has no assignee: %s", got)
	}
	// The action's filter: Approve needs amount <= 1000000.
	must(t, do(t, s, req{method: "PUT", path: "/k/v1/record.json", token: "tok-orders", body: map[string]any{"app": 2, "id": 2, "record": map[string]any{"amount": v(2000000)}}}))
	if r := do(t, s, req{method: "PUT", path: "/k/v1/record/status.json", token: "tok-orders", body: map[string]any{"app": 2, "id": 2, "action": "Approve"}}); r.code() != "GAIA_IL03" {
		t.Fatalf("filter: %s", r.body)
	}
	r = must(t, do(t, s, req{method: "PUT", path: "/k/v1/record/assignees.json", token: "tok-orders", body: map[string]any{"app": 2, "id": 2, "assignees": []string{"bob", "carol"}}}))
	if js(r.obj(t)) != `{"revision":"5"}` {
		t.Fatalf("assignees: %s", r.body)
	}
	// A bulk status update is atomic.
	before := js(getRec(t, s, "2", "3"))
	r = do(t, s, req{method: "PUT", path: "/k/v1/records/status.json", token: "tok-orders", body: map[string]any{"app": 2, "records": []any{
		map[string]any{"id": 3, "action": "Submit", "assignee": "alice"}, map[string]any{"id": 99, "action": "Submit"}}}})
	if r.code() != "GAIA_RE01" || js(getRec(t, s, "2", "3")) != before {
		t.Fatalf("bulk status not atomic: %s", r.body)
	}
}

// TestBulkRequest: requests run in order and see each other; a failure
// rolls everything back and reports its index in kintone's shape.
func TestBulkRequest(t *testing.T) {
	s := newSim(t)
	r := must(t, do(t, s, req{method: "POST", path: "/k/v1/bulkRequest.json", token: "tok-orders", body: map[string]any{"requests": []any{
		map[string]any{"method": "POST", "api": "/k/v1/record.json", "payload": map[string]any{"app": 2, "record": map[string]any{"title": v("b"), "amount": v(1)}}},
		map[string]any{"method": "PUT", "api": "/k/v1/record.json", "payload": map[string]any{"app": 2, "id": 4, "revision": 1, "record": map[string]any{"title": v("b2")}}},
		map[string]any{"method": "DELETE", "api": "/k/v1/records.json", "payload": map[string]any{"app": 2, "ids": []int{3}}},
	}}}))
	if js(r.obj(t)) != `{"results":[{"id":"4","revision":"1"},{"revision":"2"},{}]}` {
		t.Fatalf("bulk: %s", r.body)
	}
	before := js(ids(t, s, "", ""))
	r = do(t, s, req{method: "POST", path: "/k/v1/bulkRequest.json", token: "tok-orders", body: map[string]any{"requests": []any{
		map[string]any{"method": "DELETE", "api": "/k/v1/records.json", "payload": map[string]any{"app": 2, "ids": []int{4}}},
		map[string]any{"method": "PUT", "api": "/k/v1/record.json", "payload": map[string]any{"app": 2, "id": 1, "revision": 9}},
		map[string]any{"method": "DELETE", "api": "/k/v1/records.json", "payload": map[string]any{"app": 2, "ids": []int{1}}},
	}}})
	m := r.obj(t)
	res := m["results"].([]any)
	if r.status != 409 || len(res) != 3 || js(res[0]) != "{}" || js(res[2]) != "{}" || res[1].(map[string]any)["code"] != "GAIA_CO02" {
		t.Fatalf("failed bulk: %d %s", r.status, r.body)
	}
	if js(ids(t, s, "", "")) != before {
		t.Fatalf("failed bulk changed records")
	}
	for name, q := range map[string]req{
		"GET is not allowed": {method: "POST", path: "/k/v1/bulkRequest.json", token: "tok-orders", body: map[string]any{"requests": []any{
			map[string]any{"method": "GET", "api": "/k/v1/records.json", "payload": map[string]any{"app": 2}}}}},
		"more than 20": {method: "POST", path: "/k/v1/bulkRequest.json", token: "tok-orders", body: map[string]any{"requests": make([]any, 21)}},
	} {
		if r := do(t, s, q); r.status != 400 {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	// In a guest space every request stays in it.
	r = do(t, s, req{method: "POST", path: "/k/guest/7/v1/bulkRequest.json", token: "tok-docs,tok-orders", body: map[string]any{"requests": []any{
		map[string]any{"method": "POST", "api": "/k/guest/7/v1/record.json", "payload": map[string]any{"app": 3, "record": map[string]any{}}},
		map[string]any{"method": "POST", "api": "/k/v1/record.json", "payload": map[string]any{"app": 2, "record": map[string]any{}}},
	}}})
	if res := r.obj(t)["results"].([]any); r.status != 403 || res[1].(map[string]any)["code"] != "CB_NO02" {
		t.Fatalf("guest bulk: %d %s", r.status, r.body)
	}
}

// TestGuestSpacePaths: a guest-space app answers on its guest path.
func TestGuestSpacePaths(t *testing.T) {
	s := newSim(t)
	r := must(t, do(t, s, req{method: "GET", path: "/k/guest/7/v1/records.json?app=3", token: "tok-docs"}))
	if n := len(r.obj(t)["records"].([]any)); n != 1 {
		t.Fatalf("records: %s", r.body)
	}
	app := must(t, do(t, s, req{method: "GET", path: "/k/guest/7/v1/app.json?id=3", token: "tok-docs"})).obj(t)
	if app["spaceId"] != "7" || app["appId"] != "3" {
		t.Fatalf("app: %v", app)
	}
}

// TestAppSettings: app.json, apps.json, fields (with lang), layout and
// status as kintone shapes them.
func TestAppSettings(t *testing.T) {
	s := newSim(t)
	app := must(t, do(t, s, req{method: "GET", path: "/k/v1/app.json?id=1", token: "tok-cust"})).obj(t)
	if app["code"] != "CUST" || app["spaceId"] != nil || app["name"] != "Customers" {
		t.Fatalf("app.json: %v", app)
	}
	apps := must(t, do(t, s, req{method: "GET", path: "/k/v1/apps.json", token: "tok-orders,tok-cust"})).obj(t)["apps"].([]any)
	if len(apps) != 2 {
		t.Fatalf("a token sees only its apps: %s", js(apps))
	}
	apps = must(t, do(t, s, req{method: "GET", path: "/k/v1/apps.json?codes[0]=CUST", user: "alice"})).obj(t)["apps"].([]any)
	if len(apps) != 1 {
		t.Fatalf("codes filter: %s", js(apps))
	}
	f := must(t, do(t, s, req{method: "GET", path: "/k/v1/app/form/fields.json?app=2&lang=ja", token: "tok-orders"})).obj(t)
	props := f["properties"].(map[string]any)
	title := props["title"].(map[string]any)
	if title["maxLength"] != "100" || title["required"] != true || title["unique"] != false || f["revision"] != "1" {
		t.Fatalf("title property: %v", title)
	}
	if st := props["Status"].(map[string]any); st["enabled"] != true {
		t.Fatalf("Status property: %v", st)
	}
	if cat := props["Categories"].(map[string]any); cat["enabled"] != false {
		t.Fatalf("Categories property: %v", cat)
	}
	items := props["items"].(map[string]any)["fields"].(map[string]any)
	if items["kind"].(map[string]any)["options"].(map[string]any)["y"].(map[string]any)["index"] != "1" {
		t.Fatalf("subtable fields: %v", items)
	}
	if r := do(t, s, req{method: "GET", path: "/k/v1/app/form/fields.json?app=2&lang=xx", token: "tok-orders"}); r.code() != "CB_VA01" {
		t.Fatalf("bad lang: %s", r.body)
	}
	must(t, do(t, s, req{method: "GET", path: "/k/v1/preview/app/form/layout.json?app=2", token: "tok-orders"}))
	st := must(t, do(t, s, req{method: "GET", path: "/k/v1/app/status.json?app=2", token: "tok-orders"})).obj(t)
	if st["enable"] != true || st["states"].(map[string]any)["Submitted"].(map[string]any)["index"] != "1" || len(st["actions"].([]any)) != 4 {
		t.Fatalf("status: %s", js(st))
	}
	if st := must(t, do(t, s, req{method: "GET", path: "/k/v1/app/status.json?app=1", token: "tok-cust"})).obj(t); st["enable"] != false || st["states"] != nil {
		t.Fatalf("status off: %s", js(st))
	}
	recs, _ := s.Select(1, "", "")
	if _, ok := recs[0]["Status"]; ok {
		t.Errorf("an app without process management has no Status in records")
	}
}

// TestConcurrencyLimit: the headers on every answer, and 429 GAIA_TO04 once
// more requests run than the limit allows.
func TestConcurrencyLimit(t *testing.T) {
	s := newSim(t, WithConcurrencyLimit(1))
	hold := make(chan struct{})
	s.InjectFault(Fault{Path: "/k/v1/record.json", Hold: hold})
	done := make(chan reply)
	go func() {
		done <- do(t, s, req{method: "GET", path: "/k/v1/record.json?app=2&id=1", token: "tok-orders"})
	}()
	for s.Running() != 1 {
		time.Sleep(time.Millisecond) // wait for the first request to be held
	}
	r := do(t, s, req{method: "GET", path: "/k/v1/records.json?app=2", token: "tok-orders"})
	if r.status != 429 || r.code() != "GAIA_TO04" || r.header.Get("X-ConcurrencyLimit-Limit") != "1" || r.header.Get("X-ConcurrencyLimit-Running") != "2" {
		t.Fatalf("over the limit: %d %v %s", r.status, r.header, r.body)
	}
	close(hold)
	if first := <-done; first.status != 200 || first.header.Get("X-ConcurrencyLimit-Running") != "1" {
		t.Fatalf("held request: %d %v", first.status, first.header)
	}
}

// TestFaults: each kind of injected fault, from Go and from /_sim/.
func TestFaults(t *testing.T) {
	s := newSim(t, WithControl())
	srv := httptest.NewServer(s)
	defer srv.Close()
	get := func() (*http.Response, []byte, error) {
		req, _ := http.NewRequest("GET", srv.URL+"/k/v1/records.json?app=2", nil)
		req.Header.Set("X-Cybozu-API-Token", "tok-orders")
		req.Close = true // a fresh connection each time: Go retries a GET on a dropped reused one
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, b, err
	}
	s.InjectFault(Fault{Path: "/k/v1/records.json", Status: 500, Body: `{"code":"X"}`, Times: 2})
	for i := 0; i < 2; i++ {
		if resp, b, _ := get(); resp.StatusCode != 500 || string(b) != `{"code":"X"}` {
			t.Fatalf("fixed answer %d: %d %s", i, resp.StatusCode, b)
		}
	}
	if resp, _, _ := get(); resp.StatusCode != 200 {
		t.Fatalf("after N hits the fault is gone: %d", resp.StatusCode)
	}
	s.InjectFault(Fault{Maintenance: true})
	if resp, b, _ := get(); resp.StatusCode != 503 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || !bytes.Contains(b, []byte("maintenance")) {
		t.Fatalf("maintenance: %d %s", resp.StatusCode, b)
	}
	s.InjectFault(Fault{Drop: true})
	if _, _, err := get(); err == nil {
		t.Fatalf("a dropped connection answered")
	}
	s.InjectFault(Fault{Truncate: true})
	if _, b, _ := get(); !bytes.HasPrefix(b, []byte(`{"records":[`)) || jsonValid(b) {
		t.Fatalf("truncated: %s", b)
	}
	s.InjectFault(Fault{Malformed: true})
	if _, b, _ := get(); jsonValid(b) {
		t.Fatalf("malformed: %s", b)
	}
	// The control endpoint arms the same faults.
	resp, err := http.Post(srv.URL+"/_sim/faults", "application/json", strings.NewReader(`{"path":"/k/v1/records.json","status":418,"body":"teapot","contentType":"text/plain"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("control: %v", err)
	}
	if resp, b, _ := get(); resp.StatusCode != 418 || string(b) != "teapot" {
		t.Fatalf("controlled fault: %d %s", resp.StatusCode, b)
	}
	resp, _ = http.Get(srv.URL + "/_sim/counters")
	b, _ := io.ReadAll(resp.Body)
	if !bytes.Contains(b, []byte(`"2":`)) {
		t.Fatalf("counters: %s", b)
	}
}

func jsonValid(b []byte) bool {
	var v any
	return json.Unmarshal(b, &v) == nil
}

// TestControlIsOffByDefault: /_sim/ is an unknown API path unless enabled.
func TestControlIsOffByDefault(t *testing.T) {
	s := newSim(t)
	r := do(t, s, req{method: "GET", path: "/_sim/health"})
	if r.status == 200 {
		t.Fatalf("control answered without WithControl")
	}
}

// TestDailyCounters: requests are counted per app and day (from 09:00 JST).
func TestDailyCounters(t *testing.T) {
	s := newSim(t)
	now := fixedNow
	s.SetClock(func() time.Time { return now })
	for i := 0; i < 3; i++ {
		do(t, s, req{method: "GET", path: "/k/v1/records.json?app=2", token: "tok-orders"})
	}
	do(t, s, req{method: "GET", path: "/k/v1/records.json?app=1", token: "tok-cust"})
	if s.RequestCount(2) != 3 || s.RequestCount(1) != 1 {
		t.Fatalf("counts: %d %d", s.RequestCount(2), s.RequestCount(1))
	}
	now = time.Date(2024, 5, 16, 0, 0, 0, 0, time.UTC) // 09:00 JST the next day
	if s.RequestCount(2) != 0 {
		t.Fatalf("the day did not roll over")
	}
}

// TestBasicAuth: with basic auth in the seed, requests without it get 401.
func TestBasicAuth(t *testing.T) {
	seed, _ := LoadSeed("testdata/seed.json")
	seed.BasicAuth = &BasicAuth{User: "front", Password: "door"}
	s, err := New(seed)
	if err != nil {
		t.Fatal(err)
	}
	if r := do(t, s, req{method: "GET", path: "/k/v1/record.json?app=2&id=1", token: "tok-orders"}); r.status != 401 || r.header.Get("WWW-Authenticate") == "" {
		t.Fatalf("without basic: %d", r.status)
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("front:door"))
	must(t, do(t, s, req{method: "GET", path: "/k/v1/record.json?app=2&id=1", token: "tok-orders", header: map[string]string{"Authorization": basic}}))
}

// TestPersistence: Snapshot is a seed from which New continues where the
// server was: ids, revisions, rows, files, comments and the next id.
func TestPersistence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.json")
	s := newSim(t, WithPersistFile(path))
	w := httptest.NewRecorder()
	s.ServeHTTP(w, uploadReq(t, "a.txt", "content"))
	key := reply{body: w.Body.Bytes()}.obj(t)["fileKey"]
	must(t, do(t, s, req{method: "POST", path: "/k/v1/record.json", token: "tok-orders", body: map[string]any{"app": 2, "record": map[string]any{"title": v("p"), "amount": v(3), "attachment": v([]any{map[string]any{"fileKey": key}})}}}))
	must(t, do(t, s, req{method: "DELETE", path: "/k/v1/records.json?app=2&ids[0]=4", token: "tok-orders"}))
	must(t, do(t, s, req{method: "PUT", path: "/k/v1/record.json", token: "tok-orders", body: map[string]any{"app": 2, "id": 1, "record": map[string]any{"title": v("kept")}}}))
	must(t, do(t, s, req{method: "POST", path: "/k/v1/record/comment.json", token: "tok-orders", body: map[string]any{"app": 2, "record": 1, "comment": map[string]any{"text": "c", "mentions": []any{map[string]any{"code": "bob", "type": "USER"}}}}}))
	before, _ := s.Select(2, "", "")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	seed, err := LoadSeed(path)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := New(seed, WithClock(func() time.Time { return fixedNow.Add(time.Hour) }))
	if err != nil {
		t.Fatal(err)
	}
	after, _ := s2.Select(2, "", "")
	if js(after) != js(before) {
		t.Fatalf("records differ after reload:\n%s\n%s", js(before), js(after))
	}
	if got := must(t, do(t, s2, req{method: "POST", path: "/k/v1/record.json", token: "tok-orders", body: map[string]any{"app": 2, "record": map[string]any{"title": v("n"), "amount": v(1)}}})).obj(t)["id"]; got != "5" {
		t.Errorf("ids are reused after reload: %v", got)
	}
	c := must(t, do(t, s2, req{method: "GET", path: "/k/v1/record/comments.json?app=2&record=1", token: "tok-orders"})).obj(t)
	if cs := c["comments"].([]any); len(cs) != 1 || cs[0].(map[string]any)["text"] != "Bob Suzuki \nc" {
		t.Errorf("comments after reload: %s", js(c))
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}

// app/status.json lists the states by index, as kintone does, not by name.
func TestStatusListsStatesInIndexOrder(t *testing.T) {
	s := newSim(t)
	r := must(t, do(t, s, req{method: "GET", path: "/k/v1/app/status.json?app=2", token: "tok-orders"}))
	body := string(r.body)
	last := -1
	for _, name := range []string{`"Draft":`, `"Submitted":`, `"Approved":`, `"Rejected":`} {
		at := strings.Index(body, name)
		if at < last {
			t.Fatalf("%s comes before the state of a lower index: %s", name, body)
		}
		last = at
	}
}
