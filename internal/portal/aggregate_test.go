package portal

import (
	"encoding/xml"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestTallyCountsAndSumsByEachGroupType(t *testing.T) {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	type rec struct{ group, amount string }
	for _, tc := range []struct {
		name      string
		groupType string
		tz        *time.Location
		records   []rec
		order     []string
		want      []string // key=count/sum in the chart's order
	}{
		{"drop-down in option order, unknown values by name, none last", "DROP_DOWN", time.UTC,
			[]rec{{"b", "1"}, {"", "2"}, {"zz", "3"}, {"a", "4"}, {"b", "5"}, {"yy", ""}},
			[]string{"a", "b", "c"}, []string{"a=1/4", "b=2/6", "yy=1/0", "zz=1/3", "=1/2"}},
		{"radio buttons", "RADIO_BUTTON", time.UTC, []rec{{"5", "1"}, {"1", "1"}, {"5", "1"}},
			[]string{"1", "2", "3", "4", "5"}, []string{"1=1/1", "5=2/2"}},
		{"status in the configured states' order", "STATUS", time.UTC,
			[]rec{{"Rejected", ""}, {"Draft", ""}, {"Approved", ""}, {"Draft", ""}},
			[]string{"Draft", "Submitted", "Approved", "Rejected"}, []string{"Draft=2/0", "Approved=1/0", "Rejected=1/0"}},
		{"dates by month in time order", "DATE", time.UTC,
			[]rec{{"2026-12-31", "1"}, {"2026-01-01", "1"}, {"2026-12-01", "1"}, {"2025-12-31", "1"}, {"not a date", "1"}},
			nil, []string{"2025-12=1/1", "2026-01=1/1", "2026-12=2/2", "=1/1"}},
		{"date-times by month in UTC", "DATETIME", time.UTC,
			[]rec{{"2026-10-31T15:30:00Z", "1"}, {"2026-11-01T00:00:00Z", "1"}},
			nil, []string{"2026-10=1/1", "2026-11=1/1"}},
		{"date-times by month in Tokyo: 15:30 UTC on the 31st is November there", "DATETIME", tokyo,
			[]rec{{"2026-10-31T15:30:00Z", "1"}, {"2026-11-01T00:00:00Z", "1"}, {"2026-10-31T14:59:00Z", "1"}},
			nil, []string{"2026-10=1/1", "2026-11=2/2"}},
		{"decimals add exactly", "DROP_DOWN", time.UTC,
			[]rec{{"a", "0.1"}, {"a", "0.2"}, {"b", "1.005"}, {"b", "-0.005"}, {"c", "123456789012345678901234567890.12"}, {"c", "0.88"}},
			[]string{"a", "b", "c"}, []string{"a=2/0.3", "b=2/1.000", "c=2/123456789012345678901234567891.00"}},
		{"amounts that are not numbers add nothing", "DROP_DOWN", time.UTC,
			[]rec{{"a", "#N/A!"}, {"a", "1e3"}, {"a", "1/3"}, {"a", "."}, {"a", "7"}},
			[]string{"a"}, []string{"a=5/7"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tl := newTally(tc.groupType, tc.tz)
			for _, r := range tc.records {
				tl.add(r.group, r.amount)
			}
			var got []string
			for _, k := range tl.ordered(tc.order) {
				g := tl.groups[k]
				got = append(got, k+"="+itoa(g.Count)+"/"+g.sumText())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestChartSVGIsWellFormedNamedAndEscapesLabels(t *testing.T) {
	hostile := `</title><script>alert(1)</script>& "x" 'y'`
	svg := string(barChartSVG("c1", hostile, "desc "+hostile, []barView{
		{Label: hostile, Value: "1,000", Size: 1000},
		{Label: "ゼロ", Value: "0", Size: 0},
		{Label: "とても長いラベルの区分名です", Value: "-5", Size: -5},
	}))
	if strings.Contains(svg, "<script") || strings.Contains(svg, "</title><script") {
		t.Fatalf("a label got out of its text: %s", svg)
	}
	d := xml.NewDecoder(strings.NewReader(svg))
	var texts []string
	var title, desc string
	var in []string
	root := ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, svg)
		}
		switch v := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = v.Name.Local
				attrs := map[string]string{}
				for _, a := range v.Attr {
					attrs[a.Name.Local] = a.Value
				}
				if attrs["role"] != "img" || attrs["aria-labelledby"] != "c1-t c1-d" {
					t.Errorf("root attributes %v: want role=img named by its title and desc", attrs)
				}
			}
			in = append(in, v.Name.Local)
		case xml.EndElement:
			in = in[:len(in)-1]
		case xml.CharData:
			switch in[len(in)-1] {
			case "title":
				title += string(v)
			case "desc":
				desc += string(v)
			case "text":
				texts = append(texts, string(v))
			}
		}
	}
	if root != "svg" {
		t.Errorf("root element %q", root)
	}
	if title != hostile || desc != "desc "+hostile {
		t.Errorf("title %q, desc %q: want the texts given, unaltered once parsed", title, desc)
	}
	want := []string{shortLabel(hostile), "1,000", "ゼロ", "0", "とても長いラベルの区分…", "-5"}
	if !slices.Equal(texts, want) {
		t.Errorf("texts %q, want %q", texts, want)
	}
}
