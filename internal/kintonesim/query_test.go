package kintonesim

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// ids runs query on app 2 as user and returns the $id of each record.
func ids(t *testing.T, s *Server, user, query string) []string {
	t.Helper()
	recs, err := s.Select(2, user, query)
	if err != nil {
		t.Fatalf("%q: %v", query, err)
	}
	out := []string{}
	for _, r := range recs {
		var id string
		json.Unmarshal(r["$id"].Value, &id)
		out = append(out, id)
	}
	return out
}

// TestQuerySemantics pins kintone's semantics per field type on the seed's
// orders (clock: Wednesday 2024-05-15 12:00 in Tokyo).
func TestQuerySemantics(t *testing.T) {
	s := newSim(t)
	tests := []struct {
		name, user, query string
		want              []string
	}{
		{"default order is $id desc", "", "", []string{"3", "2", "1"}},
		{"text equals", "", `title = "Third"`, []string{"3"}},
		{"text not equals", "", `title != "Third"`, []string{"2", "1"}},
		{"text in", "", `title in ("Third", "First order")`, []string{"3", "1"}},
		{"like matches whole words", "", `title like "order"`, []string{"2", "1"}},
		{"like is not a substring match", "", `title like "ord"`, []string{}},
		{"like does not find key in keyword", "", `memo like "key"`, []string{}},
		{"like finds keyword", "", `memo like "keyword"`, []string{"1"}},
		{"like is case-insensitive", "", `memo like "GAMMA"`, []string{"1"}},
		{"like needs every word", "", `memo like "gamma nothing"`, []string{}},
		{"like finds CJK inside a run", "", `title like "予算"`, []string{"2"}},
		{"not like", "", `title not like "order"`, []string{"3"}},
		{"is empty treats whitespace as empty", "", `memo is empty`, []string{"3", "2"}},
		{"is not empty", "", `memo is not empty`, []string{"1"}},
		{"number greater", "", `amount > 100`, []string{"2"}},
		{"number greater or equal", "", `amount >= 100`, []string{"2", "1"}},
		{"quoted number", "", `amount < "100"`, []string{"3"}},
		{"number in", "", `amount in (0, 2500)`, []string{"3", "2"}},
		{"$id in", "", `$id in (1, 3)`, []string{"3", "1"}},
		{"record number", "", `Record_number = 2`, []string{"2"}},
		{"check box in", "", `tags in ("a")`, []string{"1"}},
		{"check box in empty", "", `tags in ("")`, []string{"3"}},
		{"check box not in", "", `tags not in ("a")`, []string{"3", "2"}},
		{"drop-down in empty", "", `tier in ("")`, []string{"3", "2"}},
		{"drop-down in", "", `tier in ("gold")`, []string{"1"}},
		{"date equals", "", `due = "2024-05-10"`, []string{"1"}},
		{"date after", "", `due > "2024-05-10"`, []string{"2"}},
		{"date empty", "", `due = ""`, []string{"3"}},
		{"datetime date in the user's zone (Tokyo)", "alice", `at = "2024-05-10"`, []string{"1"}},
		{"datetime date in the user's zone (UTC)", "bob", `at = "2024-05-10"`, []string{"2", "1"}},
		{"datetime instant", "", `at = "2024-05-10T10:30:00+09:00"`, []string{"1"}},
		{"time before", "", `t < "10:00"`, []string{"1"}},
		{"LOGINUSER as alice", "alice", `owner in (LOGINUSER())`, []string{"1"}},
		{"LOGINUSER as bob", "bob", `owner in (LOGINUSER())`, []string{"2"}},
		{"LOGINUSER for a token names nobody", "", `owner in (LOGINUSER())`, []string{}},
		{"PRIMARY_ORGANIZATION", "alice", `org in (PRIMARY_ORGANIZATION())`, []string{"1"}},
		{"creator", "", `Created_by in ("bob")`, []string{"2"}},
		{"status", "", `Status = "Draft"`, []string{"3", "2", "1"}},
		{"assignee", "alice", `Assignee in (LOGINUSER())`, []string{"1"}},
		{"file name", "", `attachment like "plan"`, []string{"1"}},
		{"file content", "", `attachment like "marketing"`, []string{"1"}},
		{"file is empty", "", `attachment is empty`, []string{"3", "2"}},
		{"or", "", `title = "Third" or amount = 100`, []string{"3", "1"}},
		{"and binds tighter than or", "", `amount = 0 or amount > 50 and tags in ("a")`, []string{"3", "1"}},
		{"order by asc", "", `order by amount asc`, []string{"3", "1", "2"}},
		{"order by desc with limit", "", `order by amount desc limit 1`, []string{"2"}},
		{"empty values sort first", "", `order by tier asc, $id asc`, []string{"2", "3", "1"}},
		{"limit and offset", "", `order by $id asc limit 1 offset 1`, []string{"2"}},
		{"offset past the end", "", `offset 5`, []string{}},
		{"THIS_WEEK", "", `due = THIS_WEEK()`, []string{}},
		{"LAST_WEEK", "", `due = LAST_WEEK()`, []string{"2", "1"}},
		{"LAST_WEEK(FRIDAY)", "", `due = LAST_WEEK(FRIDAY)`, []string{"1"}},
		{"before TODAY", "", `due < TODAY()`, []string{"2", "1"}},
		{"FROM_TODAY", "", `due = FROM_TODAY(-5, DAYS)`, []string{"1"}},
		{"THIS_MONTH(day)", "", `due = THIS_MONTH(10)`, []string{"1"}},
		{"NEXT_MONTH", "", `due = NEXT_MONTH()`, []string{}},
		{"THIS_YEAR", "", `due = THIS_YEAR()`, []string{"2", "1"}},
		{"before NOW", "", `at < NOW()`, []string{"2", "1"}},
		{"created TODAY", "", `Created_datetime = TODAY()`, []string{"3", "2", "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ids(t, s, tt.user, tt.query); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%q as %q: got %v, want %v", tt.query, tt.user, got, tt.want)
			}
		})
	}
}

