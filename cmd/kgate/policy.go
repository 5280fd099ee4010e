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
		Usage: "test <dir> [--verbose] [--coverage] [--run <regex>]",
		Short: "Works with kgate policy directories",
		Long: `
Works with a kgate policy directory: *.rego files (Rego v1) and an optional
data.json at its top, the same layout "opa test" reads.

"kgate policy test DIR" runs the directory's Rego tests (rules named test_*)
exactly as kgate does before it activates a policy version, prints failing
tests (every test with --verbose), a summary, and with --coverage the share
of each file's lines the tests reach. It exits non-zero if any test fails.
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
					err := policyTest(cmd.Context(), cmd.OutOrStdout(), args[0], verbose, coverage, run)
					if errors.Is(err, errPolicyTestsFailed) {
						cmd.SilenceUsage = true // the report already says what failed
					}
					return err
				},
			}
			test.Flags().BoolP("verbose", "v", false, "print every test, and the lines coverage misses")
			test.Flags().BoolP("coverage", "c", false, "report the share of each file the tests reach")
			test.Flags().StringP("run", "r", "", "run only tests whose name matches this regular expression")
			cmd.AddCommand(test)
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
