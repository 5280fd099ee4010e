// Package seal encrypts the small values kgate hands out and takes back —
// session cookies and records, login states, file and upload tokens — with
// AES-256-GCM under a list of keys, so that keys can be rotated: the first
// seals, every one opens, and dropping a key voids what it sealed.
//
// Keys are derived from the operator's secrets per purpose with HKDF, so a
// value sealed for one purpose never opens for another even under the same
// secret, and every value is bound to associated data (a cookie's name, a
// token's kind) so that one cannot stand in for another.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// MinSecretLen is the shortest secret New accepts.
const MinSecretLen = 32

// ErrSealed is every failure to open: kgate never says which check failed.
var ErrSealed = errors.New("seal: value is malformed, tampered with, or under an unknown key")

const version = 1

// Keys seal and open values for one purpose.
type Keys struct {
	keys []key
}

type key struct {
	id   [4]byte // names the key inside each sealed value, so opening needs one attempt
	aead cipher.AEAD
}

// New derives one key per secret for purpose. Its errors name the secret
// by its place in the list (1 for the first).
func New(secrets [][]byte, purpose string) (*Keys, error) {
	if len(secrets) == 0 {
		return nil, errors.New("no secret")
	}
	k := &Keys{}
	for i, secret := range secrets {
		if len(secret) < MinSecretLen {
			return nil, fmt.Errorf("secret %d is %d bytes, want at least %d", i+1, len(secret), MinSecretLen)
		}
		derived, err := hkdf.Key(sha256.New, secret, nil, "kgate "+purpose, 32)
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
		sk := key{aead: aead}
		sum := sha256.Sum256(derived)
		copy(sk.id[:], sum[:])
		k.keys = append(k.keys, sk)
	}
	return k, nil
}

// Seal returns base64url(version ‖ key id ‖ nonce ‖ ciphertext), with ad
// as associated data.
func (k *Keys) Seal(ad, plain []byte) string {
	sk := k.keys[0]
	ns := sk.aead.NonceSize()
	buf := make([]byte, 1+4+ns, 1+4+ns+len(plain)+sk.aead.Overhead())
	buf[0] = version
	copy(buf[1:5], sk.id[:])
	rand.Read(buf[5 : 5+ns])
	buf = sk.aead.Seal(buf, buf[5:5+ns], plain, withHeader(ad, buf[:5]))
	return base64.RawURLEncoding.EncodeToString(buf)
}

// Open reverses Seal; any change to the value, to ad or to the key list
// makes it fail with ErrSealed.
func (k *Keys) Open(ad []byte, value string) ([]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(raw) < 5 || raw[0] != version {
		return nil, ErrSealed
	}
	for _, sk := range k.keys {
		if [4]byte(raw[1:5]) != sk.id {
			continue
		}
		ns := sk.aead.NonceSize()
		if len(raw) < 5+ns+sk.aead.Overhead() {
			return nil, ErrSealed
		}
		plain, err := sk.aead.Open(nil, raw[5:5+ns], raw[5+ns:], withHeader(ad, raw[:5]))
		if err != nil {
			return nil, ErrSealed
		}
		return plain, nil
	}
	return nil, ErrSealed
}

// withHeader binds the version and key id too.
func withHeader(ad, header []byte) []byte {
	out := make([]byte, 0, len(header)+len(ad))
	out = append(out, header...)
	return append(out, ad...)
}
