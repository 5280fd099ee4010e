package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/kgate/kgate/internal/policy"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "policy",
		Usage: "test <dir> [--verbose] [--coverage] [--run <regex>] [--package <name>] | explain --policies <dir> --user <email> --app <app> [...]",
		Short: "Works with kgate policy directories",
		Long: `
Works with a kgate policy directory: *.rego files (Rego v1) and an optional
data.json at its top, the same layout "opa test" reads.

"kgate policy test DIR" runs the directory's Rego tests (rules named test_*)
exactly as kgate does before it activates a policy version, prints failing
tests (every test with --verbose), a summary, and with --coverage the share
of each file's lines the tests reach. When the tests pass it also runs the
rest of kgate's activation check: the row rule (include) of the package
(--package, default kgate) is compiled for every probe identity listed in
data.json. It exits non-zero if anything fails.

"kgate policy explain" says what the policy decides for one member, app
and action, and why (see "kgate policy explain --help").
`,
		CobraFunc: func(cmd *cobra.Command) {
			test := &cobra.Command{
				Use:   "test <dir>",
				Short: "Runs a policy directory's Rego tests",
				Args:  cobra.ExactArgs(1),
				RunE: func(cmd *cobra.Command, args []string) error {
					verbose, _ := cmd.Flags().GetBool("verbose")
					coverage, _ := cmd.Flags().GetBool("coverage")
					run, _ := cmd.Flags().GetString("run")
					pkg, _ := cmd.Flags().GetString("package")
					err := policyTest(cmd.Context(), cmd.OutOrStdout(), args[0], verbose, coverage, run)
					if err == nil && run == "" {
						err = policyActivates(cmd.Context(), cmd.OutOrStdout(), args[0], pkg)
					}
					if errors.Is(err, errPolicyTestsFailed) {
						cmd.SilenceUsage = true // the report already says what failed
					}
					return err
				},
			}
			test.Flags().BoolP("verbose", "v", false, "print every test, and the lines coverage misses")
			test.Flags().BoolP("coverage", "c", false, "report the share of each file the tests reach")
			test.Flags().StringP("run", "r", "", "run only tests whose name matches this regular expression (skips the probes)")
			test.Flags().String("package", "kgate", "the Rego package whose rules kgate reads")
			cmd.AddCommand(test)
			cmd.AddCommand(explainCommand())
		},
	})
}

var errPolicyTestsFailed = errors.New("policy tests failed")

// policyTest runs the Rego tests of dir and writes the report to w. It
// fails when the directory cannot be loaded, when any test fails, and when
// there are no tests at all (a run that checks nothing must not look green).
func policyTest(ctx context.Context, w io.Writer, dir string, verbose, coverage bool, run string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	rep, err := policy.RunTests(ctx, dir, policy.TestOptions{Coverage: coverage, Run: run})
	if err != nil {
		return err
	}
	rep.Write(w, verbose)
	if len(rep.Results) == 0 {
		return fmt.Errorf("%w: no tests in %s", errPolicyTestsFailed, dir)
	}
	if !rep.Passed() {
		return errPolicyTestsFailed
	}
	return nil
}

// policyActivates runs everything Open checks before kgate serves a
// version, the probes of data.json included.
func policyActivates(ctx context.Context, w io.Writer, dir, pkg string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	e, err := policy.Open(ctx, policy.Options{Dir: dir, Package: pkg})
	if err != nil {
		return err
	}
	defer e.Close()
	fmt.Fprintf(w, "version %s activates (row rules compile for every probe in data.json)\n", e.Version())
	return nil
}
