package gateway

import "testing"

func TestErrorKeysNameTheFieldTheyConcern(t *testing.T) {
	for _, c := range []struct {
		key, code, inner, prefix string
		field                    bool
	}{
		{"record.title.value", "title", "", "record", true},
		{"record.tags.values[1].value", "tags", "", "record", true},
		{"record[amount].value", "amount", "", "record", true},
		{"records[2].title.value", "title", "", "records[2]", true},
		{"records[2][amount].value", "amount", "", "records[2]", true},
		{"records[0].record.title.value", "title", "", "records[0].record", true},
		{"records[0].record[amount].value", "amount", "", "records[0].record", true},
		{"record.items.value[0].value.cost.value", "items", "cost", "record", true},
		{"records[3].record.items.value[1].value.receipt.values", "items", "receipt", "records[3].record", true},
		{"records[0].id", "", "", "", false},
		{"records[0].revision", "", "", "", false},
		{"revision", "", "", "", false},
		{"comment.text", "", "", "", false},
		{"record", "", "", "", false},
		{"records[0].record.id", "", "", "", false},
	} {
		code, inner, prefix, field := fieldOfKey(c.key)
		if code != c.code || inner != c.inner || prefix != c.prefix || field != c.field {
			t.Errorf("fieldOfKey(%q) = %q %q %q %v, want %q %q %q %v", c.key, code, inner, prefix, field, c.code, c.inner, c.prefix, c.field)
		}
	}
}

func TestValuesCompareAsKintoneStoresThem(t *testing.T) {
	for _, c := range []struct {
		typ, a, b string
		same      bool
	}{
		{"NUMBER", `"1000"`, `1000.0`, true},
		{"NUMBER", `"1.5e1"`, `"15"`, true},
		{"NUMBER", `""`, `null`, true},
		{"NUMBER", `"1"`, `"2"`, false},
		{"DROP_DOWN", `null`, `""`, true},
		{"DATE", `"2026-01-05"`, `"2026-1-5"`, true},
		{"DATE", `"2026-01-01"`, `"2026"`, true},
		{"DATE", `"2026-02-30"`, `"2026-02-30"`, false}, // kintone refuses it: a change
		{"TIME", `"09:05"`, `"9:05"`, true},
		{"DATETIME", `"2026-11-05T01:00:00Z"`, `"2026-11-05T10:00+09:00"`, true},
		{"DATETIME", `"2026-11-05T01:00:00Z"`, `"2026-11-05T01:00:59Z"`, true}, // seconds are ignored
		{"USER_SELECT", `[{"code":"boss","name":"Boss Kimura"}]`, `[{"code":"boss"}]`, true},
		{"CHECK_BOX", `["a","b"]`, `["b","a"]`, false},
		{"SINGLE_LINE_TEXT", `"x"`, `"x "`, false},
		{"SINGLE_LINE_TEXT", `"5"`, `5`, true},
	} {
		if got := sameValue(c.typ, []byte(c.a), []byte(c.b)); got != c.same {
			t.Errorf("sameValue(%s, %s, %s) = %v", c.typ, c.a, c.b, got)
		}
	}
}
