package enforcement

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kql"
)

// expected is what kgate must answer to one member's query: a refusal
// (status), or a page of records and the number of all of them.
type expected struct {
	status  int // 200, or the 4xx of a refusal
	why     string
	page    []string
	visible map[string]bool // every record of the answer set, beyond the page too
	order   []string        // the answer set in order
	total   int
}

var fileSearch = regexp.MustCompile(`doc (not )?like ("[^"\\]*")`)

// expect computes the answer from the truth and the simulator alone.
func (h *harness) expect(m member, q memberQuery) expected {
	d := h.o.dec[m.name]["read"]
	if !d.allow {
		return expected{status: 403, why: "read is not allowed"}
	}
	parsed, err := kql.Parse(q.String())
	if err != nil {
		h.t.Fatalf("the generator wrote a query kql cannot parse: %q: %v", q.String(), err)
	}
	var codes []string
	if parsed.Where != nil {
		codes = kql.Fields(parsed.Where)
	}
	for _, k := range parsed.OrderBy {
		codes = append(codes, k.Field)
	}
	for _, code := range codes {
		if !d.canSee(code) {
			return expected{status: 400, why: code + " is not readable"}
		}
		if d.masked(code) {
			return expected{status: 400, why: code + " is masked"}
		}
	}
	cond := q.cond
	if fileSearch.MatchString(cond) {
		fd := h.o.dec[m.name]["file.read"]
		if !fd.allow {
			return expected{status: 400, why: "files may not be searched"}
		}
		var ids []string
		for _, id := range h.w.order {
			if h.o.visible[m.name]["file.read"][id] {
				ids = append(ids, id)
			}
		}
		if len(ids) == 0 {
			ids = []string{"0"}
		}
		cond = fileSearch.ReplaceAllString(cond, "(doc ${1}like $2 and $$id in ("+strings.Join(ids, ", ")+"))")
	}
	matched, err := h.w.matches(cond, q.order)
	if err != nil {
		h.t.Fatalf("truth: %v", err)
	}
	exp := expected{status: 200, visible: map[string]bool{}}
	for _, id := range matched {
		if h.o.sees(m, id, "read") {
			exp.order = append(exp.order, id)
			exp.visible[id] = true
		}
	}
	exp.total = len(exp.order)
	limit := 100 // kintone's default: pages are kintone's whatever the level
	if q.limit >= 0 {
		limit = q.limit
	}
	offset := max(q.offset, 0)
	if offset < len(exp.order) {
		exp.page = exp.order[offset:min(len(exp.order), offset+limit)]
	}
	return exp
}

// answer is what kgate answered.
type answer struct {
	status  int
	code    string
	records []kintone.Record
	total   *int
	raw     string
}

func (h *harness) serveAPI(m member, method, path string, params url.Values, body any, override bool) (int, []byte) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	target := path
	if len(params) > 0 {
		target += "?" + params.Encode()
	}
	send := method
	if override {
		send = http.MethodPost
	}
	req := httptest.NewRequest(send, target, rd)
	req.Header.Set("Accept-Language", "en")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if override {
		req.Header.Set("X-HTTP-Method-Override", method)
	}
	rec := httptest.NewRecorder()
	h.api.Serve(rec, req, m.id)
	return rec.Code, rec.Body.Bytes()
}

func decodeAnswer(status int, body []byte) answer {
	a := answer{status: status, raw: string(body)}
	var out struct {
		Code       string
		Records    []kintone.Record
		TotalCount *string
	}
	json.Unmarshal(body, &out)
	a.code, a.records = out.Code, out.Records
	if out.TotalCount != nil {
		n, _ := strconv.Atoi(*out.TotalCount)
		a.total = &n
	}
	return a
}

