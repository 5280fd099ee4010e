package kintonesim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fixedNow is the clock tests run at unless they move it.
var fixedNow = time.Date(2024, 5, 15, 3, 0, 0, 0, time.UTC) // Wed 12:00 JST

// newSim loads testdata/seed.json at fixedNow.
func newSim(t testing.TB, opts ...Option) *Server {
	t.Helper()
	seed, err := LoadSeed("testdata/seed.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(seed, append([]Option{WithClock(func() time.Time { return fixedNow })}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newSeeded builds a simulator from seed, given as JSON, at fixedNow.
func newSeeded(t testing.TB, seed string) *Server {
	t.Helper()
	sd, err := ParseSeed([]byte(seed))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(sd, WithClock(func() time.Time { return fixedNow }))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// reply is an answer as a test sees it.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// obj decodes the body as a JSON object.
func (r reply) obj(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

// code is the kintone error code of the answer ("" on success).
func (r reply) code() string {
	var m struct{ Code string }
	json.Unmarshal(r.body, &m)
	return m.Code
}

// req is one request: method, path, auth, body and extra headers.
type req struct {
	method, path string
	token        string // X-Cybozu-API-Token
	user         string // X-Cybozu-Authorization login (password is login+"-pw")
	body         any    // JSON-encoded unless []byte or string
	header       map[string]string
}

func do(t testing.TB, h http.Handler, q req) reply {
	t.Helper()
	var body *bytes.Reader
	switch b := q.body.(type) {
	case nil:
		body = bytes.NewReader(nil)
	case []byte:
		body = bytes.NewReader(b)
	case string:
		body = bytes.NewReader([]byte(b))
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(j)
	}
	r := httptest.NewRequest(q.method, q.path, body)
	if q.body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if q.token != "" {
		r.Header.Set("X-Cybozu-API-Token", q.token)
	}
	if q.user != "" {
		r.Header.Set("X-Cybozu-Authorization", base64.StdEncoding.EncodeToString([]byte(q.user+":"+q.user+"-pw")))
	}
	r.Header.Set("Accept-Language", "en")
	for k, v := range q.header {
		if v == "" {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, v)
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return reply{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
}

// must fails the test unless the answer is 200.
func must(t testing.TB, r reply) reply {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	return r
}

// valueOf reads the value of a field of a record in a decoded answer.
func valueOf(rec any, code string) any {
	m, _ := rec.(map[string]any)
	f, _ := m[code].(map[string]any)
	return f["value"]
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func contains2(s, sub string) bool { return strings.Contains(s, sub) }
