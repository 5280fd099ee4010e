// Package examples holds kgate's worked use cases, one folder each: a
// Caddyfile, a simulator seed, and a README. `kgate demo` runs
// partner-portal from the copy embedded here, so the demo and the example
// cannot drift apart.
package examples

import "embed"

// FS holds every example folder.
//
//go:embed partner-portal
var FS embed.FS
