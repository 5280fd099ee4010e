package auth

import (
	"fmt"

	"github.com/kgate/kgate/internal/seal"
)

// MinKeyLen is the shortest secret accepted in Config.SessionKeys.
const MinKeyLen = seal.MinSecretLen

// sealer seals auth's values for one purpose, each bound to a name (a
// cookie's, a record's key) as associated data.
type sealer struct {
	keys *seal.Keys
}

func newSealer(secrets [][]byte, purpose string) (*sealer, error) {
	if len(secrets) == 0 {
		return nil, fmt.Errorf("auth: at least one session key is required")
	}
	k, err := seal.New(secrets, purpose)
	if err != nil {
		return nil, fmt.Errorf("auth: session key: %w", err)
	}
	return &sealer{keys: k}, nil
}

func (s *sealer) seal(name string, plain []byte) string { return s.keys.Seal([]byte(name), plain) }

func (s *sealer) open(name, value string) ([]byte, error) { return s.keys.Open([]byte(name), value) }
