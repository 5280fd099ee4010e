package auth

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

// MinKeyLen is the shortest secret accepted in Config.SessionKeys.
const MinKeyLen = 32

const sealVersion = 1

var errSealed = errors.New("auth: sealed value is malformed, tampered with, or under an unknown key")

// sealer encrypts small values (cookies, store records) with AES-256-GCM.
// It holds a list of keys so that keys can be rotated: the first seals, all
// open, and dropping a key from the list invalidates what it sealed. Keys are
// derived per purpose with HKDF, so a cookie can never be replayed as a
// record or a login state, and every value is bound to a name (associated
// data) so one cookie cannot stand in for another.
type sealer struct {
	keys []sealKey
}

type sealKey struct {
	id   [4]byte // names the key inside each sealed value, so opening needs one attempt
	aead cipher.AEAD
}

func newSealer(secrets [][]byte, purpose string) (*sealer, error) {
	if len(secrets) == 0 {
		return nil, errors.New("auth: at least one session key is required")
	}
	s := &sealer{}
	for i, secret := range secrets {
		if len(secret) < MinKeyLen {
			return nil, fmt.Errorf("auth: session key %d is %d bytes, want at least %d", i, len(secret), MinKeyLen)
		}
		k, err := hkdf.Key(sha256.New, secret, nil, "kgate "+purpose, 32)
		if err != nil {
			return nil, err
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		var sk sealKey
		sum := sha256.Sum256(k)
		copy(sk.id[:], sum[:])
		sk.aead = aead
		s.keys = append(s.keys, sk)
	}
	return s, nil
}

// seal returns base64url(version ‖ key id ‖ nonce ‖ ciphertext) with name as
// associated data.
func (s *sealer) seal(name string, plain []byte) string {
	k := s.keys[0]
	ns := k.aead.NonceSize()
	buf := make([]byte, 1+4+ns, 1+4+ns+len(plain)+k.aead.Overhead())
	buf[0] = sealVersion
	copy(buf[1:5], k.id[:])
	rand.Read(buf[5 : 5+ns])
	buf = k.aead.Seal(buf, buf[5:5+ns], plain, adFor(name, buf[:5]))
	return base64.RawURLEncoding.EncodeToString(buf)
}

// open reverses seal; any change to the value, the name or the key list
// makes it fail.
func (s *sealer) open(name, value string) ([]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(raw) < 5 || raw[0] != sealVersion {
		return nil, errSealed
	}
	for _, k := range s.keys {
		if [4]byte(raw[1:5]) != k.id {
			continue
		}
		ns := k.aead.NonceSize()
		if len(raw) < 5+ns+k.aead.Overhead() {
			return nil, errSealed
		}
		plain, err := k.aead.Open(nil, raw[5:5+ns], raw[5+ns:], adFor(name, raw[:5]))
		if err != nil {
			return nil, errSealed
		}
		return plain, nil
	}
	return nil, errSealed
}

func adFor(name string, header []byte) []byte {
	ad := make([]byte, 0, len(name)+len(header))
	ad = append(ad, header...)
	return append(ad, name...)
}
