package kintonesim

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"runtime"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/kintone"
)

// benchSeed is one app of n records with 13 fields of its own; with the
// system fields (record number, creator, modifier, created and updated
// times, $id, $revision) every record has 20.
func benchSeed(n int) *Seed {
	fields := []string{
		`{"type":"SINGLE_LINE_TEXT","code":"title","label":"Title"}`,
		`{"type":"SINGLE_LINE_TEXT","code":"customer","label":"Customer"}`,
		`{"type":"SINGLE_LINE_TEXT","code":"email","label":"E-mail"}`,
		`{"type":"SINGLE_LINE_TEXT","code":"city","label":"City"}`,
		`{"type":"NUMBER","code":"n1","label":"N1"}`,
		`{"type":"NUMBER","code":"n2","label":"N2"}`,
		`{"type":"NUMBER","code":"n3","label":"N3"}`,
		`{"type":"DROP_DOWN","code":"tier","label":"Tier","options":["gold","silver","bronze"]}`,
		`{"type":"DROP_DOWN","code":"region","label":"Region","options":["east","west"]}`,
		`{"type":"DATE","code":"d","label":"Date"}`,
		`{"type":"DATETIME","code":"at","label":"At"}`,
		`{"type":"MULTI_LINE_TEXT","code":"memo","label":"Memo"}`,
		`{"type":"CHECK_BOX","code":"tags","label":"Tags","options":["a","b","c"]}`,
	}
	sa := SeedApp{ID: 1, Name: "Bench", Tokens: []SeedToken{{Token: "t", View: true}}}
	for _, f := range fields {
		sa.Fields = append(sa.Fields, json.RawMessage(f))
	}
	tiers := []string{"gold", "silver", "bronze"}
	for i := 0; i < n; i++ {
		rec := map[string]any{
			"title":    map[string]any{"value": fmt.Sprintf("Order %d for the spring campaign", i)},
			"customer": map[string]any{"value": fmt.Sprintf("Customer %d Trading", i%977)},
			"email":    map[string]any{"value": fmt.Sprintf("buyer%d@example.com", i)},
			"city":     map[string]any{"value": []string{"Tokyo", "Osaka", "Nagoya", "Fukuoka"}[i%4]},
			"n1":       map[string]any{"value": fmt.Sprint(i % 10000)},
			"n2":       map[string]any{"value": fmt.Sprint((i * 7) % 1000)},
			"n3":       map[string]any{"value": fmt.Sprintf("%d.5", i%100)},
			"tier":     map[string]any{"value": tiers[i%3]},
			"region":   map[string]any{"value": []string{"east", "west"}[i%2]},
			"d":        map[string]any{"value": time.Date(2024, 1, 1+i%365, 0, 0, 0, 0, time.UTC).Format("2006-01-02")},
			"at":       map[string]any{"value": time.Date(2024, 1, 1, 0, i%1440, 0, 0, time.UTC).Format(time.RFC3339)},
			"memo":     map[string]any{"value": "Delivered on time.\nNo issues reported by the customer."},
			"tags":     map[string]any{"value": []string{"a", "c"}},
		}
		raw := map[string]json.RawMessage{}
		for k, v := range rec {
			raw[k], _ = json.Marshal(v)
		}
		sa.Records = append(sa.Records, raw)
	}
	return &Seed{Apps: []SeedApp{sa}}
}

// benchQuery has three conditions and matches enough records for a full
// page of 500.
const benchQuery = `n1 >= 2000 and tier in ("gold", "silver") and d >= "2024-02-01" limit 500`

// BenchmarkGetRecords serves GET records.json (500 records × 20 fields of an
// app of 10,000) through ServeHTTP; the reference is json.Marshal of the
// same page, the floor for producing it.
func BenchmarkGetRecords(b *testing.B) {
	s, err := New(benchSeed(10000))
	if err != nil {
		b.Fatal(err)
	}
	path := "/k/v1/records.json?app=1&query=" + url.QueryEscape(benchQuery)
	serve := func() *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("X-Cybozu-API-Token", "t")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w
	}
	w := serve()
	var page struct{ Records []kintone.Record }
	if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil || len(page.Records) != 500 || len(page.Records[0]) != 20 {
		b.Fatalf("page: %v, %d records", err, len(page.Records))
	}
	size := int64(w.Body.Len())
	b.Run("sim", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(size)
		for b.Loop() {
			serve()
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(size)
		for b.Loop() {
			if _, err := json.Marshal(page); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkMemoryPerRecord reports the heap the simulator holds per record
// of an app of 10,000 records of 20 fields.
func BenchmarkMemoryPerRecord(b *testing.B) {
	seed := benchSeed(10000)
	var keep *Server
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s, err := New(seed)
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		keep = s
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/10000, "B/record")
	}
	runtime.KeepAlive(keep)
}
