package policy

import (
	"context"
	"strings"
	"testing"
)

func TestALimitRuleOrLevelLimitIsALoadErrorNamingTheLineAndRate(t *testing.T) {
	for _, c := range []struct {
		name  string
		files map[string]string
		want  []string // each must appear in the error
	}{
		{"a limit rule", map[string]string{"p.rego": "package kgate\nallow := true\n\nlimit := 50\n"},
			[]string{"p.rego:4:", "rule limit", "rate", "records per minute"}},
		{"a limit rule with a body", map[string]string{"sub/q.rego": "package kgate\nallow := true\nlimit := 50 if input.user.level == \"silver\"\n"},
			[]string{"sub/q.rego:3:", "rule limit"}},
		{"a limit in a level of data.json", map[string]string{
			"p.rego":    "package kgate\nallow := true\n",
			"data.json": "{\"apps\": {\"budget\": {\"levels\": {\n  \"gold\": {\"actions\": [\"read\"],\n    \"limit\": 100}}}}}\n"},
			[]string{"data.json:3:", `"limit"`, `"rate"`, "records per minute"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Open(context.Background(), Options{Dir: writeDir(t, c.files)})
			if err == nil {
				t.Fatal("loaded; want an error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}

func TestLimitElsewhereIsNotRetired(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"a limit rule in another package": {"p.rego": "package kgate\nallow := true\n", "q.rego": "package other\nlimit := 5\n"},
		"a limit in a test":               {"p.rego": "package kgate\nallow := true\n", "p_test.rego": "package kgate_test\nlimit := 5\ntest_x if true\n"},
		"a limit outside a level":         {"p.rego": "package kgate\nallow := true\n", "data.json": `{"apps": {"a": {"limit": 5, "levels": {"x": {"limits": 1}}}}, "limit": 2}`},
		"a rate":                          {"p.rego": "package kgate\nallow := true\nrate := 60\n"},
	} {
		if _, err := Open(context.Background(), Options{Dir: writeDir(t, files)}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
