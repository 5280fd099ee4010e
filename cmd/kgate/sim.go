package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/kgate/kgate/internal/kintonesim"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "sim",
		Usage: "--data <seed.json> [--listen <addr>] [--persist <file>] [--control] [--concurrency <n>] [--daily-limit <n>]",
		Short: "Runs the kintone simulator",
		Long: `
Runs kgate's kintone simulator: the kintone REST API (/k/v1/... and
/k/guest/{space}/v1/...) over the apps, users, API tokens and records of a
seed file (internal/kintonesim/SEED.md describes the format).

--persist FILE keeps the data across restarts: when FILE exists it is loaded
instead of --data, and every change is written back to it atomically.
--control enables the /_sim/ endpoints (faults, clock, counters, direct
edits); never expose them.

The official kintone client refuses plain HTTP on any host but localhost, so
address the simulator as http://localhost:PORT. It stops cleanly on SIGINT
or SIGTERM.
`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.Flags().String("data", "", "seed file (JSON)")
			cmd.Flags().String("listen", "127.0.0.1:8090", "address to listen on")
			cmd.Flags().String("persist", "", "file that keeps the data across restarts")
			cmd.Flags().Bool("control", false, "enable the /_sim/ control endpoints")
			cmd.Flags().Int("concurrency", 100, "concurrent requests before 429 GAIA_TO04")
			cmd.Flags().Int("daily-limit", 10000, "requests per app and day before the app is reported over kintone's limit")
			cmd.RunE = func(cmd *cobra.Command, _ []string) error {
				var o simOptions
				o.data, _ = cmd.Flags().GetString("data")
				o.persist, _ = cmd.Flags().GetString("persist")
				o.control, _ = cmd.Flags().GetBool("control")
				o.concurrency, _ = cmd.Flags().GetInt("concurrency")
				o.dailyLimit, _ = cmd.Flags().GetInt("daily-limit")
				listen, _ := cmd.Flags().GetString("listen")
				ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				ln, err := net.Listen("tcp", listen)
				if err != nil {
					return err
				}
				return runSim(ctx, cmd.OutOrStdout(), ln, o)
			}
		},
	})
}

type simOptions struct {
	data, persist string
	control       bool
	concurrency   int
	dailyLimit    int
}

// runSim serves the simulator on ln until ctx ends, then shuts down and
// saves the data when persisting.
func runSim(ctx context.Context, out io.Writer, ln net.Listener, o simOptions) error {
	defer ln.Close()
	path := o.data
	if o.persist != "" {
		if _, err := os.Stat(o.persist); err == nil {
			path = o.persist
		}
	}
	if path == "" {
		return errors.New("sim: --data is required")
	}
	seed, err := kintonesim.LoadSeed(path)
	if err != nil {
		return err
	}
	opts := []kintonesim.Option{}
	if o.persist != "" {
		opts = append(opts, kintonesim.WithPersistFile(o.persist))
	}
	if o.control {
		opts = append(opts, kintonesim.WithControl())
	}
	if o.concurrency > 0 {
		opts = append(opts, kintonesim.WithConcurrencyLimit(o.concurrency))
	}
	if o.dailyLimit > 0 {
		opts = append(opts, kintonesim.WithDailyLimit(o.dailyLimit))
	}
	sim, err := kintonesim.New(seed, opts...)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	fmt.Fprintf(out, "kgate sim: kintone on %s (data: %s)\n", simURL(ln.Addr()), path)
	select {
	case err = <-done:
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = srv.Shutdown(shut)
		cancel()
	}
	if cerr := sim.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	fmt.Fprintln(out, "kgate sim: stopped")
	return err
}

// simURL is the URL clients should use: localhost for loopback addresses,
// because the official client accepts plain HTTP only there.
func simURL(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return "http://" + a.String()
	}
	host := tcp.IP.String()
	if tcp.IP.IsLoopback() || tcp.IP.IsUnspecified() {
		host = "localhost"
	}
	return fmt.Sprintf("http://%s", net.JoinHostPort(host, fmt.Sprint(tcp.Port)))
}