// records asks records.json in one of kintone's three forms: the query
// string, a JSON body on GET, POST with X-HTTP-Method-Override.
func (h *harness) records(m member, q memberQuery, form int) answer {
	h.tl.surfaces["records.json"]++
	if form == 0 {
		p := url.Values{"app": {appID}, "query": {q.String()}}
		for i, f := range q.fields {
			p.Set(fmt.Sprintf("fields[%d]", i), f)
		}
		if q.totalCount {
			p.Set("totalCount", "true")
		}
		return decodeAnswer(h.serveAPI(m, "GET", "/k/v1/records.json", p, nil, false))
	}
	body := map[string]any{"app": appID, "query": q.String()}
	if len(q.fields) > 0 {
		body["fields"] = q.fields
	}
	if q.totalCount {
		body["totalCount"] = true
	}
	return decodeAnswer(h.serveAPI(m, "GET", "/k/v1/records.json", nil, body, form == 2))
}

// compareList checks an answer against the expectation.
func (h *harness) compareList(m member, q memberQuery, exp expected, got answer, surface string) {
	switch {
	case exp.status != 200:
		h.tl.outcomes["refusal: "+exp.why[strings.LastIndex(exp.why, " ")+1:]]++
	case len(exp.page) == 0:
		h.tl.outcomes["empty page"]++
	default:
		h.tl.outcomes["records"]++
	}
	detail := func(s string) string { return fmt.Sprintf("%s — query %q fields %v", s, q.String(), q.fields) }
	if exp.status != 200 {
		switch {
		case got.status == 200:
			h.leak(surface, "an answer where a refusal was due ("+exp.why+")", m, detail(fmt.Sprintf("%d records", len(got.records))))
		case got.status != exp.status:
			h.overFilter(surface, "another refusal", m, detail(fmt.Sprintf("want %d (%s), got %d %s", exp.status, exp.why, got.status, got.raw)))
		}
		return
	}
	if got.status != 200 {
		if got.code == "KGATE_PO02" {
			h.tl.mismatches++
		}
		h.overFilter(surface, "refused", m, detail(fmt.Sprintf("%d %s", got.status, got.raw)))
		return
	}
	ids := make([]string, len(got.records))
	for i, rec := range got.records {
		ids[i] = idOf(rec)
		if ids[i] == "" {
			continue // fields without $id: compared by position below
		}
		if !h.o.sees(m, ids[i], "read") {
			h.leak(surface, "a record the policy refuses", m, detail("record "+ids[i]))
		} else if !exp.visible[ids[i]] {
			h.overFilter(surface, "a record the query does not match", m, detail("record "+ids[i]))
		}
	}
	if q.totalCount && got.total != nil {
		switch {
		case *got.total > exp.total:
			h.leak(surface, "totalCount above the visible count", m, detail(fmt.Sprintf("%d > %d", *got.total, exp.total)))
		case *got.total < exp.total:
			h.overFilter(surface, "totalCount below the visible count", m, detail(fmt.Sprintf("%d < %d", *got.total, exp.total)))
		}
	} else if q.totalCount {
		h.overFilter(surface, "no totalCount", m, detail(got.raw))
	}
	if len(got.records) > len(exp.page) {
		h.leak(surface, "more records than visible", m, detail(fmt.Sprintf("%d > %d", len(got.records), len(exp.page))))
		return
	}
	if len(got.records) < len(exp.page) {
		h.overFilter(surface, "a short page", m, detail(fmt.Sprintf("%d < %d", len(got.records), len(exp.page))))
		return
	}
	for i, rec := range got.records {
		want := exp.page[i]
		if ids[i] != "" && ids[i] != want {
			h.overFilter(surface, "another order", m, detail(fmt.Sprintf("position %d: %s, want %s", i, ids[i], want)))
			return
		}
		h.compareRecord(surface, m, want, rec, q.fields)
	}
}

