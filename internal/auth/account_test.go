package auth

import (
	"net/http"
	"testing"
)

// A person refused under the account they are signed in with at the
// provider needs a way to log in as someone else: login?account=choose
// asks the provider to let them pick (prompt=select_account); nothing
// else adds a prompt.
func TestLoginAsksTheProviderForAnAccountChoiceOnlyWhenAsked(t *testing.T) {
	op := startFakeOP(t)
	k := startKgate(t, listenTLS(t), fakeConfig(op))
	for _, tc := range []struct {
		query, prompt string
	}{
		{"account=choose&return=%2F", "select_account"},
		{"return=%2F", ""},
		{"account=other&return=%2F", ""},
		{"account=choose&prompt=none&return=%2F", "select_account"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			p := newBrowser(t, k).Get(k.url("/kgate/login?" + tc.query))
			if p.Status != http.StatusFound {
				t.Fatalf("status %d %s", p.Status, p.Body)
			}
			if got := mustParse(p.Location).Query()["prompt"]; len(got) > 1 || (tc.prompt == "") != (len(got) == 0) || (len(got) == 1 && got[0] != tc.prompt) {
				t.Errorf("prompt %q, want %q (%s)", got, tc.prompt, p.Location)
			}
		})
	}
}
