package kintonesim

import (
	"strings"
	"testing"
)

// labelSeed has a field with names in Japanese and English, a subtable
// field named in Japanese only, a field without localized names, and a
// user whose own language is Japanese.
const labelSeed = `{"language": "en",
 "users": [{"code": "jun", "password": "jun-pw", "name": "Jun", "language": "ja"}],
 "apps": [{"id": 2, "name": "Budget", "tokens": [{"token": "tok", "view": true}], "fields": [
  {"type": "SINGLE_LINE_TEXT", "code": "title", "label": "Title", "labels": {"ja": "件名", "en": "Title (en)"}},
  {"type": "NUMBER", "code": "amount", "label": "Amount"},
  {"type": "STATUS", "code": "Status", "label": "Status", "labels": {"ja": "ステータス"}},
  {"type": "SUBTABLE", "code": "items", "label": "Items", "labels": {"ja": "明細"}, "fields": [
    {"type": "SINGLE_LINE_TEXT", "code": "item", "label": "Item", "labels": {"ja": "品目"}}]}]}]}`

// TestFieldLabelsFollowTheLangParameter: fields.json returns a field's name
// in the language lang asks for (the caller's own for "user"), the default
// name for "default" or no lang, and the default name where the field has
// none in that language — as kintone does.
func TestFieldLabelsFollowTheLangParameter(t *testing.T) {
	seed, err := ParseSeed([]byte(labelSeed))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(seed)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, query, user, acceptLang string
		want                          map[string]string // field code → label
	}{
		{"no lang: default names", "", "", "ja", map[string]string{"title": "Title", "amount": "Amount", "Status": "Status", "items": "Items", "item": "Item"}},
		{"default", "&lang=default", "", "ja", map[string]string{"title": "Title", "items": "Items", "item": "Item"}},
		{"ja", "&lang=ja", "", "en", map[string]string{"title": "件名", "amount": "Amount", "Status": "ステータス", "items": "明細", "item": "品目"}},
		{"en", "&lang=en", "", "ja", map[string]string{"title": "Title (en)", "amount": "Amount", "items": "Items", "item": "Item"}},
		{"zh has none: default names", "&lang=zh", "", "ja", map[string]string{"title": "Title", "item": "Item"}},
		{"user with a token follows Accept-Language", "&lang=user", "", "ja", map[string]string{"title": "件名", "item": "品目"}},
		{"user with a token, other Accept-Language", "&lang=user", "", "en", map[string]string{"title": "Title (en)"}},
		{"user's own setting beats Accept-Language", "&lang=user", "jun", "en", map[string]string{"title": "件名", "Status": "ステータス"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := req{method: "GET", path: "/k/v1/app/form/fields.json?app=2" + tt.query, header: map[string]string{"Accept-Language": tt.acceptLang}}
			if tt.user != "" {
				q.user = tt.user
			} else {
				q.token = "tok"
			}
			props := must(t, do(t, s, q)).obj(t)["properties"].(map[string]any)
			items := props["items"].(map[string]any)["fields"].(map[string]any)
			for code, want := range tt.want {
				p, ok := props[code].(map[string]any)
				if !ok {
					p = items[code].(map[string]any)
				}
				if p["label"] != want {
					t.Errorf("%s: label %q, want %q", code, p["label"], want)
				}
				if _, leaked := p["labels"]; leaked {
					t.Errorf("%s: the seed's labels key is not part of kintone's answer: %v", code, p)
				}
			}
		})
	}
}

// TestFieldLabelsSurviveASnapshot: a persisted simulator keeps the
// localized names, because a snapshot is a seed.
func TestFieldLabelsSurviveASnapshot(t *testing.T) {
	seed, err := ParseSeed([]byte(labelSeed))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(seed)
	if err != nil {
		t.Fatal(err)
	}
	again, err := New(s.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	props := must(t, do(t, again, req{method: "GET", path: "/k/v1/app/form/fields.json?app=2&lang=ja", token: "tok"})).obj(t)["properties"].(map[string]any)
	if got := props["title"].(map[string]any)["label"]; got != "件名" {
		t.Fatalf("after a snapshot the ja label is %q", got)
	}
}

// TestBadFieldLabelsAreRefused: labels must name ja, en or zh with a
// non-empty string, and the error says which field.
func TestBadFieldLabelsAreRefused(t *testing.T) {
	for _, tt := range []struct{ labels, want string }{
		{`{"fr": "Titre"}`, `field "title": labels: language "fr" is not one of ja, en, zh`},
		{`{"ja": ""}`, `field "title": labels: the ja label must be a non-empty string`},
		{`{"ja": 3}`, `the ja label must be a non-empty string`},
		{`"件名"`, `field "title": labels must be an object`},
	} {
		seed, err := ParseSeed([]byte(`{"apps": [{"id": 2, "code": "budget", "name": "B", "fields": [
			{"type": "SINGLE_LINE_TEXT", "code": "title", "label": "Title", "labels": ` + tt.labels + `}]}]}`))
		if err == nil {
			seed.name = "x.json"
			_, err = New(seed)
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "app 2 (budget)") {
			t.Errorf("labels %s: error %v, want it to contain %q", tt.labels, err, tt.want)
		}
	}
}
