package portal

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

var (
	headRE  = regexp.MustCompile(`<th scope="col"[^>]*>(?:<a [^>]*>)?([^<]*)`)
	labelRE = regexp.MustCompile(`<td data-label="([^"]*)"`)
)

// At narrow widths a list's rows become cards (portal.css): each cell
// shows its column's name from data-label, so every cell must carry the
// label of the column it is in, in both languages and whatever the
// columns are.
func TestListCellsCarryTheirColumnsNameForTheNarrowCards(t *testing.T) {
	w := newWorld(t, func(c *Config) {
		c.Apps["documents"] = AppSettings{Columns: []string{"published", "title", "audience"}}
	})
	for _, tc := range []struct {
		who, path, lang string
	}{
		{"alice", "/apps/budget", "en"},
		{"alice", "/apps/budget", "ja"},
		{"bob", "/apps/budget", "en"}, // a masked column
		{"alice", "/apps/documents", "ja"},
		{"dave", "/apps/schedule", "en"},
	} {
		t.Run(tc.who+tc.path+"-"+tc.lang, func(t *testing.T) {
			r := w.get(t, demoMember(tc.who), tc.path, "Accept-Language", tc.lang)
			var heads []string
			for _, m := range headRE.FindAllStringSubmatch(between(r.body, "<thead>", "</thead>"), -1) {
				heads = append(heads, strings.TrimSpace(m[1]))
			}
			heads = heads[1:] // the record number's column is the row's heading
			rows := strings.Split(between(r.body, "<tbody>", "</tbody>"), "<tr>")[1:]
			if len(rows) == 0 || len(heads) == 0 {
				t.Fatalf("%d rows, columns %q", len(rows), heads)
			}
			for i, row := range rows {
				var labels []string
				for _, m := range labelRE.FindAllStringSubmatch(row, -1) {
					labels = append(labels, m[1])
				}
				if !slices.Equal(labels, heads) {
					t.Fatalf("row %d: cells labelled %q, columns %q", i+1, labels, heads)
				}
			}
		})
	}
}
