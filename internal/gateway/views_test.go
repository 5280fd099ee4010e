package gateway_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/testworld"
)

// viewsPolicy lets gold members read the orders app with the readable
// fields and masks given.
func viewsPolicy(readable []string, masks map[string]string) string {
	var b strings.Builder
	b.WriteString("package kgate\n\nallow if input.user.level == \"gold\"\n\ninclude if input.record.org == input.user.org\n\n")
	for _, code := range readable {
		fmt.Fprintf(&b, "readable contains %q\n\n", code)
	}
	for code, v := range masks {
		fmt.Fprintf(&b, "masks[%q] := %q\n\n", code, v)
	}
	return b.String()
}

// ordersCodes are the orders app's field codes, a table's columns after it.
var ordersCodes = []string{"レコード番号", "title", "org", "amount", "cost", "secret", "priority", "visibility", "shared",
	"due", "memo", "attachment", "items", "item", "qty"}

func TestViewsNeverNameAFieldTheMemberMayNotRead(t *testing.T) {
	all := ordersCodes[:13]
	without := func(drop ...string) []string {
		var out []string
		for _, c := range all {
			if !contains(drop, c) {
				out = append(out, c)
			}
		}
		return out
	}
	tests := []struct {
		name       string
		readable   []string
		masks      map[string]string
		views      []string // the views the member sees, in order
		everything []string // the columns of "Everything", when it is seen
	}{
		{"every field: every view but the custom one", all, nil,
			[]string{"Everything", "Expensive", "Classified order", "Urgent", "Big baskets", "Calendar", "Classified calendar"},
			[]string{"レコード番号", "title", "org", "amount", "cost", "secret", "due", "items"}},
		{"secret unreadable: no view sorted by it or titled with it, and no column of it", without("secret"), nil,
			[]string{"Everything", "Expensive", "Urgent", "Big baskets", "Calendar"},
			[]string{"レコード番号", "title", "org", "amount", "cost", "due", "items"}},
		{"cost masked: the column stays, the condition on it goes", all, map[string]string{"cost": "0"},
			[]string{"Everything", "Classified order", "Urgent", "Big baskets", "Calendar", "Classified calendar"},
			[]string{"レコード番号", "title", "org", "amount", "cost", "secret", "due", "items"}},
		{"due masked: no calendar places records by it", all, map[string]string{"due": "2000-01-01"},
			[]string{"Everything", "Expensive", "Classified order", "Urgent", "Big baskets"},
			[]string{"レコード番号", "title", "org", "amount", "cost", "secret", "due", "items"}},
		{"the table unreadable: no condition on its columns", without("items"), nil,
			[]string{"Everything", "Expensive", "Classified order", "Urgent", "Calendar", "Classified calendar"},
			[]string{"レコード番号", "title", "org", "amount", "cost", "secret", "due"}},
		{"no record number: views sorted by it by default go", without("レコード番号"), nil,
			[]string{"Expensive", "Classified order"}, nil},
		{"record number and title: one list of two columns", []string{"レコード番号", "title"}, nil,
			[]string{"Everything"}, []string{"レコード番号", "title"}},
		{"nothing readable: views of no field at all are left", nil, nil, []string{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := exactEnv(t, viewsPolicy(tt.readable, tt.masks), nil)
			got, err := e.gw.Views(e.ctx, alice, orders, "")
			if err != nil {
				t.Fatal(err)
			}
			names := make([]string, len(got.Views))
			for name, v := range got.Views {
				i := 0
				fmt.Sscan(v.Index, &i)
				if i < 0 || i >= len(names) || names[i] != "" {
					t.Fatalf("view %q has index %q of %d views", name, v.Index, len(names))
				}
				names[i] = name
			}
			if !reflect.DeepEqual(names, tt.views) {
				t.Errorf("views %q, want %q", names, tt.views)
			}
			if ev, ok := got.Views["Everything"]; ok && !reflect.DeepEqual(*ev.Fields, tt.everything) {
				t.Errorf("Everything's columns %q, want %q", *ev.Fields, tt.everything)
			}
			if _, ok := got.Views["Board"]; ok {
				t.Error("a custom view's HTML reached a member")
			}
			raw, _ := json.Marshal(got)
			for _, code := range ordersCodes {
				table := code
				if code == "item" || code == "qty" {
					table = "items"
				}
				if !contains(tt.readable, table) && mentions(string(raw), code) {
					t.Errorf("the answer names %s, which the member may not read: %s", code, raw)
				}
				if _, masked := tt.masks[code]; !masked {
					continue
				}
				for _, v := range got.Views {
					if mentions(v.FilterCond+" "+v.Sort+" "+v.Date, code) {
						t.Errorf("view %q filters, sorts or places records by masked %s: %+v", v.Name, code, v)
					}
				}
			}
		})
	}
}

// mentions reports whether s names the field code as a whole word.
func mentions(s, code string) bool {
	return regexp.MustCompile(`(^|[^\p{L}\p{N}_])` + regexp.QuoteMeta(code) + `($|[^\p{L}\p{N}_])`).MatchString(s)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// A member who may not read the app is refused views as the app's form.
func TestViewsAreRefusedAsTheFormIs(t *testing.T) {
	e := exactEnv(t, viewsPolicy([]string{"title"}, nil), nil)
	for _, who := range []string{"bob", "nolvl"} {
		id := testworld.Identities[who]
		_, formErr := e.gw.FormFields(e.ctx, id, orders, "")
		_, err := e.gw.Views(e.ctx, id, orders, "")
		if formErr == nil || err == nil || kerr(t, err).Code != kerr(t, formErr).Code {
			t.Errorf("%s: views %v, form %v", who, err, formErr)
		}
	}
	if _, err := e.gw.Views(e.ctx, alice, gateway.AppRef{ID: "999"}, ""); err == nil {
		t.Error("views of an app kgate does not serve")
	}
}
