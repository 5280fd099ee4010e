package caddymodule

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddytest"
)

func TestCaddyfileAdaptsEveryOptionToJSON(t *testing.T) {
	caddytest.AssertAdapt(t, `
:8080 {
	kgate {
		kintone https://example.cybozu.com {
			basic_auth {env.BASIC_USER} {env.BASIC_PASS}
			timeout 20s
			max_concurrent 15
			max_queue 300
			cache_ttl 2s
		}
		app orders 12 {
			token {env.KINTONE_TOKEN_ORDERS}
			token {env.KINTONE_TOKEN_CUSTOMERS}
		}
		app notices 13 {
			guest_space 7
			token t13
		}
		policy ./policies {
			package partners
			watch
		}
		identity testing
		max_body 2MiB
	}
	reverse_proxy 127.0.0.1:9
}
`, "caddyfile", `{
	"apps": {
		"http": {
			"servers": {
				"srv0": {
					"listen": [
						":8080"
					],
					"routes": [
						{
							"handle": [
								{
									"apps": [
										{
											"alias": "orders",
											"id": "12",
											"tokens": [
												"{env.KINTONE_TOKEN_ORDERS}",
												"{env.KINTONE_TOKEN_CUSTOMERS}"
											]
										},
										{
											"alias": "notices",
											"guest_space": "7",
											"id": "13",
											"tokens": [
												"t13"
											]
										}
									],
									"handler": "kgate",
									"identity": {
										"source": "testing"
									},
									"kintone": {
										"basic_password": "{env.BASIC_PASS}",
										"basic_user": "{env.BASIC_USER}",
										"cache_ttl": 2000000000,
										"max_concurrent": 15,
										"max_queue": 300,
										"timeout": 20000000000,
										"url": "https://example.cybozu.com"
									},
									"max_body": 2097152,
									"policy": {
										"dir": "./policies",
										"package": "partners",
										"watch": true
									}
								},
								{
									"handler": "reverse_proxy",
									"upstreams": [
										{
											"dial": "127.0.0.1:9"
										}
									]
								}
							]
						}
					]
				}
			}
		}
	}
}`)
}

func TestCaddyfileErrorsNameTheLineAndTheFix(t *testing.T) {
	tests := []struct {
		name, block, want string
	}{
		{"kintone without url", "kintone", "kintone needs the domain's URL, e.g. `kintone https://example.cybozu.com`, at Caddyfile:4"},
		{"app without id", "app orders", "app needs an alias and kintone's app id"},
		{"app id not a number", "app orders twelve {\n token t\n}", "\"twelve\" is not a kintone app id"},
		{"app without token", "app orders 12 {\n guest_space 7\n}", "at least one `token` is required"},
		{"unknown app setting", "app orders 12 {\n tokn t\n}", `unknown app setting "tokn"`},
		{"unknown setting", "kintnoe https://x", `unknown kgate setting "kintnoe" (want kintone, app, policy, oidc, members, audit_app, mail, portal, notify, identity, limits, file_token_ttl, upload_token_ttl, file_key or max_body), at Caddyfile:4`},
		{"a file key without a value", "file_key", "file_key needs a key"},
		{"a form key without a value", "portal {\n form_key\n}", "form_key needs a secret"},
		{"a chart without a title", "portal {\n app budget {\n  chart category\n }\n}", "chart needs the field to group by and a title"},
		{"a chart's sum without a field", "portal {\n app budget {\n  chart category sum amount\n }\n}", "chart: sum needs a NUMBER or CALC field and then the title"},
		{"bad timeout", "kintone https://x {\n timeout soon\n}", `timeout "soon": want a duration`},
		{"concurrency above kintone's", "kintone https://x {\n max_concurrent 500\n}", "want a whole number from 1 to 100"},
		{"policy without dir", "policy", "policy needs its directory"},
		{"bad size", "max_body lots", `max_body "lots"`},
		{"unknown limit", "limits {\n\t\t\tmemroy 1GiB\n\t\t}", `unknown limits setting "memroy"`},
		{"bad memory", "limits {\n\t\t\tmemory lots\n\t\t}", `memory "lots": want a size`},
		{"bad ttl", "file_token_ttl soon", `file_token_ttl "soon": want a duration`},
		{"a flag given a value", "oidc https://x {\n bearer_require_at_jwt yes\n}", "bearer_require_at_jwt takes no value"},
		{"an empty bearer client list", "oidc https://x {\n bearer_clients\n}", "bearer_clients needs at least one value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ":8080 {\n\troute {\n\t\tkgate {\n" + tt.block + "\n\t\t}\n\t}\n}\n"
			_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// A configuration kgate cannot serve is refused with what to add or
// change, by Provision before it wires anything (Caddy calls Validate
// only after Provision succeeds) and by Validate alike.
func TestBadConfigurationsAreRefusedWithWhatToChange(t *testing.T) {
	app := []App{{ID: "1", Alias: "a", Tokens: []string{"t"}}}
	kin := Kintone{URL: "http://127.0.0.1:1"}
	pol := Policy{Dir: "p"}
	ident := json.RawMessage(`{"source":"testing"}`)
	tests := []struct {
		name string
		h    Handler
		want string
	}{
		{"no kintone", Handler{}, "kintone url is required"},
		{"no app", Handler{Kintone: kin}, "no app is configured"},
		{"no policy", Handler{Kintone: kin, Apps: app}, "policy directory is required"},
		{"no identity", Handler{Kintone: kin, Apps: app, Policy: pol}, "no identity source"},
		{"two identity sources", Handler{Kintone: kin, Apps: app, Policy: pol, IdentityRaw: ident, OIDC: &OIDC{}}, "either oidc or an identity module"},
		{"an app id that is no number", Handler{Kintone: kin, Apps: []App{{ID: "orders", Alias: "a", Tokens: []string{"t"}}}, Policy: pol, IdentityRaw: ident}, `id "orders" is not a kintone app id`},
		{"limits that contradict each other", Handler{Kintone: kin, Apps: app, Policy: pol, IdentityRaw: ident,
			Limits: &Limits{Memory: 64 << 20, PerMemberMemory: 128 << 20}}, "per_member_memory (128 MiB) is more than memory (64 MiB)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.h.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate: %v, want %q", err, tt.want)
			}
			ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
			defer cancel()
			if err := tt.h.Provision(ctx); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Provision: %v, want %q", err, tt.want)
			}
		})
	}
}