// compareRecord checks one record's fields and values.
func (h *harness) compareRecord(surface string, m member, id string, got kintone.Record, requested []string) {
	want := h.o.expectedRecord(m, id, requested)
	d := h.o.dec[m.name]["read"]
	h.tl.compared++
	for code, fv := range got {
		w, ok := want[code]
		if !ok {
			h.leak(surface, "a field the member may not read", m, fmt.Sprintf("record %s field %s = %s", id, code, fv.Value))
			continue
		}
		if g := plain(fv, decision{}); !reflect.DeepEqual(g, w) {
			if _, masked := d.masks[code]; masked || hasMaskedColumn(code, d) {
				h.leak(surface, "a masked field in clear", m, fmt.Sprintf("record %s field %s = %s, mask %v", id, code, fv.Value, w))
			} else {
				h.leak(surface, "a value that is not the record's", m, fmt.Sprintf("record %s field %s = %v, want %v", id, code, g, w))
			}
		}
	}
	for code := range want {
		if _, ok := got[code]; !ok {
			h.overFilter(surface, "a readable field left out", m, fmt.Sprintf("record %s field %s", id, code))
		}
	}
}

func hasMaskedColumn(code string, d decision) bool {
	for _, f := range fields {
		if _, masked := d.masks[f.code]; masked && f.table == code {
			return true
		}
	}
	return false
}

// checkRecord compares record.json for one id.
func (h *harness) checkRecord(m member, id string) {
	h.tl.surfaces["record.json"]++
	status, body := h.serveAPI(m, "GET", "/k/v1/record.json", url.Values{"app": {appID}, "id": {id}}, nil, false)
	d := h.o.dec[m.name]["read"]
	var out struct {
		Code   string
		Record kintone.Record
	}
	json.Unmarshal(body, &out)
	switch {
	case !d.allow:
		if status == 200 {
			h.leak("record.json", "a record where read is not allowed", m, id)
		}
	case !h.o.sees(m, id, "read"):
		if status == 200 {
			h.leak("record.json", "a record the policy refuses", m, id)
		} else if status != 404 || out.Code != "GAIA_RE01" {
			h.overFilter("record.json", "a hidden record answered unlike a missing one", m, string(body))
		}
	case status != 200:
		h.overFilter("record.json", "refused", m, fmt.Sprintf("record %s: %s", id, body))
	default:
		h.compareRecord("record.json", m, id, out.Record, nil)
	}
}

// checkCursor reads the query through a cursor to its end.
func (h *harness) checkCursor(r *rand.Rand, m member, q memberQuery) {
	h.tl.surfaces["cursor"]++
	q.limit, q.offset = -1, -1
	exp := h.expect(m, q)
	body := map[string]any{"app": appID, "query": q.String()}
	if len(q.fields) > 0 {
		body["fields"] = q.fields
	}
	if size := pick(r, []int{0, 3, 500}); size > 0 {
		body["size"] = size
	}
	status, raw := h.serveAPI(m, "POST", "/k/v1/records/cursor.json", nil, body, false)
	var created struct{ ID, TotalCount, Code string }
	json.Unmarshal(raw, &created)
	if exp.status != 200 || status != 200 {
		h.compareList(m, q, exp, answer{status: status, code: created.Code, raw: string(raw)}, "cursor")
		return
	}
	got := answer{status: 200}
	n, _ := strconv.Atoi(created.TotalCount)
	got.total = &n
	for pages := 0; ; pages++ {
		status, raw = h.serveAPI(m, "GET", "/k/v1/records/cursor.json", url.Values{"id": {created.ID}}, nil, false)
		var page struct {
			Code    string
			Records []kintone.Record
			Next    bool
		}
		json.Unmarshal(raw, &page)
		if status != 200 {
			got = answer{status: status, code: page.Code, raw: string(raw)}
			break
		}
		got.records = append(got.records, page.Records...)
		if !page.Next || pages > 200 {
			break
		}
	}
	exp.page = exp.order
	q.totalCount = true
	h.compareList(m, q, exp, got, "cursor")
}

var (
	portalCount = regexp.MustCompile(`of ([\d,]+) records|there (?:is|are) ([\d,]+) records? in all`)
	portalRow   = regexp.MustCompile(`href="/apps/things/records/(\d+)"`)
)

