package api_test

import (
	"slices"
	"testing"

	"github.com/kgate/kgate/internal/testworld"
)

// TestReadParametersTakeTheFormsKintoneTakes sends each form of the read
// parameters (numbers as strings, strings as numbers, nulls, out of range)
// both through kgate and straight to the simulator, which mirrors kintone,
// and wants the same status and the same keys named in the errors.
func TestReadParametersTakeTheFormsKintoneTakes(t *testing.T) {
	staff := testworld.Identities["sam"]
	e := newAPIEnv(t, nil)
	const records, record, cursor = "/k/v1/records.json", "/k/v1/record.json", "/k/v1/records/cursor.json"
	tests := []struct {
		name         string
		method, path string
		body         string
		status       int
		keys         []string // the error's keys, for a 400
	}{
		{"app as a number", "GET", records, `{"app":10}`, 200, nil},
		{"app as a string", "GET", records, `{"app":"10"}`, 200, nil},
		{"app null", "GET", records, `{"app":null}`, 400, []string{"app"}},
		{"app missing", "GET", records, `{}`, 400, []string{"app"}},
		{"app not a number", "GET", records, `{"app":"ten"}`, 400, []string{"app"}},
		{"totalCount as a string", "GET", records, `{"app":10,"totalCount":"true"}`, 200, nil},
		{"totalCount null", "GET", records, `{"app":10,"totalCount":null}`, 200, nil},
		{"query null", "GET", records, `{"app":10,"query":null}`, 200, nil},
		{"limit 500 in the query", "GET", records, `{"app":10,"query":"limit 500"}`, 200, nil},
		{"limit 501 in the query", "GET", records, `{"app":10,"query":"limit 501"}`, 400, nil},
		{"offset 10000 in the query", "GET", records, `{"app":10,"query":"offset 10000"}`, 200, nil},
		{"offset 10001 in the query", "GET", records, `{"app":10,"query":"offset 10001"}`, 400, nil},
		{"id as a string", "GET", record, `{"app":10,"id":"1"}`, 200, nil},
		{"id as a number", "GET", record, `{"app":10,"id":1}`, 200, nil},
		{"id null", "GET", record, `{"app":10,"id":null}`, 400, []string{"id"}},
		{"id not a number", "GET", record, `{"app":10,"id":"one"}`, 400, []string{"id"}},
		{"size as a number", "POST", cursor, `{"app":10,"size":500}`, 200, nil},
		{"size as a string", "POST", cursor, `{"app":10,"size":"100"}`, 200, nil},
		{"size null", "POST", cursor, `{"app":10,"size":null}`, 200, nil},
		{"size 0", "POST", cursor, `{"app":10,"size":0}`, 400, []string{"size"}},
		{"size 501", "POST", cursor, `{"app":10,"size":501}`, 400, []string{"size"}},
		{"size not a number", "POST", cursor, `{"app":10,"size":"big"}`, 400, []string{"size"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.do(t, staff, tt.method, tt.path, tt.body, "Accept-Language", "en")
			sim := e.direct(t, tt.method, tt.path, tt.body, testworld.OrdersToken)
			if got.status != tt.status || sim.status != tt.status {
				t.Fatalf("kgate %d %s, simulator %d %s; want %d", got.status, got.raw, sim.status, sim.raw, tt.status)
			}
			if tt.keys != nil && (!slices.Equal(got.errorKeys(), tt.keys) || !slices.Equal(sim.errorKeys(), tt.keys)) {
				t.Fatalf("error keys: kgate %v, simulator %v; want %v", got.errorKeys(), sim.errorKeys(), tt.keys)
			}
			if tt.path == cursor && got.status == 200 {
				e.do(t, staff, "DELETE", cursor, `{"id":"`+got.body["id"].(string)+`"}`)
				e.direct(t, "DELETE", cursor, `{"id":"`+sim.body["id"].(string)+`"}`, testworld.OrdersToken)
			}
		})
	}
}
