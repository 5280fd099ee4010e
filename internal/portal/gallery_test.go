package portal

import (
	"bytes"
	"encoding/json"
	"html"
	"image"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/kgate/kgate/internal/download"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintonesim"
	"github.com/kgate/kgate/internal/thumbnail"
)

// withGallery configures the documents app's gallery as the example does.
func withGallery(c *Config) {
	c.Apps["documents"] = AppSettings{Gallery: &Gallery{ImageField: "file", TitleField: "title",
		Fields: []string{"org", "audience", "published"}}}
}

// goldDocuments changes the documents app's gold level in the policy data.
func goldDocuments(change func(gold map[string]any)) func(map[string]any) {
	return func(data map[string]any) {
		change(data["apps"].(map[string]any)["documents"].(map[string]any)["levels"].(map[string]any)["gold"].(map[string]any))
	}
}

var (
	thumbRE   = regexp.MustCompile(`<img src="(/thumbnails/card/[^"]+)" alt="([^"]*)"`)
	previewRE = regexp.MustCompile(`href="(/previews/[^"]+)"`)
)

func TestGalleryShowsACardPerRecordAsTheListShowsItsFields(t *testing.T) {
	for _, tc := range []struct {
		name     string
		policy   func(map[string]any)
		want     []string
		bad      []string
		previews bool
	}{
		{"the demo policy", nil,
			[]string{`<h2 class="card-title"><a href="/apps/documents/records/9">API workshop slides / APIワークショップ資料</a></h2>`,
				`<dt>Audience</dt>`, `<dt>Published</dt>`,
				`alt="api-workshop-slide.jpg"`, `alt="brand-mark.png"`,
				`<span class="visually-hidden">PDF document: </span><a href="/files/`, `download="price-list-gold.pdf">price-list-gold.pdf</a>`,
				`<a href="/apps/documents/gallery" aria-current="page">Gallery</a>`},
			[]string{"Bluebird warehouse map", "warehouse-map.jpg"}, true},
		{"audience masked", goldDocuments(func(g map[string]any) { g["masks"] = map[string]any{"audience": ""} }),
			[]string{`<dt>Audience</dt><dd><span class="masked">(hidden)</span></dd>`, `alt="api-workshop-slide.jpg"`},
			[]string{`<dd>gold</dd>`, `<dd>silver</dd>`}, true},
		{"published unreadable", goldDocuments(func(g map[string]any) {
			g["readable"] = []any{"title", "org", "audience", "file", "description"}
		}),
			[]string{`<dt>Audience</dt>`, `alt="api-workshop-slide.jpg"`},
			[]string{`<dt>Published</dt>`}, true},
		{"the file field unreadable", goldDocuments(func(g map[string]any) {
			g["readable"] = []any{"title", "org", "audience", "description", "published"}
		}),
			[]string{`API workshop slides`},
			[]string{"/thumbnails/", "/previews/", "/files/", "api-workshop-slide.jpg"}, false},
		{"without file.read", goldDocuments(func(g map[string]any) { g["actions"] = []any{"read"} }),
			[]string{`API workshop slides`, `api-workshop-slide.jpg`},
			[]string{"/thumbnails/", "/previews/", "/files/"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorldWith(t, worldOptions{policy: tc.policy}, withGallery)
			r := w.get(t, demoMember("alice"), "/apps/documents/gallery", "Accept-Language", "en")
			if r.Code != http.StatusOK {
				t.Fatalf("status %d", r.Code)
			}
			mustContain(t, r.body, tc.want...)
			mustNotContain(t, r.body, tc.bad...)
			if got := len(previewRE.FindAllString(r.body, -1)) > 0; got != tc.previews {
				t.Errorf("preview links: %v, want %v", got, tc.previews)
			}
		})
	}
}

func TestGalleryKeepsTheListsSearchFiltersAndPaging(t *testing.T) {
	w := newWorld(t, withGallery)
	r := w.get(t, demoMember("alice"), "/apps/documents/gallery?q=workshop", "Accept-Language", "en")
	mustContain(t, r.body, `action="/apps/documents/gallery"`, `value="workshop"`, "API workshop slides")
	mustNotContain(t, r.body, "Holiday calendar")
	r = w.get(t, demoMember("alice"), "/apps/documents/gallery?size=2&page=2", "Accept-Language", "en")
	mustContain(t, r.body, `<nav class="pager"`, `href="/apps/documents/gallery?page=3&amp;size=2"`)
	if n := strings.Count(r.body, `<li class="card gallery-card">`); n != 2 {
		t.Errorf("%d cards on a page of 2", n)
	}
	if r := w.get(t, demoMember("alice"), "/apps/budget/gallery", "Accept-Language", "en"); r.Code != http.StatusNotFound {
		t.Errorf("an app without a gallery: status %d", r.Code)
	}
}

