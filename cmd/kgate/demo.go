package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	"github.com/kgate/kgate/examples"
	"github.com/kgate/kgate/internal/devidp"
	"github.com/kgate/kgate/internal/kintonesim"
	"github.com/kgate/kgate/internal/mail/mailcatch"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "demo",
		Usage: "[--example partner-portal] [--listen localhost:8080] [--policies DIR] [--persist FILE] [--json] [--token-lifetime 15m]",
		Short: "Runs a worked example: simulated kintone, demo OpenID Provider and kgate",
		Long: `
Runs one of the examples in examples/ on this machine (--example, default
partner-portal): a kintone simulator with the example's apps, the demo
OpenID Provider with a user of each member level, and Caddy with kgate in
front of them. Open the printed URL and log in as any demo user.
Everything listens on localhost only; data lives in memory unless
--persist names a file. Ctrl-C stops it.

The examples:

` + demoExampleList() + `
The policies are the example's own (./policies for partner-portal,
examples/member-site/policies for member-site) when run from a kgate
checkout (edit them and kgate reloads them), else an embedded copy;
--policies picks another directory.

--json prints, once everything serves, one JSON line with the URLs
({"url", "issuer", "kintone", "policies", "mail"}) instead of the text for people:
for scripts and tests. --token-lifetime sets how long the provider's
access tokens live (a short one lets a test see an expired token).`,
		Flags: func() *flag.FlagSet {
			fs := flag.NewFlagSet("demo", flag.ExitOnError)
			fs.String("example", demoExamples[0].Name, "the example to run: "+demoExampleNames())
			fs.String("listen", "localhost:8080", "where the portal listens (localhost only)")
			fs.String("policies", "", "policy directory (default: the example's own in a kgate checkout, else an embedded copy)")
			fs.String("persist", "", "keep the simulated kintone's data in this file across runs")
			fs.Bool("json", false, "print one JSON line with the URLs instead of the text for people")
			fs.Duration("token-lifetime", 15*time.Minute, "lifetime of the demo provider's access tokens")
			return fs
		}(),
		Func: func(fl caddycmd.Flags) (int, error) {
			d, err := startDemo(demoOptions{Example: fl.String("example"), Listen: fl.String("listen"), Policies: fl.String("policies"), Persist: fl.String("persist"),
				JSON: fl.Bool("json"), TokenLifetime: fl.Duration("token-lifetime")}, os.Stdout)
			if err != nil {
				return caddy.ExitCodeFailedStartup, err
			}
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
			<-sig
			fmt.Println("\nstopping…")
			d.Stop()
			return caddy.ExitCodeSuccess, nil
		},
	})
}

type demoOptions struct {
	Example  string // the folder of examples/ to run; empty is the first of demoExamples
	Listen   string // host:port of the portal; the host must be a loopback name
	Policies string
	Persist  string
	// JSON replaces the text for people with one machine-readable line.
	JSON bool
	// TokenLifetime of the provider's access tokens; zero is its default.
	TokenLifetime time.Duration
}

// demo is a running demo.
type demo struct {
	URL, Issuer, Kintone string
	Example              demoExample
	Users                []devidp.User
	notes                map[string]string // what is special about some users, by sub
	Provider             *devidp.Provider
	Sim                  *kintonesim.Server
	// Mail is the catcher kgate's e-mail goes to; demomail.go.
	Mail      *mailcatch.Catcher
	mailPage  string         // host:port of the catcher's page
	mailBlock map[string]any // the kgate mail settings that reach it
	stops     []func()
}

// demoClientSecret and demoMachine* are demo values, printed for the user.
const (
	demoClientID      = "kgate-portal"
	demoMachineID     = "kgate-demo-cli"
	demoMachineSecret = "demo-cli-secret"
	demoAudience      = "kgate-api"
)

func startDemo(o demoOptions, out io.Writer) (_ *demo, err error) {
	host, port, err := net.SplitHostPort(o.Listen)
	if err != nil || (host != "localhost" && host != "127.0.0.1") {
		return nil, fmt.Errorf("--listen %q: the demo serves plain HTTP and only on localhost (e.g. localhost:8080)", o.Listen)
	}
	if err := portFree(port); err != nil {
		return nil, fmt.Errorf("--listen %s: %w; is another kgate demo running? Stop it or choose another port (e.g. --listen localhost:8081)", o.Listen, err)
	}
	name := o.Example
	if name == "" {
		name = demoExamples[0].Name
	}
	ex, err := demoExampleNamed(name)
	if err != nil {
		return nil, err
	}
	d := &demo{URL: "http://" + net.JoinHostPort(host, port), Example: ex}
	if d.Users, d.notes, err = ex.Users(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			d.Stop()
		}
	}()
	policyDir, err := d.policies(o.Policies)
	if err != nil {
		return nil, err
	}
	if err := d.startKintone(o.Persist); err != nil {
		return nil, err
	}
	if err := d.startProvider(o.TokenLifetime); err != nil {
		return nil, err
	}
	mediaDir, err := d.media()
	if err != nil {
		return nil, err
	}
	if err := d.startMail(); err != nil {
		return nil, err
	}
	if err := d.startCaddy(policyDir, mediaDir); err != nil {
		return nil, err
	}
	if o.JSON {
		return d, d.announce(out, policyDir)
	}
	d.describe(out, policyDir)
	return d, nil
}

