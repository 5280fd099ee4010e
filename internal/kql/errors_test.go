package kql

import (
	"strings"
	"testing"
)

func TestErrorMessagesByLanguage(t *testing.T) {
	_, err := Parse(`a = `)
	e := asError(t, err)
	for lang, want := range map[string]string{
		"ja":    "入力内容が正しくありません。",
		"ja-JP": "入力内容が正しくありません。",
		"en":    "Missing or invalid input.",
		"":      "Missing or invalid input.",
		"fr":    "Missing or invalid input.",
		"jap":   "Missing or invalid input.",
	} {
		if got := e.Message(lang); got != want {
			t.Errorf("Message(%q) = %q, want %q", lang, got, want)
		}
	}
	if d := e.Details("ja"); len(d) != 1 || !strings.HasPrefix(d[0], "クエリ記法が間違っています。") {
		t.Errorf("Details(ja) = %q", d)
	}
	if d := e.Details("en"); len(d) != 1 || !strings.HasPrefix(d[0], "unsupported query format") {
		t.Errorf("Details(en) = %q", d)
	}
}

func TestErrorWithoutKeyHasNoDetails(t *testing.T) {
	e := asError(t, Check(&Query{Limit: intp(501)}, nil))
	if e.Key != "" || e.Details("en") != nil || e.Details("ja") != nil {
		t.Fatalf("key %q, details %q", e.Key, e.Details("en"))
	}
}

func TestErrorStringCarriesCodeAndMessages(t *testing.T) {
	_, err := Parse(`a = 1)`)
	s := err.Error()
	for _, sub := range []string{"CB_VA01", "Missing or invalid input.", "query:", "character 6"} {
		contains(t, s, sub)
	}
	s = Check(mustParse(t, `x = 1`), nil).Error()
	contains(t, s, "GAIA_IQ11")
	contains(t, s, "Specified field (x) not found.")
}

func TestSyntaxErrorPositionCountsCharacters(t *testing.T) {
	// Six kanji and a space come before the bad "!": character 8, not byte 20.
	_, err := Parse(`顧客名会社名 ! 1`)
	e := asError(t, err)
	contains(t, e.Details("en")[0], "at character 8,")
	contains(t, e.Details("ja")[0], "8 文字目")
}

func TestGrouped(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 10000: "10,000", 65536: "65,536", 1234567: "1,234,567", -1000: "-1,000"} {
		if got := grouped(n); got != want {
			t.Errorf("grouped(%d) = %q, want %q", n, got, want)
		}
	}
}