// thumbLink returns alice's first card thumbnail and its alt text.
func thumbLink(t *testing.T, w *world) (string, string) {
	t.Helper()
	r := w.get(t, demoMember("alice"), "/apps/documents/gallery", "Accept-Language", "en")
	m := thumbRE.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatal("the gallery has no thumbnail")
	}
	return html.UnescapeString(m[1]), m[2]
}

func TestThumbnailsAreServedUnderTheDownloadRuleAndHeaders(t *testing.T) {
	w := newWorld(t, withGallery)
	link, name := thumbLink(t, w)
	token := link[strings.LastIndex(link, "/")+1:]
	for _, tc := range []struct {
		who    string
		status int
	}{
		{"alice", http.StatusOK},
		{"bob", http.StatusNotFound}, // the token was issued to alice
		{"dave", http.StatusNotFound},
	} {
		t.Run(tc.who, func(t *testing.T) {
			r := w.get(t, demoMember(tc.who), link, "Accept-Language", "en")
			dl := w.get(t, demoMember(tc.who), fileHref(token, name), "Accept-Language", "en")
			if r.Code != tc.status || dl.Code != tc.status {
				t.Fatalf("thumbnail %d, download %d, want %d", r.Code, dl.Code, tc.status)
			}
			if tc.status != http.StatusOK {
				return
			}
			img, format, err := image.Decode(bytes.NewReader(r.Body.Bytes()))
			if err != nil || max(img.Bounds().Dx(), img.Bounds().Dy()) > thumbnail.CardSize {
				t.Fatalf("thumbnail %s %v (%v)", format, img.Bounds(), err)
			}
			for k, want := range map[string]string{
				"Content-Type":            "image/" + format,
				"Content-Disposition":     "inline; filename=" + thumbnailName(name, "image/"+format),
				"X-Content-Type-Options":  "nosniff",
				"Cache-Control":           "no-store",
				"Content-Security-Policy": download.CSP,
			} {
				if got := r.Header().Get(k); got != want {
					t.Errorf("%s: %q, want %q", k, got, want)
				}
			}
		})
	}
	for name, want := range map[string]string{"holiday-calendar.png": "holiday-calendar.jpg", "brand-mark.png": "brand-mark.png",
		"slide.jpeg": "slide.jpg", "no extension": "no extension.jpg"} {
		ctype := "image/jpeg"
		if strings.HasSuffix(want, ".png") {
			ctype = "image/png"
		}
		if got := thumbnailName(name, ctype); got != want {
			t.Errorf("the thumbnail of %s is named %s, want %s", name, got, want)
		}
	}
	if r := w.get(t, demoMember("alice"), strings.Replace(link, "/card/", "/huge/", 1)); r.Code != http.StatusNotFound {
		t.Errorf("an unknown size: status %d", r.Code)
	}
}

// A member whose policy lacks file.read gets no thumbnail: the token the
// record still carries answers at /thumbnails and /previews exactly as at
// /files.
func TestThumbnailRefusedWithoutFileReadLikeTheDownload(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy func(map[string]any)
		status int
	}{
		{"file.read allowed", nil, http.StatusOK},
		{"file.read taken away", goldDocuments(func(g map[string]any) { g["actions"] = []any{"read"} }), http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorldWith(t, worldOptions{policy: tc.policy}, withGallery)
			token := fileToken(t, w, "9")
			dl := w.get(t, demoMember("alice"), fileHref(token, ""), "Accept-Language", "en")
			th := w.get(t, demoMember("alice"), thumbnailHref(token, "card"), "Accept-Language", "en")
			pv := w.get(t, demoMember("alice"), previewHref(token, "documents", "9"), "Accept-Language", "en")
			if dl.Code != tc.status || th.Code != tc.status || pv.Code != tc.status {
				t.Fatalf("download %d, thumbnail %d, preview %d; want %d", dl.Code, th.Code, pv.Code, tc.status)
			}
			if tc.status != http.StatusOK && (th.Header().Get("Content-Type") != dl.Header().Get("Content-Type") ||
				strings.HasPrefix(th.Header().Get("Content-Type"), "image/")) {
				t.Errorf("the refused thumbnail is a %q, the refused download a %q", th.Header().Get("Content-Type"), dl.Header().Get("Content-Type"))
			}
		})
	}
}

// fileToken is the file token alice's read of a documents record carries,
// as the gateway hands it out whatever file.read says.
func fileToken(t *testing.T, w *world, record string) string {
	t.Helper()
	pg, err := w.gw.ListRecords(t.Context(), demoMember("alice"), gateway.ListRequest{App: gateway.AppRef{ID: "3", Space: "7"},
		Query: "$id = " + record, Fields: []string{"file"}})
	if err != nil || len(pg.Records) != 1 {
		t.Fatalf("record %s: %v", record, err)
	}
	var rec map[string]struct {
		Value []struct{ FileKey string }
	}
	if err := json.Unmarshal(pg.Records[0], &rec); err != nil || len(rec["file"].Value) == 0 {
		t.Fatalf("record %s has no file token (%v): %s", record, err, pg.Records[0])
	}
	return rec["file"].Value[0].FileKey
}

