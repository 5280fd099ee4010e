package main

import "runtime/debug"

// version is set at build time with
// -ldflags "-X main.version=v1.2.3"; otherwise the module version recorded
// by the Go toolchain is used.
var version = ""

func kgateVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
