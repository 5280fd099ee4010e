// Package policies embeds kgate's default policy set, so that `kgate demo`
// can run it from any directory. Operators keep their own copy in Git and
// point the `policy` setting at it.
package policies

import "embed"

// FS holds the Rego files, their tests and data.json.
//
//go:embed *.rego data.json
var FS embed.FS
