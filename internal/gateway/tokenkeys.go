package gateway

import (
	"crypto/rand"
	"fmt"

	"github.com/kgate/kgate/internal/seal"
)

// MinTokenKeyLen is the shortest secret accepted in Config.FileKeys.
const MinTokenKeyLen = seal.MinSecretLen

// tokenKeys seal the tokens kgate hands out in place of kintone's keys
// (file tokens and upload tokens). The first key seals, every key opens:
// an operator rotates by putting a new secret first and dropping the old
// one once the tokens it sealed have expired.
type tokenKeys struct {
	keys *seal.Keys
}

// newTokenKeys derives one key from each secret, apart from anything else
// the operator may have made from the same secret.
func newTokenKeys(secrets [][]byte) (*tokenKeys, error) {
	if len(secrets) == 0 {
		return nil, fmt.Errorf("gateway: no file token key")
	}
	k, err := seal.New(secrets, "file and upload tokens")
	if err != nil {
		return nil, fmt.Errorf("gateway: file token key: %w", err)
	}
	return &tokenKeys{keys: k}, nil
}

// randomTokenKey is the key of a gateway configured without one: what it
// seals opens in this process only.
func randomTokenKey() [][]byte {
	b := make([]byte, MinTokenKeyLen)
	rand.Read(b)
	return [][]byte{b}
}

// seal returns the sealed token; ad binds it to its purpose.
func (k *tokenKeys) seal(ad, plain []byte) string { return k.keys.Seal(ad, plain) }

// open reverses seal under any of the keys.
func (k *tokenKeys) open(ad []byte, token string) ([]byte, bool) {
	plain, err := k.keys.Open(ad, token)
	return plain, err == nil
}
