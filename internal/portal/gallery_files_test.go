package portal

import (
	"encoding/json"
	"html"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kgate/kgate/internal/kintonesim"
)

// fileReadRule gives file.read a row rule of its own: read's (the
// demo's include) and cond. cond "" keeps file.read's rule read's.
func fileReadRule(cond string) func(string) string {
	return func(rego string) string {
		rego = strings.ReplaceAll(rego, "\ninclude if", "\nbase_include if")
		return rego + `
include if {
	input.action != "file.read"
	base_include
}

include if {
	input.action == "file.read"
	base_include
	` + cond + `
}
`
	}
}

// seedDocument is a documents record of the test seed as the ground truth
// reads it.
type seedDocument struct {
	org, audience string
	file          string // the content type of its file; "" without one
}

// seedDocuments reads the documents app's records from the seed the world
// serves, by record id.
func seedDocuments(t *testing.T) map[string]seedDocument {
	t.Helper()
	seed, err := kintonesim.LoadSeed("../../examples/partner-portal/seed.json")
	if err != nil {
		t.Fatal(err)
	}
	addHostileRecords(t, seed)
	types := map[string]string{}
	for _, f := range seed.Files {
		types[f.FileKey] = f.ContentType
	}
	str := func(raw json.RawMessage) string {
		var v struct{ Value string }
		json.Unmarshal(raw, &v)
		return v.Value
	}
	out := map[string]seedDocument{}
	for _, a := range seed.Apps {
		if a.ID != 3 {
			continue
		}
		for i, rec := range a.Records {
			d := seedDocument{org: str(rec["org"]), audience: str(rec["audience"])}
			var fv struct{ Value []struct{ FileKey string } }
			if json.Unmarshal(rec["file"], &fv) == nil && len(fv.Value) > 0 {
				d.file = types[fv.Value[0].FileKey]
			}
			out[strconv.Itoa(i+1)] = d
		}
	}
	return out
}

var (
	cardIDRE  = regexp.MustCompile(`<h2 class="card-title"><a href="/apps/documents/records/(\d+)">`)
	fileRE    = regexp.MustCompile(`href="(/files/[^"]+)"`)
	refusedEN = "Not available to you"
)

// galleryCard is what a card of the page links.
type galleryCard struct {
	thumb, preview, download string
	refused                  bool
}

func galleryCards(t *testing.T, body string) map[string]galleryCard {
	t.Helper()
	out := map[string]galleryCard{}
	for _, part := range strings.Split(body, `<li class="card gallery-card">`)[1:] {
		m := cardIDRE.FindStringSubmatch(part)
		if m == nil {
			t.Fatalf("a card without a record link: %s", part)
		}
		var c galleryCard
		if m := thumbRE.FindStringSubmatch(part); m != nil {
			c.thumb = html.UnescapeString(m[1])
		}
		if m := previewRE.FindStringSubmatch(part); m != nil {
			c.preview = html.UnescapeString(m[1])
		}
		if m := fileRE.FindStringSubmatch(part); m != nil {
			c.download = html.UnescapeString(m[1])
		}
		c.refused = strings.Contains(part, refusedEN)
		out[m[1]] = c
	}
	return out
}

