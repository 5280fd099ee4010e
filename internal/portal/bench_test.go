package portal

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/testworld"
)

// The list benchmarks run over the test world's orders app (600 records,
// 13 fields) as staff, 100 rows a page. BenchmarkListPage is the whole
// page — policy, form, the gateway's ListRecords over loopback HTTP to the
// simulator, decoding, formatting and the template; its reference,
// BenchmarkListGateway, is the gateway call alone with the same request.
// BenchmarkListRender is the portal's own share: decoding and rendering
// a page the gateway already returned.

type benchWorld struct {
	h   *Handler
	gw  *gateway.Gateway
	req gateway.ListRequest
	id  *identity.Identity
}

func newBenchWorld(b *testing.B) *benchWorld {
	b.Helper()
	w := testworld.Start(b, 600)
	eng, err := policy.Open(context.Background(), policy.Options{Dir: w.PolicyDir})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { eng.Close() })
	client, err := kintone.NewClient(kintone.Config{BaseURL: w.URL})
	if err != nil {
		b.Fatal(err)
	}
	gw, err := gateway.New(gateway.Config{Client: client, Policy: eng, Apps: testworld.Apps()})
	if err != nil {
		b.Fatal(err)
	}
	h, err := New(Config{Gateway: gw})
	if err != nil {
		b.Fatal(err)
	}
	rec := &recorder{backend: h.gw}
	h.gw = rec
	bw := &benchWorld{h: h, gw: gw, id: testworld.Identities["sam"]}
	if r := bw.page(b); r.Code != http.StatusOK {
		b.Fatalf("status %d", r.Code)
	}
	rec.mu.Lock()
	bw.req = rec.lists[0]
	rec.mu.Unlock()
	h.gw = rec.backend
	return bw
}

func (bw *benchWorld) page(b *testing.B) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "/apps/orders?size=100&sort=amount&dir=desc", nil)
	r.Header.Set("Accept-Language", "en")
	rec := httptest.NewRecorder()
	bw.h.Serve(rec, r, bw.id)
	return rec
}

func BenchmarkListPage(b *testing.B) {
	bw := newBenchWorld(b)
	b.ReportAllocs()
	for b.Loop() {
		if r := bw.page(b); r.Code != http.StatusOK || r.Body.Len() < 10000 {
			b.Fatalf("status %d, %d bytes", r.Code, r.Body.Len())
		}
	}
}

func BenchmarkListGateway(b *testing.B) {
	bw := newBenchWorld(b)
	b.ReportAllocs()
	for b.Loop() {
		pg, err := bw.gw.ListRecords(context.Background(), bw.id, bw.req)
		if err != nil || len(pg.Records) != 100 {
			b.Fatal(err)
		}
	}
}

func BenchmarkListRender(b *testing.B) {
	bw := newBenchWorld(b)
	pg, err := bw.gw.ListRecords(context.Background(), bw.id, bw.req)
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/apps/orders?size=100&sort=amount&dir=desc", nil)
	c := bw.h.newCall(httptest.NewRecorder(), r, bw.id)
	av, err := c.loadApp("orders")
	if err != nil {
		b.Fatal(err)
	}
	cfg := av.listConfig()
	st, err := parseList(r.URL.Query(), cfg, av, bw.h.cfg.PageSizes)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		c.w = httptest.NewRecorder()
		records, err := decodeRecords(pg)
		if err != nil {
			b.Fatal(err)
		}
		body := &listBody{App: appHeader{Name: "Orders"}, Action: "/apps/orders"}
		c.filterViews(body, av, cfg, st)
		c.columns(body, av, cfg, st)
		c.rows(body, av, cfg, records)
		c.paging(body, st, pg, bw.h.cfg.PageSizes)
		c.render(http.StatusOK, "list", c.newPage("Orders", body))
	}
}

