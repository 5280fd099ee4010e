package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/api"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/testworld"
)

// apiEnv serves kintone's API through kgate over the write world.
type apiEnv struct {
	h     *api.Handler
	world *testworld.World
}

func newAPIEnv(t testing.TB, tune func(*api.Handler)) *apiEnv {
	t.Helper()
	w := testworld.StartWrites(t, 10)
	eng, err := policy.Open(context.Background(), policy.Options{Dir: w.PolicyDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	client, err := kintone.NewClient(kintone.Config{BaseURL: w.URL})
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(gateway.Config{Client: client, Policy: eng, Apps: testworld.WriteApps()})
	if err != nil {
		t.Fatal(err)
	}
	h := &api.Handler{GW: gw}
	if tune != nil {
		tune(h)
	}
	return &apiEnv{h: h, world: w}
}

var alice = testworld.Identities["alice"]

type answer struct {
	status int
	body   map[string]any
	raw    []byte
}

// do sends one API request as id.
func (e *apiEnv) do(t testing.TB, id *identity.Identity, method, path, body string, header ...string) answer {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	e.h.Serve(rec, r, id)
	return decodeAnswer(t, rec.Code, rec.Body.Bytes())
}

func decodeAnswer(t testing.TB, status int, raw []byte) answer {
	t.Helper()
	a := answer{status: status, raw: raw}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Fatalf("answer %d is not JSON: %s", status, raw)
	}
	return a
}

// direct sends the same request to the simulator with the app's token.
func (e *apiEnv) direct(t testing.TB, method, path, body, token string) answer {
	t.Helper()
	r, _ := http.NewRequest(method, e.world.URL+path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Cybozu-API-Token", token)
	r.Header.Set("Accept-Language", "en")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return decodeAnswer(t, resp.StatusCode, raw)
}

func (a answer) errorKeys() []string {
	errs, _ := a.body["errors"].(map[string]any)
	var keys []string
	for k := range errs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestBadWriteRequestsAreAnsweredAsKintoneAnswersThem(t *testing.T) {
	e := newAPIEnv(t, nil)
	for _, c := range []struct {
		name, method, path, body string
	}{
		{"malformed JSON", "POST", "/k/v1/record.json", `{"app": 20, "record": {`},
		{"a record that is no object", "POST", "/k/v1/record.json", `{"app": 20, "record": [1]}`},
		{"a field that is no object", "POST", "/k/v1/record.json", `{"app": 20, "record": {"title": "x"}}`},
		{"an app that is no number", "POST", "/k/v1/record.json", `{"app": "twenty", "record": {}}`},
		{"records that are no array", "POST", "/k/v1/records.json", `{"app": 20, "records": {"a": 1}}`},
		{"records missing", "POST", "/k/v1/records.json", `{"app": 20}`},
		{"id and updateKey", "PUT", "/k/v1/record.json", `{"app": 20, "id": 1, "updateKey": {"field": "ref", "value": "A-1"}, "record": {}}`},
		{"a revision below -1", "PUT", "/k/v1/record.json", `{"app": 20, "id": 1, "revision": -2, "record": {}}`},
		{"an upsert that is no boolean", "PUT", "/k/v1/records.json", `{"app": 20, "upsert": "yes", "records": []}`},
		{"no ids to delete", "DELETE", "/k/v1/records.json", `{"app": 20, "ids": []}`},
		{"an id that is no number", "DELETE", "/k/v1/records.json", `{"app": 20, "ids": ["x"]}`},
		{"a comment that is no object", "POST", "/k/v1/record/comment.json", `{"app": 20, "record": 1, "comment": "hi"}`},
		{"assignees that are no array", "PUT", "/k/v1/record/assignees.json", `{"app": 20, "id": 1, "assignees": {"a": 1}}`},
		{"requests that are no array", "POST", "/k/v1/bulkRequest.json", `{"requests": {}}`},
		{"too many requests", "POST", "/k/v1/bulkRequest.json", `{"requests": [` + strings.TrimSuffix(strings.Repeat(`{"method":"DELETE","api":"/k/v1/records.json","payload":{"app":20,"ids":[999]}},`, 21), ",") + `]}`},
		{"an item that is no object", "PUT", "/k/v1/records.json", `{"app": 20, "records": [1]}`},
		{"a status without action", "PUT", "/k/v1/record/status.json", `{"app": 20, "id": 1}`},
		{"a status without id", "PUT", "/k/v1/record/status.json", `{"app": 20, "action": "Submit"}`},
		{"a comment without record", "POST", "/k/v1/record/comment.json", `{"app": 20, "comment": {"text": "x"}}`},
		{"an updateKey that is no object", "PUT", "/k/v1/record.json", `{"app": 20, "updateKey": "ref", "record": {}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := e.do(t, alice, c.method, c.path, c.body)
			want := e.direct(t, c.method, c.path, c.body, testworld.BudgetToken)
			if got.status != want.status || got.body["code"] != want.body["code"] || !reflect.DeepEqual(got.errorKeys(), want.errorKeys()) {
				t.Errorf("kgate %d %v %v, kintone %d %v %v", got.status, got.body["code"], got.errorKeys(), want.status, want.body["code"], want.errorKeys())
			}
		})
	}
}

func TestWriteEndpointsAnswerInKintonesShape(t *testing.T) {
	e := newAPIEnv(t, nil)
	add := e.do(t, alice, "POST", "/k/v1/record.json", `{"app": "20", "record": {"title": {"value": "through the API"}, "amount": {"value": 12}}}`)
	if add.status != 200 || add.body["revision"] != "1" || add.body["id"] == nil {
		t.Fatalf("add: %d %s", add.status, add.raw)
	}
	id := add.body["id"].(string)
	// X-HTTP-Method-Override turns a POST into the PUT it carries.
	put := e.do(t, alice, "POST", "/k/v1/record.json", `{"app": 20, "id": `+id+`, "revision": 1, "record": {"purpose": {"value": "p"}}}`,
		"X-HTTP-Method-Override", "PUT")
	if put.status != 200 || !reflect.DeepEqual(put.body, map[string]any{"revision": "2"}) {
		t.Errorf("update: %d %s", put.status, put.raw)
	}
	many := e.do(t, alice, "POST", "/k/v1/records.json", `{"app": 20, "records": [{"title": {"value": "a"}}, {"title": {"value": "b"}}]}`)
	if ids, _ := many.body["ids"].([]any); many.status != 200 || len(ids) != 2 {
		t.Fatalf("add records: %d %s", many.status, many.raw)
	}
	upsert := e.do(t, alice, "PUT", "/k/v1/records.json", `{"app": 20, "upsert": true, "records": [
		{"updateKey": {"field": "ref", "value": "A-1"}, "record": {"amount": {"value": "7"}}},
		{"updateKey": {"field": "ref", "value": "API-1"}, "record": {"title": {"value": "upserted"}}}]}`)
	recs, _ := upsert.body["records"].([]any)
	if upsert.status != 200 || len(recs) != 2 || recs[0].(map[string]any)["operation"] != "UPDATE" || recs[1].(map[string]any)["operation"] != "INSERT" {
		t.Errorf("upsert: %d %s", upsert.status, upsert.raw)
	}
	// DELETE with the parameters in the URL, as the official client sends it.
	del := e.do(t, alice, "DELETE", "/k/v1/records.json?app=20&ids%5B0%5D="+id+"&revisions%5B0%5D=2", "")
	if del.status != 200 || len(del.body) != 0 {
		t.Errorf("delete: %d %s", del.status, del.raw)
	}
	st := e.do(t, alice, "PUT", "/k/v1/record/status.json", `{"app": 20, "id": 2, "action": "Submit"}`)
	if st.status != 200 || st.body["revision"] != "3" {
		t.Errorf("status: %d %s", st.status, st.raw)
	}
	cm := e.do(t, alice, "POST", "/k/v1/record/comment.json", `{"app": 20, "record": 1, "comment": {"text": "hi", "mentions": [{"code": "boss", "type": "USER"}]}}`)
	if cm.status != 200 || cm.body["id"] == nil {
		t.Fatalf("comment: %d %s", cm.status, cm.raw)
	}
	dc := e.do(t, alice, "DELETE", "/k/v1/record/comment.json", `{"app": 20, "record": 1, "comment": "`+cm.body["id"].(string)+`"}`)
	if dc.status != 200 {
		t.Errorf("delete comment: %d %s", dc.status, dc.raw)
	}
	denied := e.do(t, alice, "PUT", "/k/v1/record.json", `{"app": 20, "id": 1, "record": {"approved_amount": {"value": "1"}}}`)
	if denied.status != 403 || denied.body["code"] != "CB_NO02" || !reflect.DeepEqual(denied.errorKeys(), []string{"record.approved_amount.value"}) {
		t.Errorf("forbidden field: %d %s", denied.status, denied.raw)
	}
	guest := e.do(t, alice, "PUT", "/k/guest/7/v1/record.json", `{"app": 21, "id": 1, "record": {"note": {"value": "n"}}}`)
	if guest.status != 200 {
		t.Errorf("guest-space update: %d %s", guest.status, guest.raw)
	}
}

func TestBulkRequestAnswersInKintonesBulkShape(t *testing.T) {
	e := newAPIEnv(t, nil)
	ok := e.do(t, alice, "POST", "/k/v1/bulkRequest.json", `{"requests": [
		{"method": "POST", "api": "/k/v1/record.json", "payload": {"app": 20, "record": {"title": {"value": "bulk"}}}},
		{"method": "PUT", "api": "/k/guest/7/v1/record.json", "payload": {"app": 21, "id": 1, "record": {"note": {"value": "bulk"}}}}]}`)
	results, _ := ok.body["results"].([]any)
	if ok.status != 200 || len(results) != 2 || results[1].(map[string]any)["revision"] != "2" {
		t.Fatalf("bulk: %d %s", ok.status, ok.raw)
	}
	for _, c := range []struct {
		name, body string
		status     int
		index      int
		code       string
	}{
		{"a record the member may not see", `{"requests": [
			{"method": "POST", "api": "/k/v1/record.json", "payload": {"app": 20, "record": {"title": {"value": "x"}}}},
			{"method": "PUT", "api": "/k/v1/record.json", "payload": {"app": 20, "id": 4, "record": {"title": {"value": "x"}}}}]}`,
			404, 1, "GAIA_RE01"},
		{"an API bulkRequest does not take", `{"requests": [
			{"method": "GET", "api": "/k/v1/records.json", "payload": {"app": 20}}]}`,
			400, 0, "CB_VA01"},
		{"a payload that is no object", `{"requests": [
			{"method": "POST", "api": "/k/v1/record.json", "payload": {"app": 20, "record": {"title": {"value": "x"}}}},
			{"method": "POST", "api": "/k/v1/record.json", "payload": 3}]}`,
			400, 1, "CB_IJ01"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := e.do(t, alice, "POST", "/k/v1/bulkRequest.json", c.body)
			results, _ := got.body["results"].([]any)
			if got.status != c.status || c.index >= len(results) {
				t.Fatalf("%d %s", got.status, got.raw)
			}
			for i, r := range results {
				m := r.(map[string]any)
				if (i == c.index) != (len(m) > 0) || (i == c.index && m["code"] != c.code) {
					t.Errorf("results[%d] = %v, want %s at %d and {} elsewhere", i, m, c.code, c.index)
				}
			}
		})
	}
}

func multipartBody(t testing.TB, name, content string) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(fw, content)
	mw.Close()
	return mw.FormDataContentType(), &buf
}

func (e *apiEnv) upload(t testing.TB, id *identity.Identity, path, name, content string) answer {
	t.Helper()
	ct, body := multipartBody(t, name, content)
	r := httptest.NewRequest("POST", path, body)
	r.Header.Set("Content-Type", ct)
	rec := httptest.NewRecorder()
	e.h.Serve(rec, r, id)
	return decodeAnswer(t, rec.Code, rec.Body.Bytes())
}

func TestFilesAreUploadedAttachedAndDownloadedThroughTokens(t *testing.T) {
	e := newAPIEnv(t, func(h *api.Handler) { h.MaxUpload = 1024 })
	up := e.upload(t, alice, "/k/v1/file.json", "report.txt", "quarterly report")
	tok, _ := up.body["fileKey"].(string)
	if up.status != 200 || tok == "" {
		t.Fatalf("upload: %d %s", up.status, up.raw)
	}
	add := e.do(t, alice, "POST", "/k/v1/record.json", `{"app": 20, "record": {"title": {"value": "with report"}, "attachment": {"value": [{"fileKey": "`+tok+`"}]}}}`)
	if add.status != 200 {
		t.Fatalf("attach: %d %s", add.status, add.raw)
	}
	got := e.do(t, alice, "GET", "/k/v1/record.json?app=20&id="+add.body["id"].(string), "")
	files := got.body["record"].(map[string]any)["attachment"].(map[string]any)["value"].([]any)
	key := files[0].(map[string]any)["fileKey"].(string)
	r := httptest.NewRequest("GET", "/k/v1/file.json?fileKey="+key, nil)
	rec := httptest.NewRecorder()
	e.h.Serve(rec, r, alice)
	if rec.Code != 200 || rec.Body.String() != "quarterly report" {
		t.Errorf("download: %d %q", rec.Code, rec.Body.String())
	}
	big := e.upload(t, alice, "/k/v1/file.json", "big.bin", strings.Repeat("x", 2048))
	if big.status != http.StatusRequestEntityTooLarge || big.body["code"] != "CB_IL02" {
		t.Errorf("oversized upload: %d %s", big.status, big.raw)
	}
	plain := e.do(t, alice, "POST", "/k/v1/file.json", `{"file": "x"}`)
	if plain.status != 400 || plain.body["code"] != "CB_IL02" {
		t.Errorf("upload without multipart: %d %s", plain.status, plain.raw)
	}
}

func TestOversizedJSONBodiesAreRefused(t *testing.T) {
	e := newAPIEnv(t, func(h *api.Handler) { h.MaxBody = 64 })
	got := e.do(t, alice, "POST", "/k/v1/record.json", `{"app": 20, "record": {"title": {"value": "`+strings.Repeat("x", 100)+`"}}}`)
	if got.status != http.StatusRequestEntityTooLarge {
		t.Errorf("%d %s", got.status, got.raw)
	}
}

// kintone takes null (or -1) for "any revision" at any place of revisions,
// as the official client's deleteAllRecords sends; anything that is no
// revision is refused and deletes nothing.
func TestDeleteRecordsTakesTheRevisionsKintoneTakes(t *testing.T) {
	tests := []struct {
		name      string
		revisions string // the JSON of revisions for the records 1 and 2
		status    int
	}{
		{"null for each", `[null, null]`, 200},
		{"-1 and null", `[-1, null]`, 200},
		{"numbers as strings", `["1", "1"]`, 200},
		{"a revision that is no number", `["x", null]`, 400},
		{"a revision below -1", `[-2, null]`, 400},
		{"an object for a revision", `[{}, null]`, 400},
		{"revisions that are no list", `"1"`, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newAPIEnv(t, nil)
			add := e.do(t, alice, "POST", "/k/v1/records.json", `{"app": 20, "records": [{"title": {"value": "a"}}, {"title": {"value": "b"}}]}`)
			ids, _ := add.body["ids"].([]any)
			if add.status != 200 || len(ids) != 2 {
				t.Fatalf("add: %d %s", add.status, add.raw)
			}
			del := e.do(t, alice, "DELETE", "/k/v1/records.json",
				`{"app": 20, "ids": ["`+ids[0].(string)+`", "`+ids[1].(string)+`"], "revisions": `+tt.revisions+`}`)
			if del.status != tt.status {
				t.Fatalf("delete: %d %s, want %d", del.status, del.raw, tt.status)
			}
			left := e.do(t, alice, "GET", "/k/v1/record.json?app=20&id="+ids[0].(string), "")
			if gone := left.status == 404; gone != (tt.status == 200) {
				t.Errorf("after the delete answered %d, reading the record answers %d", del.status, left.status)
			}
		})
	}
}
