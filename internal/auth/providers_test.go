package auth

import (
	"testing"
)

// Tokens shaped as Keycloak, Microsoft Entra ID and Google issue them
// become the member the README's recipes promise, with those recipes'
// claim mappings: the level from Keycloak's groups or realm roles or
// Entra's app roles, the organization from a user-attribute claim or the
// members app, an Entra address without email_verified only where the
// operator trusts it.
func TestProviderShapedTokensBecomeTheRecipesMember(t *testing.T) {
	keycloak := Config{Claims: ClaimNames{Groups: "groups", Org: "organization"},
		GroupLevels: []GroupLevel{{"partners-gold", "gold"}, {"partners-silver", "silver"}}}
	realmRoles := keycloak
	realmRoles.Claims.Groups = "realm_access.roles"
	entra := Config{Claims: ClaimNames{Groups: "roles", Attrs: map[string]string{"tenant": "tid"}},
		GroupLevels: []GroupLevel{{"partners.gold", "gold"}, {"partners.silver", "silver"}}, TrustUnverifiedEmail: true}
	entraUntrusted := entra
	entraUntrusted.TrustUnverifiedEmail = false
	google := Config{Claims: ClaimNames{Attrs: map[string]string{"workspace_domain": "hd"}}}

	tests := []struct {
		name      string
		cfg       Config
		directory bool
		claims    func(map[string]any)
		want      string // the test server's answer
	}{
		{"Keycloak groups and a user attribute", keycloak, false,
			set("typ", "Bearer", "azp", "partner-erp", "groups", []any{"offline_access", "partners-gold"}, "organization", "acme"),
			"hello user-1 gold acme bearer"},
		{"Keycloak realm roles by a dotted path", realmRoles, false,
			set("realm_access", map[string]any{"roles": []any{"default-roles-partners", "partners-silver"}}, "organization", "bluebird"),
			"hello user-1 silver bluebird bearer"},
		{"Keycloak without a mapped group has no level", keycloak, false,
			set("groups", []any{"offline_access"}, "organization", "acme"), "403"},
		{"Entra app roles", entra, false,
			set("email_verified", nil, "roles", []any{"partners.silver"}, "tid", "9188040d"),
			"hello user-1 silver  bearer"},
		{"Entra addresses through the members app, trusted", entra, true,
			set("email_verified", nil, "email", "bob@acme.example", "roles", []any{"partners.gold"}),
			"hello user-1 silver acme bearer"},
		{"Entra addresses without trust_unverified_email match no member", entraUntrusted, true,
			set("email_verified", nil, "email", "bob@acme.example"), "403"},
		{"Google through the members app", google, true,
			set("email", "carol@bluebird.example", "hd", "bluebird.example"),
			"hello user-1 gold bluebird bearer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := startFakeOP(t)
			cfg := fakeConfig(op)
			cfg.BearerAudiences, cfg.DefaultLevel = []string{"kgate-api"}, "" // the recipes set no default level
			cfg.Claims, cfg.GroupLevels, cfg.TrustUnverifiedEmail = tt.cfg.Claims, tt.cfg.GroupLevels, tt.cfg.TrustUnverifiedEmail
			if tt.directory {
				cfg.Directory = demoDirectory()
			}
			k := startKgate(t, listenTLS(t), cfg)
			p := k.bearer(t, op.accessToken(map[string]any{"typ": "JWT"}, tt.claims))
			if tt.want == "403" {
				if p.Status != 403 {
					t.Errorf("got %d %q, want 403", p.Status, p.Body)
				}
				return
			}
			if p.Status != 200 || p.Body != tt.want {
				t.Errorf("got %d %q, want %q", p.Status, p.Body, tt.want)
			}
		})
	}
}
