package gateway

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/kintone"
)

func TestAMaskIsAValueOfItsFieldsType(t *testing.T) {
	options := map[string]kintone.Option{"A": {Label: "A"}, "B": {Label: "B"}}
	num := func(s string) json.Number { return json.Number(s) }
	tests := []struct {
		name string
		prop kintone.FieldProperty
		mask any
		want string // the value kgate sends, or "error: …"
	}{
		{"text", kintone.FieldProperty{Type: "SINGLE_LINE_TEXT"}, "***", `"***"`},
		{"text needs a string", kintone.FieldProperty{Type: "SINGLE_LINE_TEXT"}, num("5"), "error: must be a string"},
		{"rich text", kintone.FieldProperty{Type: "RICH_TEXT"}, "<b>x</b>", `"\u003cb\u003ex\u003c/b\u003e"`},
		{"number from a number", kintone.FieldProperty{Type: "NUMBER"}, num("0"), `"0"`},
		{"number from a decimal string", kintone.FieldProperty{Type: "NUMBER"}, "1.50", `"1.5"`},
		{"number with an exponent", kintone.FieldProperty{Type: "NUMBER"}, num("1e3"), `"1000"`},
		{"number empty", kintone.FieldProperty{Type: "NUMBER"}, "", `""`},
		{"number refuses stars", kintone.FieldProperty{Type: "NUMBER"}, "***", "error: must be a number"},
		{"number refuses null", kintone.FieldProperty{Type: "NUMBER"}, nil, "error: must be a number"},
		{"number refuses hexadecimal", kintone.FieldProperty{Type: "NUMBER"}, "0x10", "error: must be a number"},
		{"calc as number", kintone.FieldProperty{Type: "CALC", Format: "NUMBER_DIGIT"}, num("-2.5"), `"-2.5"`},
		{"calc as number refuses text", kintone.FieldProperty{Type: "CALC"}, "n/a", "error: must be a number"},
		{"calc as date takes text", kintone.FieldProperty{Type: "CALC", Format: "DATE"}, "2026-01-01", `"2026-01-01"`},
		{"date", kintone.FieldProperty{Type: "DATE"}, "2026-12-03", `"2026-12-03"`},
		{"date empty", kintone.FieldProperty{Type: "DATE"}, "", `null`},
		{"date refuses another form", kintone.FieldProperty{Type: "DATE"}, "2026/12/03", "error: must look like"},
		{"date refuses a day that is not", kintone.FieldProperty{Type: "DATE"}, "2026-02-30", "error: not a valid date"},
		{"time", kintone.FieldProperty{Type: "TIME"}, "09:30", `"09:30"`},
		{"time refuses seconds", kintone.FieldProperty{Type: "TIME"}, "09:30:00", "error: must look like"},
		{"datetime", kintone.FieldProperty{Type: "DATETIME"}, "2026-12-03T09:30:00Z", `"2026-12-03T09:30:00Z"`},
		{"datetime empty", kintone.FieldProperty{Type: "DATETIME"}, "", `""`},
		{"datetime refuses an offset", kintone.FieldProperty{Type: "DATETIME"}, "2026-12-03T09:30:00+09:00", "error: must look like"},
		{"created time needs a time", kintone.FieldProperty{Type: "CREATED_TIME"}, "", "error: must look like"},
		{"drop-down option", kintone.FieldProperty{Type: "DROP_DOWN", Options: options}, "B", `"B"`},
		{"drop-down none", kintone.FieldProperty{Type: "DROP_DOWN", Options: options}, "", `null`},
		{"drop-down refuses a non-option", kintone.FieldProperty{Type: "DROP_DOWN", Options: options}, "C", "error: one of the field's options"},
		{"check box", kintone.FieldProperty{Type: "CHECK_BOX", Options: options}, []any{"A"}, `["A"]`},
		{"check box none", kintone.FieldProperty{Type: "CHECK_BOX", Options: options}, []any{}, `[]`},
		{"check box refuses a non-option", kintone.FieldProperty{Type: "CHECK_BOX", Options: options}, []any{"Z"}, "error: not one of the field's options"},
		{"users", kintone.FieldProperty{Type: "USER_SELECT"}, []any{}, `[]`},
		{"users with one", kintone.FieldProperty{Type: "USER_SELECT"}, []any{map[string]any{"code": "x", "name": "X"}}, `[{"code":"x","name":"X"}]`},
		{"users refuse strings", kintone.FieldProperty{Type: "USER_SELECT"}, []any{"x"}, "error: must be {code, name}"},
		{"creator", kintone.FieldProperty{Type: "CREATOR"}, map[string]any{"code": "", "name": "—"}, `{"code":"","name":"—"}`},
		{"file shows none", kintone.FieldProperty{Type: "FILE"}, []any{}, `[]`},
		{"file refuses a list of files", kintone.FieldProperty{Type: "FILE"}, []any{map[string]any{"fileKey": "k"}}, "error: must be []"},
		{"table shows no rows", kintone.FieldProperty{Type: "SUBTABLE"}, []any{}, `[]`},
		{"table refuses text", kintone.FieldProperty{Type: "SUBTABLE"}, "***", "error: must be []"},
		{"status", kintone.FieldProperty{Type: "STATUS"}, "Done", `"Done"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := maskValue(tt.prop, tt.prop.Type, tt.mask)
			if want, isErr := strings.CutPrefix(tt.want, "error: "); isErr {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("got %s, %v; want an error containing %q", got, err, want)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("got %s, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestMasksNameTheFirstBadOneAndSkipFieldsOutsideTheForm(t *testing.T) {
	f := newForm(map[string]kintone.FieldProperty{
		"amount": {Type: "NUMBER", Code: "amount"},
		"items": {Type: "SUBTABLE", Code: "items", Fields: map[string]kintone.FieldProperty{
			"qty": {Type: "NUMBER", Code: "qty"}}},
	}, "1", time.Time{})
	all := fieldSet{}
	all.All = true
	got, err := maskValues(f, all, map[string]any{"qty": json.Number("0"), "elsewhere": "***"})
	if err != nil || string(got["qty"]) != `"0"` || len(got) != 1 {
		t.Fatalf("got %v, %v; want the table column's mask only", got, err)
	}
	_, err = maskValues(f, all, map[string]any{"qty": "x", "amount": "y"})
	if err == nil || !strings.HasPrefix(err.Error(), "mask of amount (NUMBER)") {
		t.Fatalf("error %v, want it to name amount's mask", err)
	}
	if _, err := maskValues(f, all, map[string]any{"$id": "0"}); err == nil {
		t.Fatal("$id was masked")
	}
}
