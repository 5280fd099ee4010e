package kintonesim

import (
	"encoding/json"
	"slices"
	"testing"
)

// TestGeneratedLayoutKeepsTheSubtableOrderOfTheSeed: without a layout in
// the seed, a subtable's columns come in the order its fields are listed
// (kintone's form order), not sorted by code; given as an object, which
// has no order, they are sorted.
func TestGeneratedLayoutKeepsTheSubtableOrderOfTheSeed(t *testing.T) {
	seed, err := ParseSeed([]byte(`{"apps": [{"id": 2, "name": "B", "tokens": [{"token": "tok", "view": true}], "fields": [
		{"type": "SUBTABLE", "code": "items", "label": "Items", "fields": [
			{"type": "SINGLE_LINE_TEXT", "code": "item", "label": "Item"},
			{"type": "NUMBER", "code": "cost", "label": "Cost"},
			{"type": "NUMBER", "code": "amount", "label": "Amount"}]},
		{"type": "SUBTABLE", "code": "other", "label": "Other", "fields": {
			"zz": {"type": "NUMBER", "label": "Z"}, "aa": {"type": "NUMBER", "label": "A"}}}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(seed)
	if err != nil {
		t.Fatal(err)
	}
	var layout struct {
		Layout []struct {
			Code   string
			Fields []struct{ Code string }
		}
	}
	if err := json.Unmarshal(must(t, do(t, s, req{method: "GET", path: "/k/v1/app/form/layout.json?app=2", token: "tok"})).body, &layout); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"items": {"item", "cost", "amount"}, "other": {"aa", "zz"}}
	for _, row := range layout.Layout {
		if row.Code == "" {
			continue // a ROW of one field
		}
		var got []string
		for _, f := range row.Fields {
			got = append(got, f.Code)
		}
		if !slices.Equal(got, want[row.Code]) {
			t.Errorf("subtable %s: columns %v, want %v", row.Code, got, want[row.Code])
		}
		delete(want, row.Code)
	}
	if len(want) > 0 {
		t.Errorf("missing from the layout: %v", want)
	}
}
