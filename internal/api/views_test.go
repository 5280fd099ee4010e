package api_test

import (
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/testworld"
)

// app/views.json answers in kintone's shape with the views the member may
// know, and refuses as the app's other settings are refused.
func TestViewsAnswerInKintonesShapeWithoutHiddenFields(t *testing.T) {
	e := newAPIEnv(t, nil)
	bob, sam, nolvl := testworld.Identities["bob"], testworld.Identities["sam"], testworld.Identities["nolvl"]
	tests := []struct {
		name   string
		who    *identity.Identity
		path   string
		views  []string // by index
		hidden []string // field codes that must not appear
	}{
		{"silver: no cost, secret or visibility, and nothing filtered on the masked amount", bob, "/k/v1/app/views.json?app=10",
			[]string{"Everything", "Urgent", "Big baskets", "Calendar"}, []string{"cost", "secret", "visibility"}},
		{"gold: cost too", alice, "/k/v1/app/views.json?app=10&lang=en",
			[]string{"Everything", "Expensive", "Urgent", "Big baskets", "Calendar"}, []string{"secret", "visibility"}},
		{"staff: all but the custom view", sam, "/k/v1/app/views.json?app=10&lang=user",
			[]string{"Everything", "Expensive", "Classified order", "Urgent", "Big baskets", "Calendar", "Classified calendar"}, nil},
		{"guest app, staff: kintone's default view", sam, "/k/guest/7/v1/app/views.json?app=11",
			[]string{"All records"}, nil},
		{"guest app, silver: the default view sorts by a hidden record number", bob, "/k/guest/7/v1/app/views.json?app=11",
			[]string{}, []string{"Record_number"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := e.do(t, tt.who, "GET", tt.path, "")
			if a.status != http.StatusOK || a.body["revision"] != "1" {
				t.Fatalf("%d %s", a.status, a.raw)
			}
			views, _ := a.body["views"].(map[string]any)
			got := make([]string, len(views))
			for name, v := range views {
				view := v.(map[string]any)
				if view["name"] != name {
					t.Errorf("view %q is named %v", name, view["name"])
				}
				for i := range got {
					if view["index"] == strconv.Itoa(i) {
						got[i] = name
					}
				}
			}
			if !reflect.DeepEqual(got, tt.views) {
				t.Errorf("views %q, want %q", got, tt.views)
			}
			for _, code := range tt.hidden {
				if strings.Contains(string(a.raw), code) {
					t.Errorf("the answer names %s: %s", code, a.raw)
				}
			}
		})
	}

	direct := e.direct(t, "GET", "/k/v1/app/views.json?app=10", "", testworld.OrdersToken)
	if _, ok := direct.body["views"].(map[string]any)["Board"]; !ok {
		t.Fatalf("the simulator has no custom view to hide: %s", direct.raw)
	}

	refusals := []struct {
		name         string
		who          *identity.Identity
		method, path string
		status       int
		code         string
	}{
		{"preview settings are the operator's", alice, "GET", "/k/v1/preview/app/views.json?app=10", 403, "CB_NO02"},
		{"a language kintone does not know", alice, "GET", "/k/v1/app/views.json?app=10&lang=fr", 400, "CB_VA01"},
		{"no app", alice, "GET", "/k/v1/app/views.json", 400, "CB_VA01"},
		{"changing views is not offered", sam, "PUT", "/k/v1/app/views.json?app=10", 403, "CB_NO02"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			a := e.do(t, tt.who, tt.method, tt.path, "")
			if a.status != tt.status || a.body["code"] != tt.code {
				t.Errorf("got %d %v, want %d %s: %s", a.status, a.body["code"], tt.status, tt.code, a.raw)
			}
		})
	}

	form := e.do(t, nolvl, "GET", "/k/v1/app/form/fields.json?app=10", "")
	views := e.do(t, nolvl, "GET", "/k/v1/app/views.json?app=10", "")
	if form.status == http.StatusOK || views.status != form.status || views.body["code"] != form.body["code"] {
		t.Errorf("a member who may not read the app: views %d %s, form %d %s", views.status, views.raw, form.status, form.raw)
	}
	keys := make([]string, 0)
	for k := range views.body {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if !reflect.DeepEqual(keys, []string{"code", "id", "message"}) && !reflect.DeepEqual(keys, []string{"code", "errors", "id", "message"}) {
		t.Errorf("refusal not in kintone's error shape: %s", views.raw)
	}
}