// checkPortal searches the portal's list for a word.
func (h *harness) checkPortal(m member, word string) {
	h.tl.surfaces["portal list"]++
	req := httptest.NewRequest("GET", "/apps/"+appAlias+"?q="+url.QueryEscape(word), nil)
	req.Header.Set("Accept-Language", "en")
	rec := httptest.NewRecorder()
	h.portal.Serve(rec, req, m.id)
	page := rec.Body.String()
	d := h.o.dec[m.name]["read"]
	if !d.allow {
		if rec.Code == 200 {
			h.leak("portal list", "a list where read is not allowed", m, word)
		}
		return
	}
	var search []string
	for _, f := range fields {
		switch f.typ {
		case "SINGLE_LINE_TEXT", "MULTI_LINE_TEXT", "RICH_TEXT", "LINK":
			if f.table == "" && d.canSee(f.code) && !d.masked(f.code) {
				search = append(search, fmt.Sprintf("%s like %s", f.code, quote(word)))
			}
		}
	}
	matched, err := h.w.matches(strings.Join(search, " or "), "")
	if err != nil {
		h.t.Fatal(err)
	}
	want := 0
	for _, id := range matched {
		if h.o.sees(m, id, "read") {
			want++
		}
	}
	if rec.Code != 200 {
		h.overFilter("portal list", "refused", m, fmt.Sprintf("%d", rec.Code))
		return
	}
	got := 0
	if c := portalCount.FindStringSubmatch(page); c != nil {
		got, _ = strconv.Atoi(strings.ReplaceAll(c[1]+c[2], ",", ""))
	} else if strings.Contains(page, "Showing the only record.") {
		got = 1
	}
	switch {
	case got > want:
		h.leak("portal list", "a count above the visible one", m, fmt.Sprintf("search %q: %d > %d", word, got, want))
	case got < want:
		h.overFilter("portal list", "a count below the visible one", m, fmt.Sprintf("search %q: %d < %d", word, got, want))
	}
	for _, row := range portalRow.FindAllStringSubmatch(page, -1) {
		if !h.o.sees(m, row[1], "read") || !slices.Contains(matched, row[1]) {
			h.leak("portal list", "a row the policy or the search excludes", m, fmt.Sprintf("search %q: record %s", word, row[1]))
		}
	}
}

// checkComments reads the comments of some records.
func (h *harness) checkComments(r *rand.Rand, m member) {
	for i := 0; i < 12; i++ {
		h.tl.surfaces["comments"]++
		id := pick(r, h.w.order)
		p := url.Values{"app": {appID}, "record": {id}, "order": {"asc"}}
		status, body := h.serveAPI(m, "GET", "/k/v1/record/comments.json", p, nil, false)
		may := h.o.sees(m, id, "read", "comment.read")
		switch {
		case status == 200 && !may:
			h.leak("comments", "comments of a record comment.read or read refuses", m, "record "+id)
		case status != 200 && may:
			h.overFilter("comments", "refused", m, fmt.Sprintf("record %s: %s", id, body))
		case status == 200:
			want, err := h.w.admin("GET", "record/comments.json", p)
			if err != nil {
				h.t.Fatal(err)
			}
			if !sameComments(body, want) {
				h.overFilter("comments", "other comments", m, fmt.Sprintf("record %s: %s, want %s", id, body, want))
			}
		case !h.o.dec[m.name]["read"].allow || !h.o.dec[m.name]["comment.read"].allow:
			if status != 403 {
				h.overFilter("comments", "not refused as forbidden", m, string(body))
			}
		case status != 404:
			h.overFilter("comments", "a hidden record answered unlike a missing one", m, string(body))
		}
	}
}

func sameComments(a, b []byte) bool {
	var x, y struct{ Comments []struct{ ID, Text string } }
	json.Unmarshal(a, &x)
	json.Unmarshal(b, &y)
	return reflect.DeepEqual(x, y)
}