func TestSecretsComeFromPlaceholders(t *testing.T) {
	t.Setenv("KGATE_TEST_TOKEN", "from-env")
	t.Setenv("KGATE_TEST_EMPTY", "")
	h := Handler{Apps: []App{{Alias: "orders", ID: "1", Tokens: []string{"{env.KGATE_TEST_TOKEN}"}}}}
	if err := h.resolveSecrets(caddy.NewReplacer()); err != nil || h.Apps[0].Tokens[0] != "from-env" {
		t.Fatalf("token = %q, %v", h.Apps[0].Tokens[0], err)
	}
	h = Handler{Apps: []App{{Alias: "orders", ID: "1", Tokens: []string{"{env.KGATE_TEST_EMPTY}"}}}}
	if err := h.resolveSecrets(caddy.NewReplacer()); err == nil || !strings.Contains(err.Error(), "environment variable") {
		t.Fatalf("an empty token was accepted: %v", err)
	}
}

func TestCaddyfileAdaptsLoginMembersAndPortal(t *testing.T) {
	caddyfile, err := os.ReadFile("testdata/full.caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/full.json")
	if err != nil {
		t.Fatal(err)
	}
	caddytest.AssertAdapt(t, string(caddyfile), "caddyfile", strings.TrimSpace(string(want)))
}

func TestCaddyfileColoursMustBeQuoted(t *testing.T) {
	cfg := ":8080 {\n\troute {\n\t\tkgate {\n\t\t\tportal {\n\t\t\t\tprimary_color #0b5fff\n\t\t\t}\n\t\t}\n\t}\n}\n"
	_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), nil)
	if err == nil || !strings.Contains(err.Error(), `primary_color "#0b5fff"`) {
		t.Fatalf("error %v, want the quoting hint", err)
	}
}

func TestTheShippedCaddyfilesAdapt(t *testing.T) {
	for _, path := range []string{"../Caddyfile.example", "../examples/partner-portal/Caddyfile", "../examples/member-site/Caddyfile"} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt(b, map[string]any{"filename": path})
		if err != nil {
			t.Errorf("%s: %v", path, err)
		}
		for _, w := range warnings {
			t.Errorf("%s: %s", path, w)
		}
	}
}
