// Package examples holds kgate's worked use cases, one folder each: a
// Caddyfile, a simulator seed, and a README. `kgate demo` runs
// partner-portal, and with --example member-site that one, from the copy
// embedded here, so the demo and the examples cannot drift apart.
package examples

import "embed"

// FS holds every example folder.
//
//go:embed partner-portal member-site
var FS embed.FS
