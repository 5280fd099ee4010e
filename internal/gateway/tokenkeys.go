package gateway

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
)

// MinTokenKeyLen is the shortest secret accepted in Config.FileKeys.
const MinTokenKeyLen = 32

// tokenKeys seal the tokens kgate hands out in place of kintone's keys
// (file tokens and upload tokens) with AES-256-GCM. The first key seals,
// every key opens: an operator rotates by putting a new secret first and
// dropping the old one once the tokens it sealed have expired. Each sealed
// value names its key, so opening costs one attempt whatever the number of
// keys.
type tokenKeys struct {
	keys []tokenKey
}

type tokenKey struct {
	id   [4]byte
	aead cipher.AEAD
}

// newTokenKeys derives one AES key from each secret. The derivation keeps
// these keys apart from anything else the operator may have made from the
// same secret.
func newTokenKeys(secrets [][]byte) (*tokenKeys, error) {
	if len(secrets) == 0 {
		return nil, fmt.Errorf("gateway: no file token key")
	}
	k := &tokenKeys{}
	for i, secret := range secrets {
		if len(secret) < MinTokenKeyLen {
			return nil, fmt.Errorf("gateway: file token key %d is %d bytes, want at least %d", i+1, len(secret), MinTokenKeyLen)
		}
		derived, err := hkdf.Key(sha256.New, secret, nil, "kgate file and upload tokens", 32)
		if err != nil {
			return nil, err
		}
		block, err := aes.NewCipher(derived)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		key := tokenKey{aead: aead}
		sum := sha256.Sum256(derived)
		copy(key.id[:], sum[:])
		k.keys = append(k.keys, key)
	}
	return k, nil
}

// randomTokenKey is the key of a gateway configured without one: what it
// seals opens in this process only.
func randomTokenKey() [][]byte {
	b := make([]byte, MinTokenKeyLen)
	rand.Read(b)
	return [][]byte{b}
}

// seal returns base64url(key id ‖ nonce ‖ ciphertext); ad binds the value
// to its purpose.
func (k *tokenKeys) seal(ad, plain []byte) string {
	key := k.keys[0]
	ns := key.aead.NonceSize()
	buf := make([]byte, 4+ns, 4+ns+len(plain)+key.aead.Overhead())
	copy(buf, key.id[:])
	rand.Read(buf[4:])
	buf = key.aead.Seal(buf, buf[4:4+ns], plain, slices.Concat(ad, buf[:4]))
	return base64.RawURLEncoding.EncodeToString(buf)
}

// open reverses seal under any of the keys.
func (k *tokenKeys) open(ad []byte, token string) ([]byte, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) < 4 {
		return nil, false
	}
	for _, key := range k.keys {
		if [4]byte(raw[:4]) != key.id {
			continue
		}
		ns := key.aead.NonceSize()
		if len(raw) < 4+ns+key.aead.Overhead() {
			return nil, false
		}
		plain, err := key.aead.Open(nil, raw[4:4+ns], raw[4+ns:], slices.Concat(ad, raw[:4]))
		return plain, err == nil
	}
	return nil, false
}
