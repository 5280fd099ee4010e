package portal

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
)

// The list's CSV export is the list as the member sees it — the same
// search, filters, sort, readable columns, masks and value formats, with
// the column labels of the page's language as its header — over every
// record rather than one page. It is read through a cursor of the gateway
// and written page by page, so an export of any size takes the memory of
// one page. The file is UTF-8 with a byte-order mark (so that Excel reads
// it as UTF-8) and CRLF line ends.
//
// An export may hold at most the policy's export cap for the member (rule
// export; defaultExportCap without it). A view holding more is refused
// before anything is written, with the count and the cap, so that a file
// is never silently cut; the export also stops at the cap should records
// be added while it is written, and says so in its last line.

// defaultExportCap bounds an export when the policy has no export rule.
const defaultExportCap = 10000

// exportPath is the list's CSV export.
func exportPath(alias string) string { return appPath(alias) + "/export.csv" }

// exportCSV streams the list's records as CSV.
func (c *call) exportCSV(alias string) {
	av, cfg, st, ok := c.listView(alias)
	if !ok {
		return
	}
	if av.masked[st.Sort] {
		st.Sort, st.Desc = "", false // as the list: masked fields are not sorted by
	}
	q := st.query(cfg, c.loc.tz, 1)
	q.Limit, q.Offset = nil, nil
	fields := append([]string{"$id"}, cfg.columns...)
	if rn := av.recordNumber(); rn != "" {
		fields = append(fields, rn)
	}
	limit := av.export
	if limit <= 0 {
		limit = defaultExportCap
	}
	c.streamCSV(av, cfg, gateway.CursorRequest{App: av.ref, Fields: fields, Query: q.String(), Size: cursorSize}, limit)
}

// streamCSV opens the cursor, refuses a view past the cap, and writes the
// file; the export is audited with the records it held.
func (c *call) streamCSV(av *appView, cfg *listConfig, req gateway.CursorRequest, limit int) {
	ctx := kintone.WithPriority(c.ctx, kintone.PriorityLow)
	key, total, err := c.h.gw.CreateCursor(ctx, c.id, req)
	if err != nil {
		c.h.gw.LogExport(c.ctx, c.id, av.ref, 0, err)
		c.fail(err)
		return
	}
	if total > int64(limit) {
		_ = c.h.gw.DeleteCursor(ctx, c.id, key)
		c.h.gw.LogExport(c.ctx, c.id, av.ref, 0, fmt.Errorf("the view holds %d records, past the export cap of %d", total, limit))
		c.errorPage(http.StatusForbidden, []string{c.loc.T("export.over", c.loc.Int(total), c.loc.Int(int64(limit)))}, nil)
		return
	}
	h := c.w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s.csv"`, fileSafe(av.alias), c.h.now().In(c.loc.tz).Format("20060102")))
	c.w.WriteHeader(http.StatusOK)
	out := newCSVOut(c.w)
	head := c.csvHeader(av, cfg)
	out.row(head)
	r := c.renderer(av)
	r.files = nil // a file's name only: links would need the member's session
	rn := av.recordNumber()
	n := 0
	err = c.drain(ctx, key, func(rec kintone.Record) error {
		if n >= limit {
			return errExportCap
		}
		out.row(c.csvRow(av, cfg, r, rn, rec))
		n++
		return nil
	}, out.flush)
	if err != nil {
		msg := c.loc.T("export.cap", c.loc.Int(int64(limit)))
		if err != errExportCap {
			msg = c.loc.T("export.stopped")
		}
		last := make([]string, len(head)) // as wide as the rest, for strict readers
		last[0] = msg
		out.row(last)
	}
	out.flush()
	c.h.gw.LogExport(c.ctx, c.id, av.ref, n, err)
}

// errExportCap stops an export that reached its cap.
var errExportCap = fmt.Errorf("the export reached its cap")

func (c *call) csvHeader(av *appView, cfg *listConfig) []string {
	head := []string{c.loc.T("list.record")}
	for _, code := range cfg.columns {
		head = append(head, av.label(code))
	}
	return head
}

func (c *call) csvRow(av *appView, cfg *listConfig, r *renderer, rn string, rec kintone.Record) []string {
	label := stringValue(rec["$id"])
	if s := stringValue(rec[rn]); rn != "" && s != "" {
		label = s
	}
	row := []string{label}
	for _, code := range cfg.columns {
		row = append(row, cellText(r, rec[code], av.props[code]))
	}
	return row
}

// cellText is a value as the list shows it, as one line of text: whole,
// where the list cuts long texts.
func cellText(r *renderer, fv kintone.FieldValue, p kintone.FieldProperty) string {
	if p.Type == "RICH_TEXT" && !r.masked[p.Code] {
		return r.rich.plain(stringValue(fv))
	}
	v := r.render(fv, p, p.Type == "SUBTABLE")
	switch v.Kind {
	case "empty":
		return ""
	case "list":
		return strings.Join(v.Items, ", ")
	case "files":
		names := make([]string, len(v.Files))
		for i, f := range v.Files {
			names[i] = f.Name
		}
		return strings.Join(names, ", ")
	}
	return v.Text
}

// drain reads the rest of an open cursor into fn, calling flush after
// each page; the cursor is closed when fn stops the read early.
func (c *call) drain(ctx context.Context, key string, fn func(kintone.Record) error, flush func()) error {
	for {
		pg, err := c.h.gw.GetCursor(ctx, c.id, key)
		if err != nil {
			_ = c.h.gw.DeleteCursor(ctx, c.id, key)
			return err
		}
		recs, err := decodeRecords(pg)
		if err != nil {
			_ = c.h.gw.DeleteCursor(ctx, c.id, key)
			return err
		}
		for _, rec := range recs {
			if err := fn(rec); err != nil {
				if pg.Next {
					_ = c.h.gw.DeleteCursor(ctx, c.id, key)
				}
				return err
			}
		}
		if flush != nil {
			flush()
		}
		if !pg.Next {
			return nil
		}
	}
}

// csvOut writes rows as CSV that spreadsheets open safely.
type csvOut struct {
	w *csv.Writer
	f http.Flusher
}

func newCSVOut(w http.ResponseWriter) *csvOut {
	_, _ = w.Write([]byte("\ufeff")) // UTF-8 BOM: Excel reads the file as UTF-8
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	f, _ := w.(http.Flusher)
	return &csvOut{w: cw, f: f}
}

func (o *csvOut) row(cells []string) {
	safe := make([]string, len(cells))
	for i, s := range cells {
		safe[i] = defuse(s)
	}
	_ = o.w.Write(safe)
}

func (o *csvOut) flush() {
	o.w.Flush()
	if o.f != nil {
		o.f.Flush()
	}
}

// plainNumber is a number as the portal formats one: digits with grouping
// commas, a fraction, a sign. A spreadsheet reads it as a number, never as
// a formula.
var plainNumber = regexp.MustCompile(`^-?[0-9][0-9,]*(\.[0-9]+)?$`)

// defuse keeps a spreadsheet from running a cell as a formula: a cell
// starting with = + - @ tab or CR gets a leading apostrophe, unless it is
// a plain number (a negative amount stays a number).
func defuse(s string) string {
	if s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0])) || plainNumber.MatchString(s) {
		return s
	}
	return "'" + s
}

// fileSafe keeps letters, digits, '-' and '_' of a file name.
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}
