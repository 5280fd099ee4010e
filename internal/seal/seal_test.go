package seal

import (
	"bytes"
	"encoding/base64"
	"errors"
	"testing"
)

var (
	secretA = bytes.Repeat([]byte("a"), MinSecretLen)
	secretB = bytes.Repeat([]byte("b"), MinSecretLen)
)

func mustNew(t *testing.T, purpose string, secrets ...[]byte) *Keys {
	t.Helper()
	k, err := New(secrets, purpose)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestAValueOpensOnlyWhereItWasSealed(t *testing.T) {
	sealed := mustNew(t, "cookies", secretA).Seal([]byte("session"), []byte("alice"))
	flipped := []byte(sealed)
	flipped[len(flipped)-2] ^= 1
	tests := []struct {
		name  string
		keys  *Keys
		ad    string
		value string
		want  string // "" when it must not open
	}{
		{"the same keys, purpose and name", mustNew(t, "cookies", secretA), "session", sealed, "alice"},
		{"after a rotation: the old key still listed", mustNew(t, "cookies", secretB, secretA), "session", sealed, "alice"},
		{"the old key dropped", mustNew(t, "cookies", secretB), "session", sealed, ""},
		{"another purpose, same secret", mustNew(t, "tokens", secretA), "session", sealed, ""},
		{"another name", mustNew(t, "cookies", secretA), "login", sealed, ""},
		{"one bit changed", mustNew(t, "cookies", secretA), "session", string(flipped), ""},
		{"cut short", mustNew(t, "cookies", secretA), "session", sealed[:10], ""},
		{"not base64", mustNew(t, "cookies", secretA), "session", "%%%", ""},
		{"another version", mustNew(t, "cookies", secretA), "session", base64.RawURLEncoding.EncodeToString(append([]byte{2}, make([]byte, 40)...)), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plain, err := tt.keys.Open([]byte(tt.ad), tt.value)
			switch {
			case tt.want != "" && (err != nil || string(plain) != tt.want):
				t.Errorf("Open = %q, %v; want %q", plain, err, tt.want)
			case tt.want == "" && !errors.Is(err, ErrSealed):
				t.Errorf("Open = %q, %v; want ErrSealed", plain, err)
			}
		})
	}
}

func TestTheFirstKeySeals(t *testing.T) {
	rotated := mustNew(t, "cookies", secretB, secretA)
	sealed := rotated.Seal(nil, []byte("x"))
	if _, err := mustNew(t, "cookies", secretB).Open(nil, sealed); err != nil {
		t.Errorf("a value sealed after the rotation does not open under the new key alone: %v", err)
	}
	if _, err := mustNew(t, "cookies", secretA).Open(nil, sealed); err == nil {
		t.Error("a value sealed after the rotation opens under the old key")
	}
}

func TestSecretsAreLongEnough(t *testing.T) {
	for _, secrets := range [][][]byte{nil, {secretA[:MinSecretLen-1]}, {secretA, secretB[:5]}} {
		if _, err := New(secrets, "cookies"); err == nil {
			t.Errorf("New accepted %d secrets of lengths %v", len(secrets), lengths(secrets))
		}
	}
}

func lengths(secrets [][]byte) []int {
	var out []int
	for _, s := range secrets {
		out = append(out, len(s))
	}
	return out
}
