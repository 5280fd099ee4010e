package caddymodule

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// The identity-provider recipes of examples/deploy/idp adapt without a
// warning, set what their provider needs, and are the blocks the README
// shows, so the documentation cannot drift from a configuration that loads.
func TestTheIdentityProviderRecipesAdaptAndAreTheREADMEs(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file string
		want OIDC // the settings that make the recipe fit its provider
	}{
		{"keycloak.Caddyfile", OIDC{
			Issuer: "https://sso.example.com/realms/partners", BackchannelLogout: true,
			BearerAudiences: []string{"kgate-api"}, BearerClients: []string{"partner-erp"},
			Claims:      Claims{Groups: "groups", Org: "organization"},
			GroupLevels: map[string]string{"partners-gold": "gold", "partners-silver": "silver"},
		}},
		{"entra.Caddyfile", OIDC{
			Issuer:               "https://login.microsoftonline.com/{env.ENTRA_TENANT_ID}/v2.0",
			BearerAudiences:      []string{"3f2b8c1e-0000-4000-8000-00000000a91d"},
			Claims:               Claims{Groups: "roles", Attrs: map[string]string{"tenant": "tid"}},
			GroupLevels:          map[string]string{"partners.gold": "gold", "partners.silver": "silver"},
			TrustUnverifiedEmail: true,
		}},
		{"google.Caddyfile", OIDC{
			Issuer: "https://accounts.google.com",
			Claims: Claims{Attrs: map[string]string{"workspace_domain": "hd"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("..", "examples", "deploy", "idp", tt.file)
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			out, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt(src, map[string]any{"filename": path})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range warnings {
				t.Errorf("warning: %s", w)
			}
			got := recipeOIDC(t, out)
			if got.Issuer != tt.want.Issuer || got.BackchannelLogout != tt.want.BackchannelLogout ||
				got.TrustUnverifiedEmail != tt.want.TrustUnverifiedEmail ||
				!reflect.DeepEqual(got.BearerAudiences, tt.want.BearerAudiences) ||
				!reflect.DeepEqual(got.BearerClients, tt.want.BearerClients) ||
				!reflect.DeepEqual(got.Claims, tt.want.Claims) || !reflect.DeepEqual(got.GroupLevels, tt.want.GroupLevels) {
				t.Errorf("adapted oidc settings\n got %+v\nwant %+v", got, tt.want)
			}
			if block := oidcBlock(t, string(src)); !strings.Contains(string(readme), "```caddyfile\n"+block+"```") {
				t.Errorf("the README does not show this oidc block:\n%s", block)
			}
		})
	}
}

// recipeOIDC digs the kgate handler's oidc settings out of an adapted
// site whose route holds the kgate handler alone.
func recipeOIDC(t *testing.T, adapted []byte) OIDC {
	t.Helper()
	var v struct {
		Apps struct {
			HTTP struct {
				Servers map[string]struct {
					Routes []struct {
						Handle []struct {
							Routes []struct {
								Handle []struct {
									OIDC *OIDC `json:"oidc"`
								} `json:"handle"`
							} `json:"routes"`
						} `json:"handle"`
					} `json:"routes"`
				} `json:"servers"`
			} `json:"http"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(adapted, &v); err != nil {
		t.Fatal(err)
	}
	for _, srv := range v.Apps.HTTP.Servers {
		for _, r := range srv.Routes {
			for _, h := range r.Handle {
				for _, sub := range h.Routes {
					for _, hh := range sub.Handle {
						if hh.OIDC != nil {
							return *hh.OIDC
						}
					}
				}
			}
		}
	}
	t.Fatalf("no kgate handler with oidc settings in %s", adapted)
	return OIDC{}
}

// oidcBlock returns a Caddyfile's oidc block, from its first line to its
// closing brace, with the indentation it has inside the kgate block
// removed.
func oidcBlock(t *testing.T, src string) string {
	t.Helper()
	var b strings.Builder
	indent := ""
	for line := range strings.Lines(src) {
		trimmed := strings.TrimLeft(line, "\t")
		if indent == "" {
			if !strings.HasPrefix(trimmed, "oidc ") {
				continue
			}
			indent = line[:len(line)-len(trimmed)]
		}
		b.WriteString(strings.TrimPrefix(line, indent))
		if line == indent+"}\n" {
			return b.String()
		}
	}
	t.Fatal("no oidc block")
	return ""
}
