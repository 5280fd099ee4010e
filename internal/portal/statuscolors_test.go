package portal

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func TestStatusBadgesTakeTheConfiguredColourOfTheirState(t *testing.T) {
	w := newWorld(t, func(c *Config) {
		c.Apps["budget"] = AppSettings{StatusColors: map[string]string{"Draft": "#fde68a", "Approved": "#1e7b34"}}
	})
	alice := demoMember("alice")
	draft, approved := statusClassName("budget", "Draft"), statusClassName("budget", "Approved")
	tests := []struct {
		name, target string
		want, not    []string
	}{
		{"the list", "/apps/budget", []string{
			`<span class="badge ` + draft + `">Draft</span>`,
			`<span class="badge ` + approved + `">Approved</span>`,
			`<span class="badge">Submitted</span>`, // no colour of its own: the default badge
		}, nil},
		{"a draft's page", "/apps/budget/records/1", []string{`<span class="badge ` + draft + `">Draft</span>`}, []string{approved}},
		{"a submitted request's page", "/apps/budget/records/2", []string{`<span class="badge">Submitted</span>`}, []string{draft, approved}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := w.get(t, alice, tt.target, "Accept-Language", "en")
			if r.Code != http.StatusOK {
				t.Fatalf("status %d", r.Code)
			}
			mustContain(t, r.body, tt.want...)
			mustNotContain(t, r.body, tt.not...)
		})
	}
	// The colours come in the theme's stylesheet, with the text colour
	// that contrasts more: dark on the light yellow, white on the green.
	home := w.get(t, alice, "/", "Accept-Language", "en")
	css := regexp.MustCompile(`href="(/assets/theme\.[0-9a-f]+\.css)"`).FindStringSubmatch(home.body)
	if css == nil {
		t.Fatal("no theme stylesheet")
	}
	sheet := w.get(t, nil, css[1]).body
	mustContain(t, sheet, ".badge."+draft+"{background:#fde68a;color:#1a1a1a}", ".badge."+approved+"{background:#1e7b34;color:#ffffff}")
	// Another app's state of the same name is not coloured.
	if c := w.h.statusClass("schedule", "Draft"); c != "" {
		t.Errorf("schedule's Draft has class %q", c)
	}
}

func TestStatusColoursThatAreNotColoursAreRefusedAndWeakOnesWarned(t *testing.T) {
	tests := []struct {
		colour  string
		err     string
		problem bool
	}{
		{"#1e7b34", "", false},
		{"#777777", "", true}, // neither black nor white text reaches 4.5:1
		{"green", `status colour of "Approved"`, false},
		{"#12345", "want #rrggbb", false},
	}
	for _, tt := range tests {
		t.Run(tt.colour, func(t *testing.T) {
			_, problems, err := statusCSS(map[string]AppSettings{"budget": {StatusColors: map[string]string{"Approved": tt.colour}}})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (len(problems) > 0) != tt.problem {
				t.Errorf("problems %q, want some: %v", problems, tt.problem)
			}
		})
	}
}