func TestGalleryLinksFilesOnlyOfRecordsFileReadAdmits(t *testing.T) {
	docs := seedDocuments(t)
	// alice (acme, gold) reads acme's and shared records for silver and gold.
	sees := func(d seedDocument) bool { return d.org == "acme" || d.org == "all" }
	for _, tc := range []struct {
		name   string
		policy func(map[string]any)
		rules  func(string) string
		admits func(seedDocument) bool
	}{
		{"file.read for every record she reads", nil, nil,
			func(seedDocument) bool { return true }},
		{"file.read refused", goldDocuments(func(g map[string]any) { g["actions"] = []any{"read"} }), nil,
			func(seedDocument) bool { return false }},
		{"file.read's rule includes no record", nil, fileReadRule("false"),
			func(seedDocument) bool { return false }},
		{"file.read only for shared records", nil, fileReadRule(`input.record.org == "all"`),
			func(d seedDocument) bool { return d.org == "all" }},
		{"file.read only for the silver audience", nil, fileReadRule(`input.record.audience == "silver"`),
			func(d seedDocument) bool { return d.audience == "silver" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorldWith(t, worldOptions{policy: tc.policy, rules: tc.rules}, withGallery)
			r := w.get(t, demoMember("alice"), "/apps/documents/gallery?size=100", "Accept-Language", "en")
			if r.Code != http.StatusOK {
				t.Fatalf("status %d", r.Code)
			}
			cards := galleryCards(t, r.body)
			var wantCards, wantLinked, gotLinked []string
			for id, d := range docs {
				if !sees(d) {
					continue
				}
				wantCards = append(wantCards, id)
				if d.file != "" && tc.admits(d) {
					wantLinked = append(wantLinked, id)
				}
			}
			for id, c := range cards {
				if c.download != "" || c.thumb != "" || c.preview != "" {
					gotLinked = append(gotLinked, id)
				}
			}
			slices.Sort(wantCards)
			slices.Sort(wantLinked)
			slices.Sort(gotLinked)
			if got := slices.Sorted(maps.Keys(cards)); !slices.Equal(got, wantCards) {
				t.Fatalf("cards of records %v, want %v", got, wantCards)
			}
			if !slices.Equal(gotLinked, wantLinked) {
				t.Errorf("cards linking their file: %v, want %v", gotLinked, wantLinked)
			}
			for id, c := range cards {
				d, linked := docs[id], slices.Contains(wantLinked, id)
				image := strings.HasPrefix(d.file, "image/")
				// An image links its thumbnail and preview (which offers the
				// download), another file its download.
				if linked && (image && (c.thumb == "" || c.preview == "") || !image && (c.download == "" || c.thumb != "")) {
					t.Errorf("record %s (%s): download %q thumbnail %q preview %q", id, d.file, c.download, c.thumb, c.preview)
				}
				if want := d.file != "" && !linked; c.refused != want {
					t.Errorf("record %s: says the file is not available: %v, want %v", id, c.refused, want)
				}
				for _, link := range []string{c.thumb, c.preview, c.download} {
					if link == "" {
						continue
					}
					if got := w.get(t, demoMember("alice"), link, "Accept-Language", "en"); got.Code != http.StatusOK {
						t.Errorf("record %s: %s answers %d", id, link, got.Code)
					}
				}
			}
		})
	}
}

func TestGallerySaysInTheMembersLanguageThatAFileIsNotAvailable(t *testing.T) {
	for lang, want := range map[string]string{"en": refusedEN, "ja": "このファイルはご利用いただけません"} {
		t.Run(lang, func(t *testing.T) {
			w := newWorldWith(t, worldOptions{rules: fileReadRule(`input.record.org == "all"`)}, withGallery)
			r := w.get(t, demoMember("alice"), "/apps/documents/gallery?size=100", "Accept-Language", lang)
			mustContain(t, r.body, `<span>brand-mark.png</span><span class="card-refused">`+want+`</span>`)
		})
	}
}

func TestGalleryDecidesFileReadOncePerPage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy func(map[string]any)
		rules  func(string) string
		reads  int
	}{
		{"file.read as read: the list's read only", nil, nil, 1},
		{"file.read refused: the list's read only", goldDocuments(func(g map[string]any) { g["actions"] = []any{"read"} }), nil, 1},
		{"file.read's rule includes no record: the list's read only", nil, fileReadRule("false"), 1},
		{"file.read with a condition: one more read for the page", nil, fileReadRule(`input.record.org == "all"`), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorldWith(t, worldOptions{policy: tc.policy, rules: tc.rules}, withGallery)
			_, got := w.view(t, "alice", "/apps/documents/gallery?size=100")
			if got.records != tc.reads || got.comments != 0 {
				t.Errorf("kintone read records %d times (comments %d, other %v), want %d", got.records, got.comments, got.other, tc.reads)
			}
		})
	}
}
