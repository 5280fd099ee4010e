package kintonesim

import (
	"bytes"
	"mime/multipart"
	"net/http/httptest"
	"testing"
)

// TestErrorTable produces each error of the reference's error table that
// concerns the simulated endpoints, in its documented situation, and checks
// the status, the code, the body shape and (for validation errors) the key.
func TestErrorTable(t *testing.T) {
	orders := "/k/v1/records.json"
	tests := []struct {
		name   string
		req    req
		status int
		code   string
		key    string // an entry expected in "errors"
	}{
		{"CB_VA01 missing app", req{method: "GET", path: "/k/v1/records.json", token: "tok-orders"}, 400, "CB_VA01", "app"},
		{"CB_VA01 record validation", req{method: "POST", path: "/k/v1/record.json", token: "tok-orders", body: map[string]any{"app": 2, "record": map[string]any{"amount": map[string]any{"value": "1"}}}}, 400, "CB_VA01", "record.title.value"},
		{"CB_VA01 query syntax", req{method: "GET", path: "/k/v1/records.json?app=2&query=title%20%3D", token: "tok-orders"}, 400, "CB_VA01", "query"},
		{"CB_VA01 negative offset", req{method: "GET", path: orders, token: "tok-orders", body: map[string]any{"app": 2, "query": "offset -1"}}, 400, "CB_VA01", "query"},
		{"CB_VA01 more than 100 records", req{method: "POST", path: orders, token: "tok-orders", body: map[string]any{"app": 2, "records": make([]map[string]any, 101)}}, 400, "CB_VA01", "records"},
		{"CB_VA01 totalCount not boolean", req{method: "GET", path: "/k/v1/records.json?app=2&totalCount=yes", token: "tok-orders"}, 400, "CB_VA01", "totalCount"},
		{"CB_VA01 revision below -1", req{method: "PUT", path: "/k/v1/record.json", token: "tok-orders", body: map[string]any{"app": 2, "id": 1, "revision": -2}}, 400, "CB_VA01", "revision"},
		{"CB_IJ01 malformed JSON", req{method: "POST", path: "/k/v1/record.json", token: "tok-orders", body: []byte(`{"app": 2,`)}, 400, "CB_IJ01", ""},
		{"CB_IJ01 not an object", req{method: "POST", path: "/k/v1/record.json", token: "tok-orders", body: []byte(`[1]`)}, 400, "CB_IJ01", ""},
		{"CB_IL02 not multipart", req{method: "POST", path: "/k/v1/file.json", token: "tok-orders", body: "plain"}, 400, "CB_IL02", ""},
		{"CB_AU01 no credentials", req{method: "GET", path: "/k/v1/record.json?app=2&id=1"}, 401, "CB_AU01", ""},
		{"CB_WA01 wrong password", req{method: "GET", path: "/k/v1/record.json?app=2&id=1", header: map[string]string{"X-Cybozu-Authorization": "YWxpY2U6d3Jvbmc="}}, 401, "CB_WA01", ""},
		{"CB_NO02 user without permission", req{method: "GET", path: "/k/v1/record.json?app=2&id=1", user: "carol"}, 403, "CB_NO02", ""},
		{"CB_NO02 user without the right", req{method: "DELETE", path: "/k/v1/records.json?app=2&ids[0]=1", user: "bob"}, 403, "CB_NO02", ""},
		{"CB_NO02 app outside the guest space", req{method: "GET", path: "/k/guest/7/v1/record.json?app=2&id=1", token: "tok-orders"}, 403, "CB_NO02", ""},
		{"CB_NO02 wrong guest space", req{method: "GET", path: "/k/guest/8/v1/record.json?app=3&id=1", token: "tok-docs"}, 403, "CB_NO02", ""},
		{"GAIA_IA02 unknown token", req{method: "GET", path: "/k/v1/record.json?app=2&id=1", token: "nope"}, 400, "GAIA_IA02", ""},
		{"GAIA_IA02 undeployed token", req{method: "GET", path: "/k/v1/record.json?app=1&id=1", token: "tok-cust-undeployed"}, 400, "GAIA_IA02", ""},
		{"GAIA_IA02 one of several bad", req{method: "GET", path: "/k/v1/record.json?app=2&id=1", token: "tok-orders,nope"}, 400, "GAIA_IA02", ""},
		{"GAIA_NO01 token lacks the permission", req{method: "DELETE", path: "/k/v1/records.json?app=2&ids[0]=1", token: "tok-orders-ro"}, 403, "GAIA_NO01", ""},
		{"GAIA_NO01 token of another app", req{method: "GET", path: "/k/v1/record.json?app=2&id=1", token: "tok-cust"}, 403, "GAIA_NO01", ""},
		{"GAIA_DA03 two tokens of one app", req{method: "GET", path: "/k/v1/record.json?app=2&id=1", token: "tok-orders,tok-orders-ro"}, 400, "GAIA_DA03", ""},
		{"GAIA_RE01 record not found", req{method: "GET", path: "/k/v1/record.json?app=2&id=99", token: "tok-orders"}, 404, "GAIA_RE01", ""},
		{"GAIA_RE20 updateKey matches nothing", req{method: "PUT", path: "/k/v1/record.json", token: "tok-cust", body: map[string]any{"app": 1, "updateKey": map[string]any{"field": "name", "value": "Nobody"}, "record": map[string]any{}}}, 404, "GAIA_RE20", ""},
		{"GAIA_IQ27 updateKey not unique", req{method: "PUT", path: "/k/v1/record.json", token: "tok-cust", body: map[string]any{"app": 1, "updateKey": map[string]any{"field": "tier", "value": "gold"}}}, 400, "GAIA_IQ27", ""},
		{"GAIA_AP01 app not found", req{method: "GET", path: "/k/v1/records.json?app=99", token: "tok-orders"}, 404, "GAIA_AP01", ""},
		{"GAIA_BL01 unknown file", req{method: "GET", path: "/k/v1/file.json?fileKey=nope", token: "tok-orders"}, 404, "GAIA_BL01", ""},
		{"GAIA_BL01 unknown key written", req{method: "POST", path: "/k/v1/record.json", token: "tok-orders", body: map[string]any{"app": 2, "record": map[string]any{"title": map[string]any{"value": "x"}, "amount": map[string]any{"value": "1"}, "attachment": map[string]any{"value": []any{map[string]any{"fileKey": "nope"}}}}}}, 404, "GAIA_BL01", ""},
		{"GAIA_RE02 comment not found", req{method: "DELETE", path: "/k/v1/record/comment.json", token: "tok-orders", body: map[string]any{"app": 2, "record": 1, "comment": 42}}, 400, "GAIA_RE02", ""},
		{"GAIA_CO02 stale revision", req{method: "PUT", path: "/k/v1/record.json", token: "tok-orders", body: map[string]any{"app": 2, "id": 1, "revision": 7}}, 409, "GAIA_CO02", ""},
		{"GAIA_CO02 stale delete", req{method: "DELETE", path: "/k/v1/records.json?app=2&ids[0]=1&revisions[0]=5", token: "tok-orders"}, 409, "GAIA_CO02", ""},
		{"GAIA_QU01 limit over 500", req{method: "GET", path: orders, token: "tok-orders", body: map[string]any{"app": 2, "query": "limit 501"}}, 400, "GAIA_QU01", ""},
		{"GAIA_QU02 offset over 10000", req{method: "GET", path: orders, token: "tok-orders", body: map[string]any{"app": 2, "query": "offset 10001"}}, 400, "GAIA_QU02", ""},
		{"GAIA_IQ11 unknown field in query", req{method: "GET", path: orders, token: "tok-orders", body: map[string]any{"app": 2, "query": `nope = "x"`}}, 400, "GAIA_IQ11", ""},
		{"GAIA_IQ11 unknown order by field", req{method: "GET", path: orders, token: "tok-orders", body: map[string]any{"app": 2, "query": `order by nope asc`}}, 400, "GAIA_IQ11", ""},
		{"GAIA_IQ11 unknown updateKey field", req{method: "PUT", path: "/k/v1/record.json", token: "tok-cust", body: map[string]any{"app": 1, "updateKey": map[string]any{"field": "nope", "value": "x"}}}, 400, "GAIA_IQ11", ""},
		{"GAIA_IQ03 operator not allowed", req{method: "GET", path: orders, token: "tok-orders", body: map[string]any{"app": 2, "query": `memo = "x"`}}, 400, "GAIA_IQ03", ""},
		{"GAIA_IQ07 = on a subtable field", req{method: "GET", path: orders, token: "tok-orders", body: map[string]any{"app": 2, "query": `item = "pen"`}}, 400, "GAIA_IQ07", ""},
		{"GAIA_IQ10 not an option", req{method: "GET", path: orders, token: "tok-orders", body: map[string]any{"app": 2, "query": `tier in ("bronze")`}}, 400, "GAIA_IQ10", ""},
		{"GAIA_IQ23 bad day", req{method: "GET", path: orders, token: "tok-orders", body: map[string]any{"app": 2, "query": `due = THIS_MONTH(32)`}}, 400, "GAIA_IQ23", ""},
		{"GAIA_IQ25 bad unit", req{method: "GET", path: orders, token: "tok-orders", body: map[string]any{"app": 2, "query": `due = FROM_TODAY(1, HOURS)`}}, 400, "GAIA_IQ25", ""},
		{"GAIA_IL08 argument count", req{method: "GET", path: orders, token: "tok-orders", body: map[string]any{"app": 2, "query": `due = TODAY(1)`}}, 400, "GAIA_IL08", ""},
		{"GAIA_IL23 guest app on the normal path", req{method: "GET", path: "/k/v1/record.json?app=3&id=1", token: "tok-docs"}, 400, "GAIA_IL23", ""},
		{"GAIA_LO04 lookup key not found", req{method: "POST", path: "/k/v1/record.json", token: "tok-orders,tok-cust", body: map[string]any{"app": 2, "record": map[string]any{"title": map[string]any{"value": "x"}, "amount": map[string]any{"value": "1"}, "customer": map[string]any{"value": "Nobody"}}}}, 400, "GAIA_LO04", ""},
		{"GAIA_LO04 no permission on the source app", req{method: "POST", path: "/k/v1/record.json", token: "tok-orders", body: map[string]any{"app": 2, "record": map[string]any{"title": map[string]any{"value": "x"}, "amount": map[string]any{"value": "1"}, "customer": map[string]any{"value": "Acme"}}}}, 400, "GAIA_LO04", ""},
		{"GAIA_UN10 writing the creator on update", req{method: "PUT", path: "/k/v1/record.json", token: "tok-orders", body: map[string]any{"app": 2, "id": 1, "record": map[string]any{"Created_by": map[string]any{"value": map[string]any{"code": "bob"}}}}}, 400, "GAIA_UN10", ""},
		{"GAIA_UN10 writing the status", req{method: "PUT", path: "/k/v1/record.json", token: "tok-orders", body: map[string]any{"app": 2, "id": 1, "record": map[string]any{"Status": map[string]any{"value": "Approved"}}}}, 400, "GAIA_UN10", ""},
		{"GAIA_BF02 creator on add without app management", req{method: "POST", path: "/k/v1/record.json", token: "tok-orders", body: map[string]any{"app": 2, "record": map[string]any{"title": map[string]any{"value": "x"}, "amount": map[string]any{"value": "1"}, "Created_by": map[string]any{"value": map[string]any{"code": "bob"}}}}}, 403, "GAIA_BF02", ""},
		{"GAIA_IL03 action not from this state", req{method: "PUT", path: "/k/v1/record/status.json", token: "tok-orders", body: map[string]any{"app": 2, "id": 1, "action": "Approve"}}, 400, "GAIA_IL03", ""},
		{"GAIA_ST02 process management off", req{method: "PUT", path: "/k/v1/record/status.json", token: "tok-cust", body: map[string]any{"app": 1, "id": 1, "action": "Submit"}}, 400, "GAIA_ST02", ""},
		{"GAIA_NT01 caller is not the assignee", req{method: "PUT", path: "/k/v1/record/status.json", user: "bob", body: map[string]any{"app": 2, "id": 1, "action": "Submit", "assignee": "alice"}}, 400, "GAIA_NT01", ""},
		{"GAIA_SA01 assignee missing", req{method: "PUT", path: "/k/v1/record/status.json", token: "tok-orders", body: map[string]any{"app": 2, "id": 1, "action": "Submit"}}, 400, "GAIA_SA01", ""},
		{"GAIA_SA04 assignee not allowed", req{method: "PUT", path: "/k/v1/record/status.json", token: "tok-orders", body: map[string]any{"app": 2, "id": 1, "action": "Submit", "assignee": "carol"}}, 400, "GAIA_SA04", ""},
		{"GAIA_RE12 comments disabled", req{method: "GET", path: "/k/v1/record/comments.json?app=4&record=1", token: "tok-quiet"}, 400, "GAIA_RE12", ""},
		{"GAIA_IL26 unknown user", req{method: "PUT", path: "/k/v1/record/assignees.json", token: "tok-orders", body: map[string]any{"app": 2, "id": 1, "assignees": []string{"nobody"}}}, 400, "GAIA_IL26", ""},
		{"GAIA_CU01 unknown cursor", req{method: "GET", path: "/k/v1/records/cursor.json?id=nope", token: "tok-orders"}, 400, "GAIA_CU01", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(t)
			r := do(t, s, tt.req)
			if r.status != tt.status || r.code() != tt.code {
				t.Fatalf("got %d %s, want %d %s: %s", r.status, r.code(), tt.status, tt.code, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			m := r.obj(t)
			if id, _ := m["id"].(string); id == "" || m["message"] == "" {
				t.Errorf("no id or message: %s", r.body)
			}
			if tt.key != "" {
				errs, _ := m["errors"].(map[string]any)
				if _, ok := errs[tt.key]; !ok {
					t.Errorf("no errors[%q]: %s", tt.key, r.body)
				}
			}
		})
	}
}

// TestErrorBadMultipart: an upload without a "file" part is CB_IL02.
func TestErrorBadMultipart(t *testing.T) {
	s := newSim(t)
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("other", "x")
	mw.Close()
	r := httptest.NewRequest("POST", "/k/v1/file.json", &b)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	r.Header.Set("X-Cybozu-API-Token", "tok-orders")
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != 400 || !bytes.Contains(w.Body.Bytes(), []byte("CB_IL02")) {
		t.Fatalf("got %d %s", w.Code, w.Body)
	}
}

// TestErrorMessagesFollowTheLanguage: Accept-Language picks ja or en; a
// user's own language setting wins over it.
func TestErrorMessagesFollowTheLanguage(t *testing.T) {
	s := newSim(t)
	tests := []struct {
		lang, user, want string
	}{
		{"ja", "", "指定したレコード（id: 99）が見つかりません。"},
		{"en", "", "The specified record (ID: 99) is not found."},
		{"en", "bob", "指定したレコード（id: 99）が見つかりません。"}, // bob's language is ja
	}
	for _, tt := range tests {
		q := req{method: "GET", path: "/k/v1/record.json?app=2&id=99", token: "tok-orders", header: map[string]string{"Accept-Language": tt.lang}}
		if tt.user != "" {
			q.token, q.user = "", tt.user
		}
		m := do(t, s, q).obj(t)
		if m["message"] != tt.want {
			t.Errorf("%s/%s: message %q, want %q", tt.lang, tt.user, m["message"], tt.want)
		}
	}
}