// portFree reports an error when port is taken on the loopback address.
// Caddy listens with SO_REUSEPORT, so a second demo on the same port would
// start without a word and the two would take turns answering; a plain
// listen, which the option does not cover, finds the port taken.
func portFree(port string) error {
	if port == "0" {
		return nil
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		return errors.New("the port is in use")
	}
	return l.Close()
}

// serve runs h on a free loopback port and returns its base URL.
func (d *demo) serve(h http.Handler) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	d.stops = append(d.stops, func() { srv.Close() })
	return fmt.Sprintf("http://localhost:%d", l.Addr().(*net.TCPAddr).Port), nil
}

func (d *demo) startKintone(persist string) error {
	raw, err := d.Example.file("seed.json")
	if err != nil {
		return err
	}
	seed, err := kintonesim.ParseSeed(raw)
	if err != nil {
		return fmt.Errorf("demo seed: %w", err)
	}
	var opts []kintonesim.Option
	if persist != "" {
		if saved, err := kintonesim.LoadSeed(persist); err == nil {
			seed = saved
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("--persist %s: %w", persist, err)
		}
		opts = append(opts, kintonesim.WithPersistFile(persist))
	}
	if d.Sim, err = kintonesim.New(seed, opts...); err != nil {
		return err
	}
	d.stops = append(d.stops, func() { d.Sim.Close() })
	d.Kintone, err = d.serve(d.Sim)
	return err
}

func (d *demo) startProvider(tokenLifetime time.Duration) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	d.Issuer = fmt.Sprintf("http://localhost:%d/", l.Addr().(*net.TCPAddr).Port)
	d.Provider, err = devidp.New(devidp.Config{
		Issuer:              d.Issuer,
		Users:               d.Users,
		AccessTokenLifetime: tokenLifetime,
		Clients: []devidp.Client{
			{ID: demoClientID, Secret: clientSecret, RedirectURIs: []string{d.URL + "/kgate/callback"},
				PostLogoutRedirectURIs: []string{d.URL + "/"}},
			{ID: demoMachineID, Secret: demoMachineSecret, Audience: []string{demoAudience}, ActAsUsers: true},
		},
	})
	if err != nil {
		l.Close()
		return err
	}
	srv := &http.Server{Handler: d.Provider, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	d.stops = append(d.stops, func() { srv.Close() })
	return nil
}

// clientSecret is made per run: the demo provider and kgate share it.
var clientSecret = randomB64(24)

func randomB64(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func (d *demo) startCaddy(policyDir, mediaDir string) error {
	caddyfile, err := d.Example.file("Caddyfile")
	if err != nil {
		return err
	}
	for k, v := range map[string]string{
		"KGATE_DEMO_SITE": d.URL, "KGATE_DEMO_KINTONE": strings.TrimSuffix(d.Kintone, "/"),
		"KGATE_DEMO_ISSUER": d.Issuer, "KGATE_DEMO_POLICIES": policyDir, "KGATE_DEMO_MEDIA": mediaDir,
		"KGATE_DEMO_CLIENT_SECRET": clientSecret, "KGATE_DEMO_SESSION_KEY": randomB64(32),
		"KGATE_DEMO_INVITE_KEY": randomB64(32),
	} {
		os.Setenv(k, v)
	}
	cfg, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt(caddyfile, map[string]any{"filename": "examples/" + d.Example.Name + "/Caddyfile"})
	if err != nil {
		return fmt.Errorf("the demo's Caddyfile: %w", err)
	}
	for _, w := range warnings {
		if !strings.Contains(w.Message, "not formatted") {
			fmt.Fprintln(os.Stderr, "warning:", w.String())
		}
	}
	// The mail block first: notifications are set up where kgate can mail.
	if cfg, err = d.withMail(cfg); err != nil {
		return err
	}
	if cfg, err = d.withNotify(cfg); err != nil {
		return err
	}
	if err := caddy.Load(cfg, true); err != nil {
		return fmt.Errorf("starting kgate: %w", err)
	}
	d.stops = append(d.stops, func() { caddy.Stop() })
	return nil
}

// policies picks the policy directory: the one given, the example's own
// in a kgate checkout (so edits are picked up), or the embedded copy,
// written to a temporary directory that Stop removes.
func (d *demo) policies(dir string) (string, error) {
	if dir != "" {
		return filepath.Abs(dir)
	}
	if _, err := os.Stat(filepath.Join(d.Example.PolicyDir, "kgate.rego")); err == nil {
		return filepath.Abs(d.Example.PolicyDir)
	}
	return d.unpack(d.Example.Policies, "kgate-demo-policies-")
}

// media picks the folder of the images the example's Caddyfile names
// ({$KGATE_DEMO_MEDIA}): examples/<name>/media in a kgate checkout, else
// the embedded copy, written to a temporary directory that Stop removes.
// An example without images has none.
func (d *demo) media() (string, error) {
	local := filepath.Join("examples", d.Example.Name, "media")
	if _, err := os.Stat(local); err == nil {
		return filepath.Abs(local)
	}
	embedded, err := fs.Sub(examples.FS, d.Example.Name+"/media")
	if err != nil {
		return "", err
	}
	if _, err := fs.Stat(embedded, "."); err != nil {
		return "", nil
	}
	return d.unpack(embedded, "kgate-demo-media-")
}

// unpack writes the files at the top of fsys to a new temporary directory
// that Stop removes.
func (d *demo) unpack(fsys fs.FS, prefix string) (string, error) {
	tmp, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", err
	}
	d.stops = append(d.stops, func() { os.RemoveAll(tmp) })
	err = fs.WalkDir(fsys, ".", func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(tmp, path), b, 0o644)
	})
	return tmp, err
}

