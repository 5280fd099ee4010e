package gateway

import (
	"strings"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/kintone"
)

// Fields are recognized by their place in the record before, but a record
// whose fields come in another order, or with a field the form does not
// know, is filtered by name all the same.
func TestFieldsAreFilteredByNameWhateverTheirOrder(t *testing.T) {
	props := map[string]kintone.FieldProperty{
		"title":  {Type: "SINGLE_LINE_TEXT", Code: "title"},
		"secret": {Type: "SINGLE_LINE_TEXT", Code: "secret"},
		"org":    {Type: "DROP_DOWN", Code: "org"},
	}
	f := &recordFilter{
		form: newForm(props, "1", time.Time{}),
		keep: map[string]bool{"$id": true, "title": true, "org": true},
		rule: map[string]bool{"org": true},
		include: func(r kintone.Record) (bool, error) {
			return string(r["org"].Value) == `"acme"`, nil
		},
	}
	field := func(code, v string) string { return `"` + code + `":{"type":"X","value":"` + v + `"}` }
	rec := func(fields ...string) string { return "{" + strings.Join(fields, ",") + "}" }
	body := `{"records":[` + strings.Join([]string{
		rec(field("$id", "1"), field("title", "a"), field("secret", "s1"), field("org", "acme")),
		rec(field("secret", "s2"), field("org", "acme"), field("$id", "2"), field("title", "b")),
		rec(field("$id", "3"), field("title", "c"), field("unknown", "u"), field("org", "acme"), field("secret", "s3")),
		rec(field("$id", "4"), field("org", "other"), field("title", "d")),
		rec(field("$id", "5"), field("title", "e"), field("secret", "s5"), field("org", "acme")),
	}, ",") + `]}`
	page, err := f.page([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		rec(field("$id", "1"), field("title", "a"), field("org", "acme")),
		rec(field("org", "acme"), field("$id", "2"), field("title", "b")),
		rec(field("$id", "3"), field("title", "c"), field("org", "acme")),
		rec(field("$id", "5"), field("title", "e"), field("org", "acme")),
	}
	if len(page.Records) != len(want) {
		t.Fatalf("%d records, want %d: %s", len(page.Records), len(want), page.AppendRecords(nil))
	}
	for i, r := range page.Records {
		if string(r) != want[i] {
			t.Errorf("record %d = %s, want %s", i, r, want[i])
		}
	}
}
