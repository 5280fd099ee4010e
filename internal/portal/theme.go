package portal

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The default theme. Both colours keep WCAG AA contrast (4.5:1) against
// the white page and with white text on them; a test holds them to it.
const (
	defaultPrimary = "#1e4d8c"
	defaultAccent  = "#b3470b"
	pageBackground = "#ffffff"
	pageText       = "#1a1a1a"
)

// rgb is an sRGB colour.
type rgb struct{ r, g, b uint8 }

// parseColor reads #rrggbb or #rgb.
func parseColor(s string) (rgb, error) {
	h, ok := strings.CutPrefix(strings.TrimSpace(s), "#")
	if ok && len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	if !ok || len(h) != 6 {
		return rgb{}, fmt.Errorf("colour %q: want #rrggbb", s)
	}
	n, err := strconv.ParseUint(h, 16, 32)
	if err != nil {
		return rgb{}, fmt.Errorf("colour %q: want #rrggbb", s)
	}
	return rgb{uint8(n >> 16), uint8(n >> 8), uint8(n)}, nil
}

func (c rgb) String() string { return fmt.Sprintf("#%02x%02x%02x", c.r, c.g, c.b) }

// luminance is WCAG 2's relative luminance.
func (c rgb) luminance() float64 {
	ch := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(c.r) + 0.7152*ch(c.g) + 0.0722*ch(c.b)
}

// contrast is WCAG 2's contrast ratio of two colours (1 to 21).
func contrast(a, b rgb) float64 {
	la, lb := a.luminance(), b.luminance()
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// onColor is the text colour (white or near-black) that reads best on c.
func onColor(c rgb) rgb {
	white, dark := rgb{255, 255, 255}, mustColor(pageText)
	if contrast(c, white) >= contrast(c, dark) {
		return white
	}
	return dark
}

func mustColor(s string) rgb {
	c, err := parseColor(s)
	if err != nil {
		panic(err)
	}
	return c
}

// theme is the generated stylesheet's colours.
type theme struct {
	primary, onPrimary, accent, onAccent rgb
}

func newTheme(primary, accent string) (theme, error) {
	if primary == "" {
		primary = defaultPrimary
	}
	if accent == "" {
		accent = defaultAccent
	}
	p, err := parseColor(primary)
	if err != nil {
		return theme{}, fmt.Errorf("portal: primary %w", err)
	}
	a, err := parseColor(accent)
	if err != nil {
		return theme{}, fmt.Errorf("portal: accent %w", err)
	}
	return theme{primary: p, onPrimary: onColor(p), accent: a, onAccent: onColor(a)}, nil
}

// problems lists where the theme falls short of WCAG AA: text (links,
// buttons, the header) needs 4.5:1, the focus ring 3:1 against the page.
func (t theme) problems() []string {
	bg := mustColor(pageBackground)
	var out []string
	check := func(what string, a, b rgb, min float64) {
		if r := contrast(a, b); r < min {
			out = append(out, fmt.Sprintf("%s: contrast %.2f:1 is below %.1f:1", what, r, min))
		}
	}
	check("primary colour "+t.primary.String()+" as link text on the page", t.primary, bg, 4.5)
	check("text on the primary colour "+t.primary.String(), t.onPrimary, t.primary, 4.5)
	check("accent colour "+t.accent.String()+" as the focus ring on the page", t.accent, bg, 3)
	check("text on the accent colour "+t.accent.String(), t.onAccent, t.accent, 4.5)
	return out
}

// css is the theme stylesheet: custom properties the portal's stylesheet
// reads, so colours never need inline styles.
func (t theme) css() []byte {
	return []byte(fmt.Sprintf(":root{--primary:%s;--on-primary:%s;--accent:%s;--on-accent:%s;--bg:%s;--text:%s}\n",
		t.primary, t.onPrimary, t.accent, t.onAccent, pageBackground, pageText))
}