// TestQuerySubtableSemantics: positive predicates need some row, negative
// ones every row (and at least one), and an and on one table one row.
func TestQuerySubtableSemantics(t *testing.T) {
	s := newSim(t)
	tests := []struct {
		query string
		want  []string
	}{
		{`qty in (5)`, []string{"2", "1"}},
		{`qty >= 5`, []string{"2", "1"}},
		{`item like "pen"`, []string{"1"}},
		{`item in ("pen") and qty in (5)`, []string{}},        // pen has qty 1: not the same row
		{`item in ("ink") and qty in (5)`, []string{"1"}},     // same row
		{`item in ("pen") or qty in (5)`, []string{"2", "1"}}, // or is not row-bound
		{`kind not in ("y")`, []string{"2"}},                  // every row; no rows matches nothing
		{`kind in ("x") and kind not in ("y")`, []string{"2"}},
		{`item not like "pen"`, []string{"2"}},
	}
	for _, tt := range tests {
		if got := ids(t, s, "", tt.query); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: got %v, want %v", tt.query, got, tt.want)
		}
	}
}

// TestQueryDateFunctionsFollowTheClock: moving the clock moves TODAY().
func TestQueryDateFunctionsFollowTheClock(t *testing.T) {
	s := newSim(t)
	if got := ids(t, s, "", `due = TODAY()`); len(got) != 0 {
		t.Fatalf("got %v", got)
	}
	s.SetClock(func() time.Time { return fixedNow.AddDate(0, 0, -5) })
	if got := ids(t, s, "", `due = TODAY()`); !reflect.DeepEqual(got, []string{"1"}) {
		t.Fatalf("got %v", got)
	}
}

// TestFileLikeMatchesNamesAndContents: like and not like on a FILE field,
// at top level and inside a subtable, match a file by its name and by its
// text content; binary content is not searched. Not like inside a subtable
// needs every row to hold no match (and a row to exist).
func TestFileLikeMatchesNamesAndContents(t *testing.T) {
	png := base64.StdEncoding.EncodeToString([]byte("\x89PNG\r\n\x1a\n\x00 marketing"))
	file := func(key, name, content string) string {
		if name == "holiday.png" {
			return `{"fileKey": "` + key + `", "name": "` + name + `", "contentType": "image/png", "base64": "` + png + `"}`
		}
		return `{"fileKey": "` + key + `", "name": "` + name + `", "contentType": "text/plain", "text": "` + content + `"}`
	}
	att := func(keys ...string) string {
		l := []string{}
		for _, k := range keys {
			l = append(l, `{"fileKey": "`+k+`"}`)
		}
		return `{"value": [` + strings.Join(l, ",") + `]}`
	}
	s := newSeeded(t, `{"files": [`+strings.Join([]string{
		file("plan1", "plan.txt", "quarterly marketing budget"), file("plan2", "plan.txt", "quarterly marketing budget"),
		file("notes1", "notes.txt", "shipping schedule"), file("notes2", "notes.txt", "shipping schedule"),
		file("photo1", "holiday.png", ""), file("photo2", "holiday.png", ""),
	}, ",")+`],
	 "apps": [{"id": 2, "name": "Files", "fields": [
	   {"type": "FILE", "code": "doc", "label": "Doc"},
	   {"type": "SUBTABLE", "code": "rows", "label": "Rows", "fields": [{"type": "FILE", "code": "att", "label": "Att"}]}],
	  "records": [
	   {"doc": `+att("plan1")+`, "rows": {"value": [{"value": {"att": `+att("notes1")+`}}]}},
	   {"doc": `+att("photo1")+`, "rows": {"value": [{"value": {"att": `+att("plan2")+`}}, {"value": {"att": `+att()+`}}]}},
	   {"doc": `+att()+`, "rows": {"value": []}},
	   {"doc": `+att("notes2")+`, "rows": {"value": [{"value": {"att": `+att("photo2")+`}}]}}]}]}`)
	tests := []struct {
		query string
		want  []string
	}{
		{`doc like "plan"`, []string{"1"}},
		{`doc like "marketing"`, []string{"1"}}, // photo1's bytes hold the word too, but are not text
		{`doc like "holiday"`, []string{"2"}},
		{`doc like "png"`, []string{"2"}},
		{`doc like "quarterly budget"`, []string{"1"}},
		{`doc like "schedule"`, []string{"4"}},
		{`doc not like "marketing"`, []string{"4", "3", "2"}},
		{`doc not like "plan"`, []string{"4", "3", "2"}},
		{`doc not like "notes"`, []string{"3", "2", "1"}},
		{`att like "marketing"`, []string{"2"}},
		{`att like "notes"`, []string{"1"}},
		{`att like "holiday"`, []string{"4"}},
		{`att like "quarterly budget"`, []string{"2"}},
		{`att not like "marketing"`, []string{"4", "1"}},
		{`att not like "shipping"`, []string{"4", "2"}},
		{`att not like "holiday"`, []string{"2", "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			if got := ids(t, s, "", tt.query); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
