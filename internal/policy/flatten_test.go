package policy

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/kgate/kgate/internal/kintone"
)

func TestFlattenGivesEachTypeOnePlainValue(t *testing.T) {
	cases := []struct {
		typ, value string
		want       any
	}{
		{"SINGLE_LINE_TEXT", `"Fair booth"`, "Fair booth"},
		{"SINGLE_LINE_TEXT", `""`, ""},
		{"MULTI_LINE_TEXT", `"a\nb"`, "a\nb"},
		{"RICH_TEXT", `"<b>x</b>"`, "<b>x</b>"},
		{"LINK", `"https://example.com"`, "https://example.com"},
		{"DROP_DOWN", `"acme"`, "acme"},
		{"DROP_DOWN", `null`, ""},
		{"RADIO_BUTTON", `null`, ""},
		{"RADIO_BUTTON", `"3"`, "3"},
		{"STATUS", `"Draft"`, "Draft"},
		{"DATE", `"2024-06-01"`, "2024-06-01"},
		{"DATE", `null`, ""},
		{"TIME", `"09:30"`, "09:30"},
		{"DATETIME", `"2024-06-01T09:30:00Z"`, "2024-06-01T09:30:00Z"},
		{"DATETIME", `""`, ""},
		{"CREATED_TIME", `"2024-06-01T09:30:00Z"`, "2024-06-01T09:30:00Z"},
		{"UPDATED_TIME", `"2024-06-01T09:31:00Z"`, "2024-06-01T09:31:00Z"},
		{"RECORD_NUMBER", `"12"`, "12"},
		{"RECORD_NUMBER", `"BUDGET-12"`, "12"},
		{"NUMBER", `"1500"`, json.Number("1500")},
		{"NUMBER", `"-0.50"`, json.Number("-0.5")},
		{"NUMBER", `"1.5e1"`, json.Number("15")},
		{"NUMBER", `"007"`, json.Number("7")},
		{"NUMBER", `"-0"`, json.Number("0")},
		{"NUMBER", `""`, nil},
		{"NUMBER", `null`, nil},
		{"NUMBER", `"abc"`, nil},
		{"CALC", `"12.25"`, json.Number("12.25")},
		{"CALC", `""`, nil},
		{"CALC", `"2024-06-01"`, "2024-06-01"},
		{"__ID__", `"42"`, json.Number("42")},
		{"__REVISION__", `"3"`, json.Number("3")},
		{"CHECK_BOX", `["a","b"]`, []string{"a", "b"}},
		{"CHECK_BOX", `[]`, []string{}},
		{"MULTI_SELECT", `null`, []string{}},
		{"CATEGORY", `["x"]`, []string{"x"}},
		{"USER_SELECT", `[{"code":"alice","name":"Alice"},{"code":"bob","name":"Bob"}]`, []string{"alice", "bob"}},
		{"ORGANIZATION_SELECT", `[{"code":"sales","name":"Sales"}]`, []string{"sales"}},
		{"GROUP_SELECT", `[]`, []string{}},
		{"STATUS_ASSIGNEE", `[{"code":"sam","name":"Sam"}]`, []string{"sam"}},
		{"CREATOR", `{"code":"alice","name":"Alice"}`, "alice"},
		{"MODIFIER", `{"code":"bob","name":"Bob"}`, "bob"},
		{"CREATOR", `null`, ""},
		{"FILE", `[{"contentType":"text/plain","fileKey":"20240601SECRETKEY","name":"a.txt","size":"12"}]`,
			[]any{map[string]any{"name": "a.txt", "contentType": "text/plain", "size": json.Number("12")}}},
		{"FILE", `[]`, []any{}},
		{"SUBTABLE", `[{"id":"7","value":{"item":{"type":"SINGLE_LINE_TEXT","value":"pens"},"cost":{"type":"NUMBER","value":"300"}}}]`,
			[]any{map[string]any{"item": "pens", "cost": json.Number("300")}}},
		{"SOMETHING_NEW", `{"a":[1,"b"]}`, map[string]any{"a": []any{json.Number("1"), "b"}}},
		{"", `"untyped"`, "untyped"},
	}
	for _, c := range cases {
		t.Run(c.typ+" "+c.value, func(t *testing.T) {
			got := Flatten(kintone.Record{"f": {Type: c.typ, Value: json.RawMessage(c.value)}})["f"]
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %#v, want %#v", got, c.want)
			}
		})
	}
}

func TestFlattenNeverCarriesFileKeys(t *testing.T) {
	rec := kintone.Record{"f": {Type: "FILE", Value: json.RawMessage(`[{"fileKey":"SECRET","name":"a","contentType":"x","size":"1"}]`)}}
	b, err := json.Marshal(Flatten(rec))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"f":[{"contentType":"x","name":"a","size":1}]}` {
		t.Fatalf("got %s", b)
	}
}

func TestDecimalIsExact(t *testing.T) {
	for in, want := range map[string]string{
		"0.1": "0.1", "100": "100", "1e2": "100", "1.50": "1.5", "-.5": "-0.5", "0.000": "0",
		"123456789012345678901234567890": "123456789012345678901234567890",
		"1.2345678901234567890123":       "1.2345678901234567890123",
		" 42 ":                           "42",
	} {
		if got, ok := decimal(in); !ok || string(got) != want {
			t.Errorf("decimal(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "x", "1/2", "NaN", "Inf", "1e"} {
		if got, ok := decimal(in); ok {
			t.Errorf("decimal(%q) = %q, want not a number", in, got)
		}
	}
}

func TestFlattenDecodesEscapedStrings(t *testing.T) {
	for raw, want := range map[string]string{
		`"plain"`:       "plain",
		`"a\"b"`:        `a"b`,
		`"tab\there"`:   "tab\there",
		`"\u3042"`:      "あ",
		`"あいう"`:         "あいう",
		"\"raw\ttab\"":  "", // not JSON
		`"\ud800"`:      "\ufffd",
		`"back\\slash"`: `back\slash`,
		`12`:            "",
		`"unterminated`: "",
	} {
		got := Flatten(kintone.Record{"f": {Type: "SINGLE_LINE_TEXT", Value: json.RawMessage(raw)}})["f"]
		if got != want {
			t.Errorf("%s: got %q, want %q", raw, got, want)
		}
	}
}