func (d *demo) describe(out io.Writer, policyDir string) {
	fmt.Fprintf(out, "\nkgate demo is running: open %s\n\n", d.URL)
	fmt.Fprintf(out, "Log in as one of these demo users (no password):\n\n")
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  USER\tORGANIZATION\tLEVEL\tNOTE")
	for _, u := range d.Users {
		org, level := u.Org, u.Level
		if org == "" {
			org = "-"
		}
		if level == "" {
			level = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", u.Email, org, level, d.notes[u.Sub])
	}
	tw.Flush()
	ex := d.Example
	fmt.Fprintf(out, "\nThe same data over kintone's REST API, with a bearer token for %s:\n\n", strings.TrimPrefix(ex.TokenUser, "u-"))
	fmt.Fprintf(out, "  TOKEN=$(curl -s -u %s:%s -d grant_type=client_credentials -d 'scope=openid user:%s' %soauth/token | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')\n", demoMachineID, demoMachineSecret, ex.TokenUser, d.Issuer)
	fmt.Fprintf(out, "  curl -s -H \"Authorization: Bearer $TOKEN\" '%s/k/v1/records.json?app=%s'\n\n", d.URL, ex.TokenApp)
	if ex.SignUp != "" {
		fmt.Fprintf(out, "Sign-up: log in as %s and apply; then decide, as the staff would in kintone's members app\n", ex.SignUp)
		fmt.Fprintf(out, "(\"refused\" instead of \"active\" refuses), and log in again:\n\n  %s\n\n", approveCommand(d.Kintone, ex.SignUp))
	}
	if ex.Invite != "" {
		fmt.Fprintf(out, "Invitation: %s is in the members app, pending; invite her as the staff would in kintone, and\n", ex.Invite)
		fmt.Fprintf(out, "open the link in her mail (caught within seconds) to log in as her:\n\n  %s\n\n", membersCommand(d.Kintone, ex.Invite, `{"invite":{"value":"send"}}`))
	}
	fmt.Fprintf(out, "Policies: %s (edited files are reloaded)\n", policyDir)
	fmt.Fprintf(out, "Simulated kintone: %s   OpenID Provider: %s\n", d.Kintone, d.Issuer)
	fmt.Fprintf(out, "E-mail kgate sends is caught, not delivered: %s%s\n", d.URL, demoMailPath)
	fmt.Fprintf(out, "Press Ctrl-C to stop.\n")
}

// approveCommand is the curl line that approves email's sign-up in the
// simulated kintone: state active, level silver.
func approveCommand(kintoneURL, email string) string {
	return membersCommand(kintoneURL, email, `{"state":{"value":"active"},"level":{"value":"silver"}}`)
}

// membersCommand is the curl line that writes record (kintone's write
// format) to email's record of the simulated members app.
func membersCommand(kintoneURL, email, record string) string {
	body := fmt.Sprintf(`{"app":1,"updateKey":{"field":"email","value":%q},"record":%s}`, email, record)
	return fmt.Sprintf("curl -s -X PUT -H 'X-Cybozu-API-Token: demo-token-members' -H 'Content-Type: application/json' -d '%s' %s/k/v1/record.json", body, kintoneURL)
}

// announce writes the demo's addresses as one JSON line, the form a
// program waiting for the demo reads.
func (d *demo) announce(out io.Writer, policyDir string) error {
	return json.NewEncoder(out).Encode(map[string]string{
		"url": d.URL, "issuer": d.Issuer, "kintone": d.Kintone, "policies": policyDir, "mail": d.URL + demoMailPath})
}

// Stop ends everything the demo started.
func (d *demo) Stop() {
	for i := len(d.stops) - 1; i >= 0; i-- {
		d.stops[i]()
	}
	d.stops = nil
}
