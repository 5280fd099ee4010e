package portal

import (
	"encoding/xml"
	"fmt"
	"html/template"
	"math"
	"strings"
	"unicode/utf8"
)

// A chart is drawn on the server as an SVG of horizontal bars: one row per
// group with its label, its bar and its value as text, so that it reads
// without colour and without script. The SVG is an image with a name and
// a description (role="img", <title>, <desc>); the same numbers are in a
// table beside it for screen readers and for copying.

// Geometry of the drawing, in SVG units.
const (
	svgWidth    = 560
	svgLabelW   = 170 // the labels' column
	svgValueW   = 120 // room after the longest bar for its value
	svgRowH     = 32
	svgBarH     = 20
	svgPad      = 8
	svgMaxLabel = 12 // runes of a label drawn; the table has it whole
)

// barView is one bar to draw.
type barView struct {
	Label string  // the group's name
	Value string  // the number as shown
	Size  float64 // the bar's length in the value's unit (only its ratio to the others matters)
}

// barChartSVG draws bars. id makes the element ids of the title and the
// description unique on the page; title and desc name and describe the
// image.
func barChartSVG(id, title, desc string, bars []barView) template.HTML {
	height := svgPad*2 + svgRowH*max(len(bars), 1)
	most := 0.0
	for _, b := range bars {
		most = math.Max(most, math.Abs(b.Size))
	}
	var s strings.Builder
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg" role="img" viewBox="0 0 %d %d" aria-labelledby="%s-t %s-d">`,
		svgWidth, height, id, id)
	fmt.Fprintf(&s, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, id, escapeXML(title), id, escapeXML(desc))
	span := float64(svgWidth - svgLabelW - svgValueW)
	for i, b := range bars {
		y := svgPad + i*svgRowH
		w := 0.0
		if most > 0 {
			w = math.Abs(b.Size) / most * span
		}
		if w > 0 && w < 2 {
			w = 2 // a group that is there shows a bar
		}
		mid := y + svgRowH/2
		fmt.Fprintf(&s, `<g class="bar-row"><text class="bar-label" x="%d" y="%d" text-anchor="end" dominant-baseline="middle">%s</text>`,
			svgLabelW-8, mid, escapeXML(shortLabel(b.Label)))
		fmt.Fprintf(&s, `<rect class="bar%s" x="%d" y="%d" width="%.1f" height="%d"></rect>`,
			negClass(b.Size), svgLabelW, y+(svgRowH-svgBarH)/2, w, svgBarH)
		fmt.Fprintf(&s, `<text class="bar-value" x="%.1f" y="%d" dominant-baseline="middle">%s</text></g>`,
			float64(svgLabelW)+w+6, mid, escapeXML(b.Value))
	}
	s.WriteString(`</svg>`)
	return template.HTML(s.String()) // every text in it went through escapeXML
}

func negClass(v float64) string {
	if v < 0 {
		return " neg"
	}
	return ""
}

// shortLabel cuts a long label for the drawing.
func shortLabel(s string) string {
	if utf8.RuneCountInString(s) <= svgMaxLabel {
		return s
	}
	r := []rune(s)
	return string(r[:svgMaxLabel-1]) + "…"
}

// escapeXML makes text safe as SVG character data and attribute values
// alike, inside HTML too.
func escapeXML(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
