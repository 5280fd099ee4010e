package main

import (
	"encoding/json"
	"slices"
	"testing"
)

// The demo turns notifications on where they can work — a kgate handler
// with the members app, kgate's login and a mail block — for every app
// but the members app, and leaves a notify block of the Caddyfile's own.
func TestTheDemoNotifiesWhereMembersLoginAndMailAre(t *testing.T) {
	const apps = `"apps":[{"id":"1","alias":"members"},{"id":"2","alias":"budget"},{"id":"5","alias":"schedule"}]`
	tests := []struct {
		name    string
		handler string
		want    []int64
		added   bool
	}{
		{"members, login and mail", `{"handler":"kgate",` + apps + `,"members":{"app":"members"},"oidc":{},"mail":{}}`, []int64{2, 5}, true},
		{"no mail block", `{"handler":"kgate",` + apps + `,"members":{"app":"members"},"oidc":{}}`, nil, false},
		{"no members app", `{"handler":"kgate",` + apps + `,"oidc":{},"mail":{}}`, nil, false},
		{"no login", `{"handler":"kgate",` + apps + `,"members":{"app":"members"},"mail":{}}`, nil, false},
		{"a notify block of its own", `{"handler":"kgate",` + apps + `,"members":{"app":"members"},"oidc":{},"mail":{},"notify":{"secret":"mine"}}`, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h map[string]any
			if err := json.Unmarshal([]byte(tt.handler), &h); err != nil {
				t.Fatal(err)
			}
			_, had := h["notify"]
			got := notifyHandler(h, "s3cret")
			if !slices.Equal(got, tt.want) {
				t.Errorf("apps %v, want %v", got, tt.want)
			}
			n, _ := h["notify"].(map[string]any)
			if added := !had && n != nil; added != tt.added || had && n["secret"] != "mine" || added && n["secret"] != "s3cret" {
				t.Errorf("notify block %v", h["notify"])
			}
		})
	}
}
