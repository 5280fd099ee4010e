package portal

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"go.uber.org/zap"
)

// CheckSettings checks that the field codes the apps' settings name
// (columns, title_field, search, filters, calendar) are fields of the apps'
// forms, and refuses settings that name others, with the line they were
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
		at := ""
		if pos := s.Positions[setting.key]; pos != "" {
			at = " (" + pos + ")"
		}
		missing = append(missing, fmt.Sprintf("app %s: %s%s: the form has no field %s", alias, setting.key, at, quoted(unknown)))
	}
	return strings.Join(missing, "; "), nil
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
