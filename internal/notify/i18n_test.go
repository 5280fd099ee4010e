package notify

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Every message is in both languages, with the same placeholders, and
// every key the code uses is in the catalogues.
func TestEveryMessageIsInJapaneseAndEnglish(t *testing.T) {
	ja, en := catalogs["ja"], catalogs["en"]
	if !slices.Equal(slices.Sorted(maps.Keys(ja)), slices.Sorted(maps.Keys(en))) {
		t.Fatalf("the catalogues differ in keys:\nja %v\nen %v", slices.Sorted(maps.Keys(ja)), slices.Sorted(maps.Keys(en)))
	}
	slot := regexp.MustCompile(`\{\d\}`)
	for k := range ja {
		a, b := slot.FindAllString(ja[k], -1), slot.FindAllString(en[k], -1)
		slices.Sort(a)
		slices.Sort(b)
		if !slices.Equal(a, b) {
			t.Errorf("%s: placeholders ja %v, en %v", k, a, b)
		}
	}
	used := regexp.MustCompile(`text\(lang, "([a-z.]+)"`)
	keys := map[string]bool{}
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range used.FindAllStringSubmatch(string(b), -1) {
			keys[m[1]] = true
		}
	}
	for _, e := range events {
		keys["event."+e], keys["subject."+e] = true, true
	}
	keys["event.mention"], keys["subject.mention"] = true, true
	for k := range keys {
		if _, ok := en[k]; !ok && !strings.HasSuffix(k, ".") {
			t.Errorf("key %q is used but not in the catalogues", k)
		}
	}
}