// checkFiles downloads the files of records the member reads, with the
// file tokens kgate handed out in those records.
func (h *harness) checkFiles(r *rand.Rand, m member) {
	d := h.o.dec[m.name]["read"]
	if !d.allow || !d.canSee("doc") || d.masked("doc") {
		return
	}
	tried := 0
	for _, id := range h.w.order {
		if tried == 6 || !h.o.sees(m, id, "read") {
			continue
		}
		var files []struct{ Name string }
		json.Unmarshal(h.w.dump[id]["doc"].Value, &files)
		if len(files) == 0 || r.IntN(2) == 0 {
			continue
		}
		tried++
		status, body := h.serveAPI(m, "GET", "/k/v1/record.json", url.Values{"app": {appID}, "id": {id}}, nil, false)
		var out struct{ Record kintone.Record }
		if json.Unmarshal(body, &out); status != 200 {
			h.overFilter("file.json", "the record could not be read", m, string(body))
			continue
		}
		var tokens []struct{ FileKey, Name string }
		json.Unmarshal(out.Record["doc"].Value, &tokens)
		may := h.o.sees(m, id, "read", "file.read")
		for _, tok := range tokens {
			h.tl.surfaces["file.json"]++
			status, content := h.serveAPI(m, "GET", "/k/v1/file.json", url.Values{"fileKey": {tok.FileKey}}, nil, false)
			switch {
			case status == 200 && !may:
				h.leak("file.json", "a file of a record file.read refuses", m, fmt.Sprintf("record %s file %s", id, tok.Name))
			case status == 200 && string(content) != h.w.files[tok.Name]:
				h.overFilter("file.json", "another file's content", m, tok.Name)
			case status != 200 && may:
				h.overFilter("file.json", "refused", m, fmt.Sprintf("record %s: %s", id, content))
			}
		}
	}
}

// checkPortalRecord opens a record's page: a record the member may not
// read is not found, its comments show only where comment.read holds, and
// its files are offered only where file.read holds.
func (h *harness) checkPortalRecord(m member, id string) {
	h.tl.surfaces["portal record"]++
	req := httptest.NewRequest("GET", "/apps/"+appAlias+"/records/"+id, nil)
	req.Header.Set("Accept-Language", "en")
	rec := httptest.NewRecorder()
	h.portal.Serve(rec, req, m.id)
	page := rec.Body.String()
	switch {
	case !h.o.sees(m, id, "read"):
		if rec.Code == 200 {
			h.leak("portal record", "the page of a record the policy refuses", m, "record "+id)
		}
		return
	case rec.Code != 200:
		h.overFilter("portal record", "refused", m, fmt.Sprintf("record %s: %d", id, rec.Code))
		return
	}
	comments, err := h.w.admin("GET", "record/comments.json", url.Values{"app": {appID}, "record": {id}})
	if err != nil {
		h.t.Fatal(err)
	}
	var list struct{ Comments []struct{ Text string } }
	json.Unmarshal(comments, &list)
	may := h.o.sees(m, id, "read", "comment.read")
	for _, c := range list.Comments {
		switch shown := strings.Contains(page, c.Text); {
		case shown && !may:
			h.leak("portal record", "a comment of a record comment.read refuses", m, fmt.Sprintf("record %s: %q", id, c.Text))
		case !shown && may:
			h.overFilter("portal record", "a comment left out", m, fmt.Sprintf("record %s: %q", id, c.Text))
		}
	}
	d := h.o.dec[m.name]["read"]
	for code := range d.masks {
		if f, _ := fieldByCode(code); f.table == "" && d.canSee(code) && !strings.Contains(page, `class="masked"`) {
			h.leak("portal record", "a masked field not shown as hidden", m, fmt.Sprintf("record %s field %s", id, code))
		}
	}
	var files []struct{ Name string }
	json.Unmarshal(h.w.dump[id]["doc"].Value, &files)
	offered := strings.Contains(page, `href="/files/`)
	switch may := h.o.sees(m, id, "read", "file.read"); {
	case offered && !may:
		h.leak("portal record", "a download link on a record file.read refuses", m, "record "+id)
	case !offered && may && len(files) > 0 && d.canSee("doc") && !d.masked("doc"):
		h.overFilter("portal record", "a file not offered", m, "record "+id)
	}
}
