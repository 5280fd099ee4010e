package kintone

import (
	"errors"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestQueryParamsReadTheBracketEncodingClientsSend(t *testing.T) {
	tests := []struct {
		raw  string
		want Params
	}{
		{"app=1&ids[0]=5&ids[1]=7", Params{"app": "1", "ids": []any{"5", "7"}}},
		{"app=1&fields%5B0%5D=%24id&fields%5B1%5D=title", Params{"app": "1", "fields": []any{"$id", "title"}}},
		{"ids[1]=b&ids[0]=a", Params{"ids": []any{"a", "b"}}},
		{"updateKey[field]=code&updateKey[value]=A-1", Params{"updateKey": map[string]any{"field": "code", "value": "A-1"}}},
		{"app=1&app=2", Params{"app": "1"}},
		{"totalCount=true", Params{"totalCount": "true"}},
	}
	for _, tt := range tests {
		q, _ := url.ParseQuery(tt.raw)
		if got := QueryParams(q); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("QueryParams(%q) = %#v, want %#v", tt.raw, got, tt.want)
		}
	}
}

func TestReadParamsTakesAJSONBodyOnAnyMethod(t *testing.T) {
	for _, method := range []string{"GET", "DELETE", "POST", "PUT"} {
		r := httptest.NewRequest(method, "/k/v1/records.json", strings.NewReader(`{"app":3,"ids":[1,2]}`))
		r.Header.Set("Content-Type", "application/json; charset=utf-8")
		p, err := ReadParams(r, 1<<20, "en")
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		if n, _, ok := p.Int("app"); !ok || n != 3 {
			t.Errorf("%s: app = %v", method, p["app"])
		}
		if ids, _, ok := p.Strings("ids"); !ok || !reflect.DeepEqual(ids, []string{"1", "2"}) {
			t.Errorf("%s: ids = %v", method, ids)
		}
	}
}

func TestReadParamsRefusesBadBodies(t *testing.T) {
	tests := []struct {
		name, body string
		max        int64
		code       string
	}{
		{"malformed", `{"app":`, 1 << 20, "CB_IJ01"},
		{"array", `[1,2]`, 1 << 20, "CB_IJ01"},
		{"trailing data", `{"app":1} {"app":2}`, 1 << 20, "CB_IJ01"},
		{"too large", `{"app":1}`, 4, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/k/v1/record.json", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", "application/json")
			_, err := ReadParams(r, tt.max, "en")
			var ke *Error
			switch {
			case tt.code == "" && !errors.Is(err, ErrBodyTooLarge):
				t.Errorf("err = %v, want ErrBodyTooLarge", err)
			case tt.code != "" && (!errors.As(err, &ke) || ke.Code != tt.code || ke.Status != 400):
				t.Errorf("err = %v, want %s", err, tt.code)
			}
		})
	}
}

func TestJSONWithoutItsContentTypeIsNotRead(t *testing.T) {
	r := httptest.NewRequest("GET", "/k/v1/records.json", strings.NewReader(`{"app":3}`))
	p, err := ReadParams(r, 1<<20, "en")
	if err != nil || len(p) != 0 {
		t.Fatalf("params = %v, %v; want none, as kintone ignores a body without Content-Type: application/json", p, err)
	}
}

func TestMethodOverrideCountsOnlyOnPostAndInUpperCase(t *testing.T) {
	tests := []struct{ method, override, want string }{
		{"POST", "GET", "GET"},
		{"POST", "DELETE", "DELETE"},
		{"POST", "get", "POST"},
		{"PUT", "GET", "PUT"},
		{"POST", "PATCH", "POST"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, "/k/v1/records.json", nil)
		r.Header.Set("X-HTTP-Method-Override", tt.override)
		if got := Method(r); got != tt.want {
			t.Errorf("%s with override %q = %s, want %s", tt.method, tt.override, got, tt.want)
		}
	}
}

func TestTypedReaders(t *testing.T) {
	p, _ := DecodeParams([]byte(`{"a":"12","b":12,"c":"x","d":true,"e":"false","f":[1,"two"],"g":null,"h":{}}`))
	if n, _, ok := p.Int("a"); !ok || n != 12 {
		t.Error("a string holding a number is an integer")
	}
	if _, present, ok := p.Int("c"); !present || ok {
		t.Error("text is not an integer")
	}
	if _, present, _ := p.Int("g"); present {
		t.Error("null counts as absent")
	}
	if b, _, ok := p.Bool("e"); !ok || b {
		t.Error(`"false" is a boolean`)
	}
	if l, _, ok := p.Strings("f"); !ok || !reflect.DeepEqual(l, []string{"1", "two"}) {
		t.Errorf("f = %v", l)
	}
	if l, _, ok := p.Strings("h"); !ok || len(l) != 0 {
		t.Error("an empty object from a query string is an empty list")
	}
}
