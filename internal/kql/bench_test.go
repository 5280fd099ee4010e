package kql

import (
	"encoding/json"
	"testing"
)

// A typical partner query: five conditions on Japanese and ASCII field
// codes, order by and limit; and a typical compiled row rule.
const (
	benchQuery = `ステータス in ("受付", "対応中") and 顧客名 like "株式会社" and amount >= 10000 and 期日 <= TODAY() and 担当者 in (LOGINUSER()) order by 更新日時 desc, $id asc limit 100`
	benchRule  = `取引先コード in ("C-001", "C-002") and visibility in ("public")`
)

// benchJSON is the reference: the same query as a JSON document of about
// the same length, decoded with encoding/json into any.
const benchJSON = `{"where":[["ステータス","in","受付","対応中"],["顧客名","like","株式会社"],["amount",">=",10000],["期日","<=","TODAY"],["担当者","in","LOGINUSER"]],"order":[["更新日時","desc"],["$id","asc"]],"limit":100}`

var benchOpts = ComposeOptions{
	CheckField: func(string) error { return nil },
}

// The reference is only fair if it is about as long as the query.
func TestBenchmarkReferenceIsComparable(t *testing.T) {
	q, j := len(benchQuery), len(benchJSON)
	if j < q*8/10 || j > q*12/10 {
		t.Fatalf("query %d bytes, JSON reference %d bytes: not within 20%%", q, j)
	}
	var v any
	if err := json.Unmarshal([]byte(benchJSON), &v); err != nil {
		t.Fatal(err)
	}
	roundTrip(t, mustParse(t, benchQuery))
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchQuery)))
	for b.Loop() {
		if _, err := Parse(benchQuery); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompose(b *testing.B) {
	rule, user := mustParse(b, benchRule).Where, mustParse(b, benchQuery)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compose(rule, user, benchOpts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkString(b *testing.B) {
	q := mustParse(b, benchQuery)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchQuery)))
	for b.Loop() {
		_ = q.String()
	}
}

// BenchmarkParseComposeString is kgate's per-request work on a query.
func BenchmarkParseComposeString(b *testing.B) {
	rule := mustParse(b, benchRule).Where // compiled once per policy, cached
	b.ReportAllocs()
	b.SetBytes(int64(len(benchQuery)))
	for b.Loop() {
		user, err := Parse(benchQuery)
		if err != nil {
			b.Fatal(err)
		}
		out, err := Compose(rule, user, benchOpts)
		if err != nil {
			b.Fatal(err)
		}
		_ = out.String()
	}
}

// BenchmarkReferenceJSONUnmarshal decodes a JSON document of about the same
// length into any: the yardstick the figures above are read against.
func BenchmarkReferenceJSONUnmarshal(b *testing.B) {
	data := []byte(benchJSON)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			b.Fatal(err)
		}
	}
}
