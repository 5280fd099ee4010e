package main

import (
	"strings"
	"testing"
)

func TestVersionNamesKgateAndCaddy(t *testing.T) {
	got := versionLine()
	if !strings.HasPrefix(got, "kgate ") || !strings.Contains(got, "(Caddy v2.") {
		t.Fatalf("version line %q should name kgate and the Caddy version", got)
	}
}
