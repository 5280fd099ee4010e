package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/kgate/kgate/internal/kintone"
)

// benchBody is a kintone page of n records × 20 text fields (about 1.7 KB
// a record: a page of 100 is about 167 KB), plus $id, $revision and a
// drop-down the row rule reads.
func benchBody(n int) ([]byte, *form) {
	props := map[string]kintone.FieldProperty{"org": {Type: "DROP_DOWN", Code: "org"}}
	var b bytes.Buffer
	b.WriteString(`{"records":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"$id":{"type":"__ID__","value":"%d"},"$revision":{"type":"__REVISION__","value":"3"},"org":{"type":"DROP_DOWN","value":"org%d"}`, i+1, i%3)
		for f := 0; f < 20; f++ {
			fmt.Fprintf(&b, `,"text%02d":{"type":"SINGLE_LINE_TEXT","value":"value %d of field %d, some words of text to fill it up to size, in 日本語 too"}`, f, i, f)
		}
		b.WriteByte('}')
	}
	b.WriteString(`],"totalCount":"` + fmt.Sprint(n) + `"}`)
	for f := 0; f < 20; f++ {
		code := fmt.Sprintf("text%02d", f)
		props[code] = kintone.FieldProperty{Type: "SINGLE_LINE_TEXT", Code: code}
	}
	return b.Bytes(), newForm(props, "1", time.Time{})
}

// benchFilter keeps 15 of the 20 text fields and masks one, re-checking
// every record on org (three distinct values, as a page of one partner's
// organization and shared records would have).
func benchFilter(f *form) *recordFilter {
	keep := map[string]bool{"$id": true, "$revision": true, "org": true}
	for i := 0; i < 15; i++ {
		keep[fmt.Sprintf("text%02d", i)] = true
	}
	return &recordFilter{
		form: f, keep: keep, rule: map[string]bool{"org": true},
		masks:   map[string]json.RawMessage{"text03": json.RawMessage(`"***"`)},
		include: func(r kintone.Record) (bool, error) { return string(r["org"].Value) != `"org2"`, nil },
	}
}

func BenchmarkProcessPage500(b *testing.B) {
	body, f := benchBody(500)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := benchFilter(f).page(body); err != nil {
			b.Fatal(err)
		}
	}
}

// The reference the page budget is set by: one plain JSON decode and
// encode of the same body (filtering may cost about twice that).
func BenchmarkReferenceDecodeEncodeMaps500(b *testing.B) {
	body, _ := benchBody(500)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var v map[string]any
		if err := json.Unmarshal(body, &v); err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(v); err != nil {
			b.Fatal(err)
		}
	}
}

// The cheapest possible pass: reading the body's tokens once and writing
// them back.
func BenchmarkReferenceTokenCopy500(b *testing.B) {
	body, _ := benchBody(500)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	var out bytes.Buffer
	for b.Loop() {
		out.Reset()
		dec := jsontext.NewDecoder(bytes.NewReader(body))
		enc := jsontext.NewEncoder(&out)
		for {
			tok, err := dec.ReadToken()
			if err != nil {
				break
			}
			if err := enc.WriteToken(tok); err != nil {
				b.Fatal(err)
			}
		}
	}
}