// BenchmarkDecodeStreaming and BenchmarkDecodeEncodingJSON compare the
// portal's record decoder with the gateway's Page.Decode on the same page.
func BenchmarkDecodeStreaming(b *testing.B) {
	bw := newBenchWorld(b)
	pg, err := bw.gw.ListRecords(context.Background(), bw.id, bw.req)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeRecords(pg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeEncodingJSON(b *testing.B) {
	bw := newBenchWorld(b)
	pg, err := bw.gw.ListRecords(context.Background(), bw.id, bw.req)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pg.Decode(); err != nil {
			b.Fatal(err)
		}
	}
}

// The record benchmarks open one record's page over the write world: as
// staff on an order (read, comments, files; no writes), and as a gold
// partner on a budget request in Draft (read, comments, files, edit,
// delete, a process action). Besides time they report what the page cost
// upstream: records/op counts the reads of the record (records.json or
// record.json), upstream/op every kintone request. Their reference,
// BenchmarkRecordGateway, is the gateway's GetRecord alone for the same
// record: one read, no comments, no abilities, no page.

var recordBenches = []struct {
	name, who, alias, id, want string
}{
	{"staff order", "sam", "orders", "1", "comment on 1"},
	{"gold budget draft", "alice", "budget", "1", "Received. We will review it this week."},
}

// recordBench is a portal over the write world whose upstream requests
// are counted.
type recordBench struct {
	h  *Handler
	gw *gateway.Gateway
	up *countingTransport
}

func newRecordBench(b *testing.B) *recordBench {
	b.Helper()
	w := testworld.StartWrites(b, 30)
	eng, err := policy.Open(context.Background(), policy.Options{Dir: w.PolicyDir})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { eng.Close() })
	up := newCountingTransport()
	client, err := kintone.NewClient(kintone.Config{BaseURL: w.URL, Transport: up})
	if err != nil {
		b.Fatal(err)
	}
	gw, err := gateway.New(gateway.Config{Client: client, Policy: eng, Apps: testworld.WriteApps()})
	if err != nil {
		b.Fatal(err)
	}
	h, err := New(Config{Gateway: gw})
	if err != nil {
		b.Fatal(err)
	}
	return &recordBench{h: h, gw: gw, up: up}
}

// loop runs op b.N times and reports the upstream requests per op.
func (rb *recordBench) loop(b *testing.B, op func()) {
	rb.up.reset()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		op()
		n++
	}
	all, records := rb.up.counts()
	b.ReportMetric(float64(records)/float64(n), "records/op")
	b.ReportMetric(float64(all)/float64(n), "upstream/op")
}

func BenchmarkRecordPage(b *testing.B) {
	for _, bc := range recordBenches {
		b.Run(bc.name, func(b *testing.B) {
			rb := newRecordBench(b)
			id := testworld.Identities[bc.who]
			page := func() *httptest.ResponseRecorder {
				r := httptest.NewRequest(http.MethodGet, "/apps/"+bc.alias+"/records/"+bc.id, nil)
				r.Header.Set("Accept-Language", "en")
				rec := httptest.NewRecorder()
				rb.h.Serve(rec, r, id)
				return rec
			}
			if r := page(); r.Code != http.StatusOK || !strings.Contains(r.Body.String(), bc.want) {
				b.Fatalf("status %d: %.300s", r.Code, r.Body.String())
			}
			rb.loop(b, func() {
				if r := page(); r.Code != http.StatusOK {
					b.Fatalf("status %d", r.Code)
				}
			})
		})
	}
}

func BenchmarkRecordGateway(b *testing.B) {
	for _, bc := range recordBenches {
		b.Run(bc.name, func(b *testing.B) {
			rb := newRecordBench(b)
			id := testworld.Identities[bc.who]
			ref, _ := rb.gw.Ref(bc.alias)
			rb.loop(b, func() {
				if _, err := rb.gw.GetRecord(context.Background(), id, ref, bc.id); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}
