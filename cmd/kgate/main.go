// Command kgate is Caddy with the standard modules and the kgate module,
// plus kgate's own subcommands (demo, sim, policy, audit). Every Caddy command
// works as usual; `kgate version` also names kgate's version.
package main

import (
	"fmt"
	"os"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/kgate/kgate/caddymodule"
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == "version" {
		fmt.Println(versionLine())
		return
	}
	caddycmd.Main()
}

// versionLine answers `kgate version`. Caddy's own version command knows
// nothing of kgate, so this one runs first.
func versionLine() string {
	caddySimple, _ := caddy.Version()
	return fmt.Sprintf("kgate %s (Caddy %s)", kgateVersion(), caddySimple)
}
