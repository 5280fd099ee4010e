package caddymodule

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/kgate/kgate/internal/testworld"
)

// provisionCaddyfile reads a kgate block, carries it through JSON as Caddy
// does, and provisions it.
func provisionCaddyfile(t *testing.T, block string) error {
	t.Helper()
	var h Handler
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(block)); err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(&h)
	if err != nil {
		t.Fatal(err)
	}
	var loaded Handler
	if err := json.Unmarshal(raw, &loaded); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(func() { _ = loaded.Cleanup() })
	defer cancel()
	return loaded.Provision(ctx)
}

// Field codes in the portal's app settings that the app's form lacks are
// refused at load with the Caddyfile line naming them; when kintone cannot
// be reached then, kgate starts and the portal checks them later.
func TestPortalSettingsNamingUnknownFieldsAreRefusedAtTheirLine(t *testing.T) {
	w := testworld.Start(t, 3)
	block := func(kintoneURL, columns string) string {
		return fmt.Sprintf(`kgate {
	kintone %s
	app orders %s {
		token %s
	}
	policy %s
	identity testing
	portal {
		app orders {
			columns %s
		}
	}
}`, kintoneURL, testworld.OrdersApp, testworld.OrdersToken, w.PolicyDir, columns)
	}
	unreachable := "http://127.0.0.1:" + fmt.Sprint(freePort())
	for _, tc := range []struct {
		name, url, columns, want string
	}{
		{"fields of the form", w.URL, "title priority", ""},
		{"a misspelt field", w.URL, "title priorty", `app orders: columns (Testfile:10): the form has no field "priorty"`},
		{"kintone unreachable at load", unreachable, "title priorty", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := provisionCaddyfile(t, block(tc.url, tc.columns))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// A gallery's fields are checked like the other settings, and its picture
// must come from a FILE field.
func TestPortalGalleryIsReadFromTheCaddyfileAndChecked(t *testing.T) {
	w := testworld.Start(t, 3)
	block := func(gallery string) string {
		return fmt.Sprintf(`kgate {
	kintone %s
	app orders %s {
		token %s
	}
	policy %s
	identity testing
	portal {
		app orders {
			%s
		}
	}
}`, w.URL, testworld.OrdersApp, testworld.OrdersToken, w.PolicyDir, gallery)
	}
	for _, tc := range []struct {
		name, gallery, want string
	}{
		{"fields of the form", "gallery attachment {\n\t\t\t\ttitle_field title\n\t\t\t\tfields priority\n\t\t\t}", ""},
		{"a misspelt field", "gallery attachment {\n\t\t\t\tfields priorty\n\t\t\t}", `app orders: gallery (Testfile:10): the form has no field "priorty"`},
		{"a picture from a text field", "gallery title", `app orders: gallery (Testfile:10): "title" is a SINGLE_LINE_TEXT field, not a FILE field`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := provisionCaddyfile(t, block(tc.gallery))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	var h Handler
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(block("gallery attachment {\n title_field title\n fields priority title\n}"))); err != nil {
		t.Fatal(err)
	}
	g := h.Portal.Apps["orders"].Gallery
	if g == nil || g.ImageField != "attachment" || g.TitleField != "title" || strings.Join(g.Fields, " ") != "priority title" {
		t.Errorf("gallery = %+v", g)
	}
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(block("gallery attachment {\n colour red\n}"))); err == nil ||
		!strings.Contains(err.Error(), `want `+"`title_field <field>`") {
		t.Errorf("an unknown gallery setting: %v", err)
	}
}
