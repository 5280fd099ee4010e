package portal

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/testworld"
	"github.com/kgate/kgate/portalconfig"
)

// The chart benchmarks run over the test world's orders app as staff.
// BenchmarkChartPage is the charts page (a sum of amount by priority and a
// count by due month) over every one of 500 orders, its cache emptied each
// time, so every page reads all 500 through a cursor; its reference,
// BenchmarkChartListPage, is the list page showing the same 500 orders on
// one page (size=500). BenchmarkChartPageKept is the page when its charts
// are kept.

func newChartWorld(tb testing.TB, n int) (*Handler, *identity.Identity) {
	tb.Helper()
	w := testworld.Start(tb, n)
	eng, err := policy.Open(context.Background(), policy.Options{Dir: w.PolicyDir})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { eng.Close() })
	client, err := kintone.NewClient(kintone.Config{BaseURL: w.URL})
	if err != nil {
		tb.Fatal(err)
	}
	gw, err := gateway.New(gateway.Config{Client: client, Policy: eng, Apps: testworld.Apps()})
	if err != nil {
		tb.Fatal(err)
	}
	h, err := New(Config{Gateway: gw, Config: portalconfig.Config{Apps: map[string]AppSettings{"orders": {Charts: []Chart{
		{GroupBy: "priority", Sum: "amount"}, {GroupBy: "due"},
	}}}}})
	if err != nil {
		tb.Fatal(err)
	}
	return h, testworld.Identities["sam"]
}

func serve(h *Handler, id *identity.Identity, target string, w http.ResponseWriter) {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r.Header.Set("Accept-Language", "en")
	h.Serve(w, r, id)
}

func benchPage(b *testing.B, target string, fresh bool) {
	h, id := newChartWorld(b, 500)
	b.ReportAllocs()
	for b.Loop() {
		if fresh {
			h.charts = newTTLCache(chartTTL, chartCacheSize)
		}
		rec := httptest.NewRecorder()
		serve(h, id, target, rec)
		if rec.Code != http.StatusOK || rec.Body.Len() < 5000 {
			b.Fatalf("status %d, %d bytes", rec.Code, rec.Body.Len())
		}
	}
}

func BenchmarkChartPage(b *testing.B)     { benchPage(b, "/apps/orders/charts", true) }
func BenchmarkChartPageKept(b *testing.B) { benchPage(b, "/apps/orders/charts", false) }
func BenchmarkChartListPage(b *testing.B) { benchPage(b, "/apps/orders?size=500", false) }

// heapProbe is a response writer that measures the live heap each time
// the export flushes a page: the most it held while streaming.
type heapProbe struct {
	*httptest.ResponseRecorder
	peak  uint64
	lines int
	last  string
}

func (p *heapProbe) Write(b []byte) (int, error) {
	p.lines += strings.Count(string(b), "\n") // a CRLF may be split between writes
	p.last = string(b[max(0, len(b)-300):])
	return len(b), nil // the file itself is not kept: only kgate's memory is measured
}

func (p *heapProbe) Flush() {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	p.peak = max(p.peak, m.HeapAlloc)
}

// exportPeak exports the orders of a world of n and returns the most live
// heap the export held above what the world held before it.
func exportPeak(tb testing.TB, n int) float64 {
	h, id := newChartWorld(tb, n)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	p := &heapProbe{ResponseRecorder: httptest.NewRecorder()}
	serve(h, id, "/apps/orders/export.csv", p)
	if p.Code != http.StatusOK || p.lines != n+1 {
		tb.Fatalf("status %d, %d lines for %d orders, ending %q", p.Code, p.lines, n, p.last)
	}
	return float64(p.peak) - float64(before.HeapAlloc)
}

// The export streams: its live heap does not grow with the records it
// writes. (The simulator in the same process holds the records, so the
// world is measured before the export starts.)
func TestCSVExportMemoryIsFlat(t *testing.T) {
	small, large := exportPeak(t, 1000), exportPeak(t, 10000)
	t.Logf("live heap above the world's while exporting: 1,000 orders %.2f MiB, 10,000 orders %.2f MiB", small/(1<<20), large/(1<<20))
	// Holding 10,000 orders would add several MiB (each is about 1 KiB of
	// JSON); a stream holds one 500-record page whatever the total.
	if large > small+2<<20 {
		t.Errorf("the export of 10,000 held %.2f MiB more than that of 1,000", (large-small)/(1<<20))
	}
}
