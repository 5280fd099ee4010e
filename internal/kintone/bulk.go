package kintone

import (
	"encoding/json"
	"strconv"
)

// BulkError is kintone's answer to a bulkRequest that failed: nothing was
// applied, and the request at Index is the one kintone refused, with Err
// its error. kintone reports it as {"results":[{},…,{code,…},…,{}]}, every
// other slot empty. It unwraps to Err, so code that looks for *Error finds
// the refusal.
type BulkError struct {
	Index int
	Err   *Error
}

func (e *BulkError) Error() string {
	return "kintone: bulkRequest request " + strconv.Itoa(e.Index) + ": " + e.Err.Error()
}

func (e *BulkError) Unwrap() error { return e.Err }

// Body writes e in kintone's shape for a bulkRequest of n requests.
func (e *BulkError) Body(n int) ([]byte, error) {
	results := make([]any, n)
	for i := range results {
		results[i] = struct{}{}
	}
	if e.Index >= 0 && e.Index < n {
		results[e.Index] = e.Err
	}
	return json.Marshal(map[string]any{"results": results})
}

// bulkError reads kintone's bulk failure shape, or returns nil.
func bulkError(status int, body []byte) *BulkError {
	var b struct {
		Results []json.RawMessage `json:"results"`
	}
	if json.Unmarshal(body, &b) != nil {
		return nil
	}
	for i, r := range b.Results {
		var e Error
		if json.Unmarshal(r, &e) == nil && e.Code != "" {
			e.Status = status
			return &BulkError{Index: i, Err: &e}
		}
	}
	return nil
}

// Invalidate retires the cached reads of app, for writes that reached it
// through a request that named another app (a bulkRequest across apps).
func (c *Client) Invalidate(app string) { c.cache.invalidate(app) }
