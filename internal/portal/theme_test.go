package portal

import (
	"math"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestContrastFollowsWCAG(t *testing.T) {
	tests := []struct {
		a, b string
		want float64
	}{
		{"#000000", "#ffffff", 21},
		{"#ffffff", "#ffffff", 1},
		{"#777777", "#ffffff", 4.48},
		{"#767676", "#ffffff", 4.54},
		{"#fff", "#000", 21},
	}
	for _, tt := range tests {
		got := contrast(mustColor(tt.a), mustColor(tt.b))
		if math.Abs(got-tt.want) > 0.01 {
			t.Errorf("contrast(%s, %s) = %.3f, want %.2f", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestDefaultThemeMeetsWCAGAA(t *testing.T) {
	th, err := newTheme("", "")
	if err != nil {
		t.Fatal(err)
	}
	if p := th.problems(); len(p) > 0 {
		t.Errorf("default theme: %q", p)
	}
	// The stylesheet's own greys on the page and on the panels.
	for _, grey := range []string{"#4a4a4a", "#595959", "#333333"} {
		for _, bg := range []string{"#ffffff", "#f4f6f9", "#eef1f5"} {
			if r := contrast(mustColor(grey), mustColor(bg)); r < 4.5 {
				t.Errorf("text %s on %s: %.2f:1", grey, bg, r)
			}
		}
	}
}

func TestLowContrastColoursAreUsedWithAWarning(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	w := newWorld(t, func(c *Config) {
		c.Brand.PrimaryColor, c.Brand.AccentColor = "#ffdd00", "#eeeeee"
		c.Logger = zap.New(core)
	})
	if logs.Len() == 0 {
		t.Fatal("no warning for a yellow primary colour")
	}
	var problems []string
	for _, e := range logs.All() {
		problems = append(problems, e.ContextMap()["problem"].(string))
	}
	all := strings.Join(problems, "\n")
	for _, want := range []string{"primary colour #ffdd00 as link text", "accent colour #eeeeee as the focus ring"} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings %q lack %q", problems, want)
		}
	}
	// Text on the yellow is dark, which reads.
	if th, _ := newTheme("#ffdd00", ""); th.onPrimary != mustColor(pageText) {
		t.Errorf("text on yellow is %s", th.onPrimary)
	}
	mustContain(t, w.get(t, nil, w.h.assets.url("theme.css")).body, "--primary:#ffdd00")
}

func TestConfigurationMistakesAreErrors(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name   string
		change func(*Config)
	}{
		{"colour", func(c *Config) { c.Brand.PrimaryColor = "blue" }},
		{"time zone", func(c *Config) { c.TimeZone = "Mars/Olympus" }},
		{"language", func(c *Config) { c.DefaultLang = "fr" }},
		{"page sizes", func(c *Config) { c.PageSizes = []int{50, 20} }},
		{"page size too large", func(c *Config) { c.PageSizes = []int{1000} }},
		{"footer link", func(c *Config) { c.Brand.FooterLinks = []Link{{URL: "javascript:alert(1)"}} }},
		{"unknown app", func(c *Config) { c.Apps = map[string]AppSettings{"nope": {}} }},
		{"missing logo", func(c *Config) { c.Brand.Logo = "/nonexistent/logo.png" }},
		{"logo of an unknown type", func(c *Config) { c.Brand.Logo = "theme_test.go" }},
		{"broken template", func(c *Config) {
			dir := t.TempDir()
			writeFile(t, dir, "error.html", `{{define "main"}}{{.Nope`)
			c.Brand.TemplateDir = dir
		}},
		{"broken messages", func(c *Config) {
			dir := t.TempDir()
			writeFile(t, dir, "en.json", `{"a":`)
			c.MessagesDir = dir
		}},
		{"no gateway", func(c *Config) { c.Gateway = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Gateway: w.gw}
			tt.change(&cfg)
			if _, err := New(cfg); err == nil {
				t.Error("accepted")
			}
		})
	}
}

func TestTemplateDirectoryOverridesEmbeddedTemplates(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "error.html", `{{define "main"}}<div class="custom-error">{{.Body.Heading}}</div>{{end}}`)
	w := newWorld(t, func(c *Config) { c.Brand.TemplateDir = dir })
	r := w.get(t, demoMember("alice"), "/nowhere", "Accept-Language", "en")
	mustContain(t, r.body, `<div class="custom-error">Not found</div>`)
	r = w.get(t, demoMember("alice"), "/", "Accept-Language", "en")
	mustContain(t, r.body, "<h1>Welcome</h1>") // the other pages keep the embedded templates
}