func TestPreviewPageShowsTheImageWithItsNameAndDownloadLink(t *testing.T) {
	w := newWorld(t, withGallery)
	r := w.get(t, demoMember("alice"), "/apps/documents/gallery", "Accept-Language", "en")
	m := regexp.MustCompile(`href="(/previews/[^"]+record=9)"`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatal("no preview link for record 9")
	}
	p := w.get(t, demoMember("alice"), html.UnescapeString(m[1]), "Accept-Language", "en")
	if p.Code != http.StatusOK {
		t.Fatalf("status %d", p.Code)
	}
	mustContain(t, p.body, `<h1 class="preview-name">api-workshop-slide.jpg</h1>`, `alt="api-workshop-slide.jpg" width="800" height="500"`,
		`<img src="/thumbnails/preview/`, `download="api-workshop-slide.jpg">Download</a>`, `<a href="/apps/documents/records/9">Back to the record</a>`)
	ja := w.get(t, demoMember("alice"), html.UnescapeString(m[1]), "Accept-Language", "ja")
	mustContain(t, ja.body, `>ダウンロード</a>`, `>レコードに戻る</a>`)
}

// brokenImages adds records whose "images" thumbnail refuses: a
// truncated JPEG and a PNG header on garbage.
func brokenImages(s *kintonesim.Seed) {
	s.Files = append(s.Files,
		kintonesim.SeedFile{FileKey: "broken-jpeg", Name: "broken.jpg", ContentType: "image/jpeg", Text: "\xff\xd8\xff\xe0\x00\x10JFIF\x00"},
		kintonesim.SeedFile{FileKey: "garbage-png", Name: "garbage.png", ContentType: "image/png", Text: "\x89PNG\r\n\x1a\nnot really"})
	for i := range s.Apps {
		if s.Apps[i].Code != "documents" {
			continue
		}
		for _, key := range []string{"broken-jpeg", "garbage-png"} {
			s.Apps[i].Records = append(s.Apps[i].Records, map[string]json.RawMessage{
				"title": json.RawMessage(`{"value":"Broken ` + key + `"}`), "org": json.RawMessage(`{"value":"all"}`),
				"audience": json.RawMessage(`{"value":"silver"}`),
				"file":     json.RawMessage(`{"value":[{"fileKey":"` + key + `"}]}`),
			})
		}
	}
}

func TestMalformedImagesAreRefusedWithAClearMessage(t *testing.T) {
	w := newWorldWith(t, worldOptions{seed: brokenImages}, withGallery)
	for _, record := range []string{"18", "19"} {
		token := fileToken(t, w, record)
		for _, lang := range []string{"en", "ja"} {
			th := w.get(t, demoMember("alice"), thumbnailHref(token, "card"), "Accept-Language", lang)
			want := map[string]string{"en": "The file is not an image kgate can read, or it is damaged.",
				"ja": "kgate が読める画像ではないか、ファイルが壊れています。"}[lang]
			if th.Code != http.StatusUnprocessableEntity || !strings.Contains(th.body, want) {
				t.Errorf("record %s (%s): thumbnail status %d, body lacks the reason", record, lang, th.Code)
			}
			pv := w.get(t, demoMember("alice"), previewHref(token, "documents", record), "Accept-Language", lang)
			if pv.Code != http.StatusOK || !strings.Contains(pv.body, want) || strings.Contains(pv.body, "/thumbnails/") {
				t.Errorf("record %s (%s): preview status %d, want the reason and no image", record, lang, pv.Code)
			}
		}
	}
}

// A card shows a thumbnail only for the images thumbnail reads; other
// files get their type's icon, and /thumbnails refuses them as missing.
func TestFileKindsChooseThumbnailOrIcon(t *testing.T) {
	for ctype, want := range map[string]string{
		"image/jpeg": "image", "image/png": "image", "image/gif": "image", "image/webp": "image",
		"image/svg+xml": "file", "image/bmp": "file", "application/pdf": "pdf", "video/mp4": "video",
		"video/quicktime": "video", "text/plain; charset=utf-8": "file", "": "file", "not a type": "file",
	} {
		if got := fileKind(ctype); got != want {
			t.Errorf("fileKind(%q) = %q, want %q", ctype, got, want)
		}
	}
	w := newWorld(t, withGallery)
	token := fileToken(t, w, "2") // price-list-gold.pdf
	if r := w.get(t, demoMember("alice"), thumbnailHref(token, "card"), "Accept-Language", "en"); r.Code != http.StatusNotFound {
		t.Errorf("a PDF's thumbnail: status %d", r.Code)
	}
	if r := w.get(t, demoMember("alice"), fileHref(token, ""), "Accept-Language", "en"); r.Code != http.StatusOK {
		t.Errorf("the PDF itself: status %d", r.Code)
	}
}
