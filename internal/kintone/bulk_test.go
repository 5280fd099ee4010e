package kintone

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestBulkFailureIsReportedWithTheIndexKintoneNamed(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusConflict)
		w.Write([]byte(`{"results":[{},{"code":"GAIA_CO02","id":"x","message":"stale"},{}]}`))
	}, nil)
	_, err := c.Do(context.Background(), Request{Method: "POST", API: "bulkRequest.json", Body: map[string]any{}})
	var be *BulkError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v, want a *BulkError", err)
	}
	if be.Index != 1 || be.Err.Code != "GAIA_CO02" || be.Err.Status != http.StatusConflict {
		t.Errorf("BulkError = %d %+v, want index 1, GAIA_CO02, 409", be.Index, be.Err)
	}
	var ke *Error
	if !errors.As(err, &ke) || ke.Code != "GAIA_CO02" {
		t.Errorf("errors.As(*Error) = %v, want the inner kintone error", ke)
	}
	body, _ := be.Body(3)
	var back struct{ Results []map[string]any }
	json.Unmarshal(body, &back)
	if len(back.Results) != 3 || len(back.Results[0]) != 0 || back.Results[1]["code"] != "GAIA_CO02" || len(back.Results[2]) != 0 {
		t.Errorf("Body(3) = %s, want the failing slot at index 1 and empty others", body)
	}
}

func TestAnErrorBodyWithoutACodeIsNoBulkError(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"results":[{},{}]}`))
	}, nil)
	_, err := c.Do(context.Background(), Request{Method: "POST", API: "bulkRequest.json", Body: map[string]any{}})
	var ue *UpstreamError
	if !errors.As(err, &ue) || ue.Status != http.StatusBadRequest {
		t.Errorf("err = %v, want an UpstreamError", err)
	}
}

func TestInvalidateRetiresAnAppsCachedReads(t *testing.T) {
	calls := 0
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Write([]byte(`{"records":[]}`))
	}, func(cfg *Config) { cfg.CacheTTL = time.Hour })
	read := func() {
		if _, err := c.Do(context.Background(), Request{Method: "GET", API: "records.json", App: "3"}); err != nil {
			t.Fatal(err)
		}
	}
	read()
	read()
	c.Invalidate("3")
	read()
	if calls != 2 {
		t.Errorf("upstream reads = %d, want 2 (one cached, one after Invalidate)", calls)
	}
}
