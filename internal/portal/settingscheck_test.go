package portal

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/kgate/kgate/internal/kintone"
)

// budgetSettings names the budget app's fields in its columns and
// calendar settings, as the Caddyfile adapter leaves them.
func budgetSettings(columns ...string) func(*Config) {
	return func(c *Config) {
		c.Apps["budget"] = AppSettings{Columns: columns, CalendarField: "title",
			Positions: map[string]string{"columns": "Caddyfile:12", "calendar": "Caddyfile:13"}}
	}
}

func TestSettingsNamingFieldsTheFormLacksAreRefusedWithTheirLine(t *testing.T) {
	for _, tc := range []struct {
		name    string
		columns []string
		calEnd  string
		want    []string // "" entries: accepted
	}{
		{"fields of the form", []string{"title", "amount", "Status"}, "", nil},
		{"a misspelt column", []string{"title", "amout"}, "", []string{`app budget: columns (Caddyfile:12): the form has no field "amout"`}},
		{"a calendar end field the form lacks", []string{"title"}, "ends", []string{`app budget: calendar (Caddyfile:13): the form has no field "ends"`}},
		{"both", []string{"nope"}, "ends", []string{`columns (Caddyfile:12): the form has no field "nope"`, `calendar (Caddyfile:13): the form has no field "ends"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, budgetSettings(tc.columns...), func(c *Config) {
				s := c.Apps["budget"]
				s.CalendarEndField = tc.calEnd
				c.Apps["budget"] = s
			})
			unchecked, err := w.h.CheckSettings(context.Background())
			if len(unchecked) != 0 {
				t.Fatalf("unchecked %v with kintone reachable", unchecked)
			}
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
}

func TestChartsAreCheckedForFieldsAndTypesAtLoad(t *testing.T) {
	for _, tc := range []struct {
		name  string
		chart Chart
		want  string // "": accepted
	}{
		{"count by a drop-down", Chart{GroupBy: "category"}, ""},
		{"sum of a number by status", Chart{GroupBy: "Status", Sum: "amount"}, ""},
		{"count by a date-time's month", Chart{GroupBy: "Created_datetime"}, `group_by "Created_datetime" is a CREATED_TIME field`},
		{"no group", Chart{Sum: "amount"}, "group_by names no field"},
		{"a group the form lacks", Chart{GroupBy: "kind"}, `chart 1 (Caddyfile:20): the form has no field "kind"`},
		{"grouped by text", Chart{GroupBy: "title"}, `group_by "title" is a SINGLE_LINE_TEXT field; want DROP_DOWN, RADIO_BUTTON, STATUS, DATE or DATETIME`},
		{"a sum the form lacks", Chart{GroupBy: "category", Sum: "total"}, `the form has no field "total"`},
		{"a sum of text", Chart{GroupBy: "category", Sum: "title"}, `sum "title" is a SINGLE_LINE_TEXT field; want NUMBER or CALC`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, func(c *Config) {
				c.Apps["budget"] = AppSettings{Charts: []Chart{tc.chart}, Positions: map[string]string{"charts.0": "Caddyfile:20"}}
			})
			_, err := w.h.CheckSettings(context.Background())
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one with %q", err, tc.want)
			}
		})
	}
}

// failingTransport fails every request until it is switched off, as an
// unreachable kintone does.
type failingTransport struct {
	down atomic.Bool
	next http.RoundTripper
}

func (f *failingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if f.down.Load() {
		return nil, errors.New("connection refused")
	}
	return f.next.RoundTrip(r)
}

func TestSettingsUncheckedAtLoadAreCheckedWhenTheAppIsFirstShown(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	ft := &failingTransport{}
	ft.down.Store(true)
	w := newWorldWith(t, worldOptions{client: func(c *kintone.Config) {
		ft.next = c.Transport
		c.Transport = ft
	}}, budgetSettings("title", "amout"), func(c *Config) { c.Logger = zap.New(core) })

	unchecked, err := w.h.CheckSettings(context.Background())
	if err != nil {
		t.Fatalf("refused with kintone unreachable: %v", err)
	}
	if unchecked["budget"] == nil || unchecked["schedule"] == nil {
		t.Fatalf("unchecked = %v, want budget and schedule", unchecked)
	}

	ft.down.Store(false) // kintone is back
	for range 2 {
		w.get(t, members["alice"], appPath("budget"))
	}
	var problems []string
	for _, e := range logs.FilterMessageSnippet("portal settings name fields").All() {
		problems = append(problems, e.ContextMap()["problem"].(string))
	}
	want := `app budget: columns (Caddyfile:12): the form has no field "amout"`
	if len(problems) != 1 || problems[0] != want {
		t.Errorf("logged %q, want %q once", problems, want)
	}
	// The schedule app's settings are right: shown, nothing logged.
	w.get(t, members["alice"], appPath("schedule"))
	if n := logs.FilterMessageSnippet("portal settings name fields").Len(); n != 1 {
		t.Errorf("%d problems logged, want 1", n)
	}
}
