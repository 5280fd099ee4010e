package gateway

import (
	"context"
	"fmt"
	"maps"
)

// FieldTypes returns the type of every field of the app configured under
// alias, by code, subtable fields included, as the app's token reads the
// form. It is for checking the operator's settings at load, never for a
// member's request: no policy is asked.
func (g *Gateway) FieldTypes(ctx context.Context, alias string) (map[string]string, error) {
	a := g.aliases[alias]
	if a == nil {
		return nil, fmt.Errorf("kgate does not open an app %q", alias)
	}
	f, err := a.forms.get(ctx, "")
	if err != nil {
		return nil, err
	}
	return maps.Clone(f.types), nil
}
