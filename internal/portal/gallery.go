package portal

import (
	"encoding/json"
	"mime"
	"net/http"
	"net/url"

	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/thumbnail"
)

// galleryPath is an app's gallery (card) view.
func galleryPath(alias string) string { return appPath(alias) + "/gallery" }

// galleryConfig is the app's gallery as this member sees it: the
// configured fields cut down to the readable ones. nil when the app has
// no gallery.
type galleryConfig struct {
	image  string // the FILE field, "" when unreadable or masked
	title  string
	fields []string
}

func (av *appView) galleryConfig() *galleryConfig {
	g := av.set.Gallery
	if g == nil {
		return nil
	}
	gc := &galleryConfig{title: av.title, fields: av.readable(g.Fields)}
	if p, ok := av.props[g.ImageField]; ok && p.Type == "FILE" && !av.masked[g.ImageField] {
		gc.image = g.ImageField
	}
	if g.TitleField != "" {
		gc.title = ""
		if _, ok := av.props[g.TitleField]; ok {
			gc.title = g.TitleField
		}
	}
	return gc
}

// columns are the fields a card shows, for the one read of the page.
func (gc *galleryConfig) columns() []string {
	var out []string
	for _, code := range append([]string{gc.image, gc.title}, gc.fields...) {
		if code != "" {
			out = append(out, code)
		}
	}
	return out
}

// cardView is one record's card.
type cardView struct {
	Href, Title string
	Media       *mediaView // nil: no file
	Fields      []cardField
}

type cardField struct {
	Label string
	Value value
}

// mediaView is a card's picture: a thumbnail of an image, an icon for
// other files. The URLs are empty when the member may not read files.
type mediaView struct {
	Kind     string // "image", "pdf", "video" or "file"
	Name     string
	Refused  bool // file.read excludes the record: the card says so
	Thumb    string
	Preview  string
	Download string
}

// gallery renders an app's records as cards, with the list's search,
// filters and paging.
func (c *call) gallery(alias string) {
	av, cfg, st, ok := c.listView(alias)
	if !ok {
		return
	}
	gc := av.galleryConfig()
	if gc == nil {
		c.errorPage(http.StatusNotFound, nil, nil)
		return
	}
	pg, sizes, notices, err := c.fetchListed(av, cfg, st, gc.columns())
	if err != nil {
		c.fail(err)
		return
	}
	records, err := decodeRecords(pg)
	if err != nil {
		c.fail(err)
		return
	}
	files, err := c.filesReadable(av, gc, records)
	if err != nil {
		c.fail(err)
		return
	}
	name, body := c.listFrame(av, cfg, st, "gallery", galleryPath(alias))
	c.paging(body, st, pg, sizes)
	body.Notices = notices
	for _, rec := range records {
		body.Cards = append(body.Cards, c.card(av, gc, rec, files[stringValue(rec["$id"])]))
	}
	c.render(http.StatusOK, "gallery", c.newPage(name, body, crumb{Label: name, Href: appPath(alias)}, crumb{Label: c.loc.T("views.gallery")}))
}

// filesReadable is the records of the page whose files the member may
// download, decided once for the page as each download is: a card links
// its file only then, so no card shows an image the download refuses.
func (c *call) filesReadable(av *appView, gc *galleryConfig, records []kintone.Record) (map[string]bool, error) {
	if gc.image == "" {
		return nil, nil
	}
	var ids []string
	for _, rec := range records {
		if fileOf(rec[gc.image]) != nil {
			ids = append(ids, stringValue(rec["$id"]))
		}
	}
	return c.h.gw.FilesReadable(c.ctx, c.id, av.ref, ids)
}

func (c *call) card(av *appView, gc *galleryConfig, rec kintone.Record, files bool) cardView {
	r := c.renderer(av)
	id := stringValue(rec["$id"])
	title := c.loc.T("record.untitled", id)
	if gc.title != "" {
		if t := textOf(r.render(rec[gc.title], av.props[gc.title], true)); t != "" {
			title = t
		}
	}
	card := cardView{Href: recordPath(av.alias, id), Title: title}
	for _, code := range gc.fields {
		card.Fields = append(card.Fields, cardField{Label: av.label(code), Value: r.render(rec[code], av.props[code], true)})
	}
	if gc.image != "" {
		card.Media = media(rec[gc.image], av.alias, id, files)
	}
	return card
}

// fileOf is the first file of a FILE field's value; nil when it holds
// none.
func fileOf(fv kintone.FieldValue) *fileValue {
	var fs []fileValue
	if json.Unmarshal(fv.Value, &fs) != nil || len(fs) == 0 {
		return nil
	}
	return &fs[0]
}

// media is the card's picture: the first file of the field. Without
// files (the member may not download this record's) it has no links.
func media(fv kintone.FieldValue, alias, recordID string, files bool) *mediaView {
	f := fileOf(fv)
	if f == nil {
		return nil
	}
	m := &mediaView{Kind: fileKind(f.ContentType), Name: f.Name, Refused: !files}
	if !files || f.FileKey == "" {
		return m
	}
	m.Download = fileHref(f.FileKey, f.Name)
	if m.Kind == "image" {
		m.Thumb = thumbnailHref(f.FileKey, "card")
		m.Preview = previewHref(f.FileKey, alias, recordID)
	}
	return m
}

// fileKind sorts a file by its type into what a card shows: a thumbnail
// for the images thumbnail reads, an icon for the rest.
func fileKind(ctype string) string {
	mt, _, _ := mime.ParseMediaType(ctype)
	switch {
	case mt == "image/jpeg" || mt == "image/png" || mt == "image/gif" || mt == "image/webp":
		return "image"
	case mt == "application/pdf":
		return "pdf"
	case len(mt) > 6 && mt[:6] == "video/":
		return "video"
	}
	return "file"
}

// thumbSizes are the thumbnail sizes by their name in URLs.
var thumbSizes = map[string]int{"card": thumbnail.CardSize, "preview": thumbnail.PreviewSize}

func thumbnailHref(token, size string) string {
	return "/thumbnails/" + size + "/" + url.PathEscape(token)
}

// previewHref is an image's preview page; the app and record only lead
// back to where the member came from.
func previewHref(token, alias, recordID string) string {
	return "/previews/" + url.PathEscape(token) + "?" + url.Values{"app": {alias}, "record": {recordID}}.Encode()
}
