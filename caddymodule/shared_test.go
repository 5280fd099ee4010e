package caddymodule

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/portalconfig"
)

// Sessions in Redis mean several instances behind one site: a
// configuration whose file and form keys would be each process's random
// ones is refused, with the setting to add.
func TestInstancesSharingSessionsMustShareTheirKeys(t *testing.T) {
	t.Setenv("KGATE_TEST_UNSET", "")
	key := base64.StdEncoding.EncodeToString([]byte("a file key of thirty-two bytes or more"))
	formKey := "a form key of thirty-two characters or more"
	for _, tc := range []struct {
		name  string
		store string
		file  []string
		form  string // "" for no portal
		want  string // "" when accepted
	}{
		{"redis without a file key", "redis://127.0.0.1:6379/0", nil, formKey, "Add `file_key {env.KGATE_FILE_KEY}` to the kgate block"},
		{"redis without a form key", "redis://127.0.0.1:6379/0", []string{key}, "-", "Add `form_key {env.KGATE_FORM_KEY}` to the portal block"},
		{"redis with a form key from an unset variable", "redis://127.0.0.1:6379/0", []string{key}, "{env.KGATE_TEST_UNSET}", "form_key"},
		{"redis with both keys", "redis://127.0.0.1:6379/0", []string{key}, formKey, ""},
		{"redis without a portal", "redis://127.0.0.1:6379/0", []string{key}, "", ""},
		{"one instance, no keys", "memory", nil, "-", ""},
		{"one instance by default", "", nil, "-", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &Handler{Kintone: Kintone{URL: "http://127.0.0.1:1"}, Apps: []App{{ID: "1", Alias: "a", Tokens: []string{"t"}}},
				Policy: Policy{Dir: "p"}, OIDC: &OIDC{SessionStore: tc.store}, FileKeys: tc.file}
			if tc.form != "" {
				h.Portal = &portalconfig.Config{}
				if tc.form != "-" {
					h.Portal.FormKey = tc.form
				}
			}
			err := h.checkSharedKeys(caddy.NewReplacer())
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "openssl rand -base64 32") {
				t.Fatalf("error %v, want one containing %q and how to make a key", err, tc.want)
			}
			// Provision refuses it first thing.
			ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
			defer cancel()
			if perr := h.Provision(ctx); perr == nil || perr.Error() != err.Error() {
				t.Fatalf("Provision: %v, want %v", perr, err)
			}
		})
	}
}

func TestFileKeysAreBase64OfThirtyTwoBytesOrMore(t *testing.T) {
	t.Setenv("KGATE_TEST_FILE_KEY", base64.StdEncoding.EncodeToString([]byte("a file key of thirty-two bytes or more")))
	t.Setenv("KGATE_TEST_UNSET", "")
	long := base64.RawURLEncoding.EncodeToString([]byte("another key of thirty-two bytes or more"))
	for _, tc := range []struct {
		name string
		keys []string
		n    int    // keys decoded
		want string // the error, "" for none
	}{
		{"from the environment", []string{"{env.KGATE_TEST_FILE_KEY}"}, 1, ""},
		{"current and previous, base64url too", []string{"{env.KGATE_TEST_FILE_KEY}", long}, 2, ""},
		{"an unset previous key is none", []string{"{env.KGATE_TEST_FILE_KEY}", "{env.KGATE_TEST_UNSET}"}, 1, ""},
		{"an unset current key", []string{"{env.KGATE_TEST_UNSET}"}, 0, "is the environment variable set?"},
		{"too short", []string{base64.StdEncoding.EncodeToString(make([]byte, 31))}, 0, "31 bytes, want at least 32"},
		{"not base64", []string{"not base64 at all!"}, 0, "is not base64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := (&Handler{FileKeys: tc.keys}).fileKeys(caddy.NewReplacer())
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil || len(keys) != tc.n {
				t.Fatalf("%d keys, %v; want %d", len(keys), err, tc.n)
			}
		})
	}
}

// Who posted which comment lives where the sessions do: in their Redis,
// through the same client, or in this process, where a config reload (a
// new handler for the same kintone) keeps it.
func TestCommentAuthorsLiveWhereTheSessionsDo(t *testing.T) {
	repl := caddy.NewReplacer()
	shared := &Handler{OIDC: &OIDC{SessionStore: "redis://127.0.0.1:1/0"}, Kintone: Kintone{URL: "https://a.cybozu.com"}}
	t.Cleanup(func() { shared.Cleanup() })
	authors, err := shared.commentAuthors(repl)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := authors.(*gateway.RedisCommentAuthors); !ok {
		t.Fatalf("with sessions in Redis the authors are kept in %T", authors)
	}
	client := shared.redis
	if _, err := shared.sessionStore(repl); err != nil || shared.redis != client {
		t.Fatalf("the session store made a client of its own (%v)", err)
	}

	single := func(kintoneURL string) gateway.CommentAuthors {
		h := &Handler{OIDC: &OIDC{}, Kintone: Kintone{URL: kintoneURL}}
		a, err := h.commentAuthors(repl)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	before := single("https://b.cybozu.com")
	if _, ok := before.(*gateway.MemoryCommentAuthors); !ok {
		t.Fatalf("without Redis the authors are kept in %T", before)
	}
	if single("https://b.cybozu.com") != before {
		t.Error("a config reload forgets who posted which comment")
	}
	if single("https://c.cybozu.com") == before {
		t.Error("two kintone domains share their comment authors")
	}
}
