package portal

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"go.uber.org/zap"

	"github.com/kgate/kgate/portalconfig"
)

// CheckSettings checks that the field codes the apps' settings name
// (columns, title_field, search, filters, calendar, gallery) are fields of
// the apps' forms, that charts group by and sum fields of fitting types and
// that a gallery's picture is a FILE field, and refuses settings that do
// not, with the line they were
// written at. An app whose form cannot be read now is returned in
// unchecked with the reason; it is checked when one of its pages is first
// served, and a missing field is then logged (the page leaves it out, as
// it leaves out fields the member may not read).
func (h *Handler) CheckSettings(ctx context.Context) (unchecked map[string]error, err error) {
	aliases := make([]string, 0, len(h.cfg.Apps))
	for alias := range h.cfg.Apps {
		aliases = append(aliases, alias)
	}
	sort.Strings(aliases)
	var bad []string
	for _, alias := range aliases {
		missing, err := h.checkApp(ctx, alias)
		switch {
		case err != nil:
			if unchecked == nil {
				unchecked = map[string]error{}
			}
			unchecked[alias] = err
			h.settingsPending.Store(alias, true)
		case missing != "":
			bad = append(bad, missing)
		}
	}
	if len(bad) > 0 {
		return unchecked, fmt.Errorf("portal: %s", strings.Join(bad, "; "))
	}
	return unchecked, nil
}

// checkApp returns what the app's settings name that its form lacks ("" for
// nothing), or the error that kept the form from being read.
func (h *Handler) checkApp(ctx context.Context, alias string) (string, error) {
	if h.cfg.Gateway == nil {
		return "", nil
	}
	types, err := h.cfg.Gateway.FieldTypes(ctx, alias)
	if err != nil {
		return "", err
	}
	s := h.cfg.Apps[alias]
	var missing []string
	for _, setting := range []struct {
		key   string
		codes []string
	}{
		{"columns", s.Columns},
		{"title_field", []string{s.TitleField}},
		{"search", s.SearchFields},
		{"filters", s.Filters},
		{"calendar", []string{s.CalendarField, s.CalendarEndField}},
		{"gallery", galleryCodes(s.Gallery)},
	} {
		var unknown []string
		for _, code := range setting.codes {
			if _, ok := types[code]; code != "" && !ok && !slices.Contains(unknown, code) {
				unknown = append(unknown, code)
			}
		}
		if len(unknown) == 0 {
			continue
		}
		missing = append(missing, fmt.Sprintf("app %s: %s%s: the form has no field %s", alias, setting.key, at(s, setting.key), quoted(unknown)))
	}
	if g := s.Gallery; g != nil {
		if t, ok := types[g.ImageField]; ok && t != "FILE" {
			missing = append(missing, fmt.Sprintf("app %s: gallery%s: %q is a %s field, not a FILE field", alias, at(s, "gallery"), g.ImageField, t))
		}
	}
	missing = append(missing, checkCharts(alias, s, types)...)
	return strings.Join(missing, "; "), nil
}

// checkCharts reports the charts whose fields the form lacks or whose
// types cannot be grouped by or summed.
func checkCharts(alias string, s AppSettings, types map[string]string) []string {
	var bad []string
	for i, ch := range s.Charts {
		key := fmt.Sprintf("charts.%d", i)
		at := ""
		if pos := s.Positions[key]; pos != "" {
			at = " (" + pos + ")"
		}
		if problem := chartProblem(ch, types); problem != "" {
			bad = append(bad, fmt.Sprintf("app %s: chart %d%s: %s", alias, i+1, at, problem))
		}
	}
	return bad
}

// chartProblem is what is wrong with a chart's fields, "" for nothing.
func chartProblem(ch Chart, types map[string]string) string {
	typ, ok := types[ch.GroupBy]
	switch {
	case ch.GroupBy == "":
		return "group_by names no field"
	case !ok:
		return fmt.Sprintf("the form has no field %q", ch.GroupBy)
	case !groupable(typ):
		return fmt.Sprintf("group_by %q is a %s field; want DROP_DOWN, RADIO_BUTTON, STATUS, DATE or DATETIME", ch.GroupBy, typ)
	}
	if ch.Sum == "" {
		return ""
	}
	typ, ok = types[ch.Sum]
	switch {
	case !ok:
		return fmt.Sprintf("the form has no field %q", ch.Sum)
	case typ != "NUMBER" && typ != "CALC":
		return fmt.Sprintf("sum %q is a %s field; want NUMBER or CALC", ch.Sum, typ)
	}
	return ""
}

// at is " (file:line)" for a setting the Caddyfile adapter placed.
func at(s AppSettings, key string) string {
	if pos := s.Positions[key]; pos != "" {
		return " (" + pos + ")"
	}
	return ""
}

// galleryCodes are the field codes a gallery setting names.
func galleryCodes(g *portalconfig.Gallery) []string {
	if g == nil {
		return nil
	}
	codes := []string{g.ImageField, g.TitleField}
	return append(codes, g.Fields...)
}

// checkPending checks the settings of an app that CheckSettings could not
// check, once its form can be read.
func (h *Handler) checkPending(ctx context.Context, alias string) {
	if _, pending := h.settingsPending.Load(alias); !pending {
		return
	}
	missing, err := h.checkApp(ctx, alias)
	if err != nil {
		return // still unreachable: the next page tries again
	}
	if _, first := h.settingsPending.LoadAndDelete(alias); first && missing != "" {
		h.log.Error("portal settings name fields the app's form does not have; pages leave them out",
			zap.String("app", alias), zap.String("problem", missing))
	}
}

func quoted(codes []string) string {
	q := make([]string, len(codes))
	for i, c := range codes {
		q[i] = fmt.Sprintf("%q", c)
	}
	return strings.Join(q, ", ")
}
