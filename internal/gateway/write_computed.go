package gateway

import (
	"context"
	"slices"
	"unicode"

	"go.uber.org/zap"

	"github.com/kgate/kgate/internal/audit"
)

// The post-check of a write evaluates the row rule on the record as kgate
// merges it. Two kinds of field kintone fills in itself after the write: a
// lookup copies the looked-up record's fields, and a calculation computes
// its value. When the row rule reads such a field and the write changes
// what it is computed from, kgate cannot know where the record will land —
// a partner could move a record to another organization by picking another
// lookup key — so it refuses that write.

// computedSources maps each field kintone computes to the fields it is
// computed from: a lookup's copied fields to the lookup (key) field, a
// calculation to the fields its expression names.
func computedSources(f *form) map[string][]string {
	out := map[string][]string{}
	for code, p := range f.props {
		if p.Lookup != nil {
			for _, m := range p.Lookup.FieldMappings {
				out[m.Field] = append(out[m.Field], code)
			}
		}
		if p.Type == "CALC" {
			for _, name := range expressionNames(p.Expression) {
				if _, ok := f.types[name]; ok && name != code {
					out[code] = append(out[code], name)
				}
			}
		}
	}
	return out
}

// expressionNames returns the identifiers of a calculation's expression;
// field codes are among them (function names are not field codes).
func expressionNames(expr string) []string {
	var names []string
	start := -1
	for i, r := range expr + " " {
		word := unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '・' || r == '＿' || r == '＄' || r == '￥'
		switch {
		case word && start < 0:
			start = i
		case !word && start >= 0:
			names = append(names, expr[start:i])
			start = -1
		}
	}
	return names
}

// computedChange returns a field the row rule of action reads that this
// write would change through kintone's own computation, or "".
func (w *writer) computedChange(ctx context.Context, wa *writeApp, action string, touched []string) (string, error) {
	if len(wa.sources) == 0 {
		return "", nil
	}
	rr, err := w.view.RowRule(ctx, input(w.id, wa.app, action), wa.form.fields)
	if err != nil {
		w.g.log.Error("row rule did not compile", zap.String("app", wa.Alias), zap.String("action", action), zap.Error(err))
		return "", policyError(w.id.Lang)
	}
	for _, field := range rr.Fields {
		for _, src := range wa.sources[field] {
			if slices.Contains(touched, src) {
				return field, nil
			}
		}
	}
	return "", nil
}

// refuseComputed refuses a write whose effect on the row rule kgate
// cannot check.
func (w *writer) refuseComputed(ctx context.Context, ev *audit.Event, wa *writeApp, action, prefix string, touched []string) error {
	field, err := w.computedChange(ctx, wa, action, touched)
	if err != nil || field == "" {
		return err
	}
	ev.Outcome = "denied"
	msg := "This change would make kintone recompute a field that decides who may see the record; kgate cannot check it, so it is refused."
	if w.id.Lang == "ja" {
		msg = "この変更は、レコードを閲覧できる人を決めるフィールドを kintone に再計算させるため、kgate では確認できず受け付けられません。"
	}
	key := prefix
	if key == "" {
		key = "record"
	}
	return denied(w.id.Lang, nil).With(key, msg)
}
