package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/kgate/kgate/internal/auditlog"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "audit",
		Usage: "[--member EMAIL] [--app APP] [--action ACT] [--since WHEN] [--until WHEN] [--decision allow|deny] [--json] FILE...",
		Short: "Reads kgate's audit log",
		Long: `
Reads kgate's audit log files — the current one and Caddy's rolled ones,
plain, .gz or .zst alike (the first bytes say which) — and prints the events
the filters pick, oldest first, as a table or, with --json, as the log's own
JSON lines (for jq or another tool).

  --member    an e-mail address (any case) or the provider's subject; a
              staff member's address finds what they viewed as members
  --app       the app's alias in kgate's configuration
  --action    a policy action (update, comment.read, …) or an event kind
              (read, write, login, logout): --action read finds every read
  --decision  allow or deny (logins and logouts have none)
  --since     from this time on: a duration back from now (7d, 36h), a date
              (2026-11-27, midnight UTC) or an RFC 3339 time
  --until     before this time, in the same forms

What did alice read last week:
  kgate audit --member alice@acme.example --action read --since 7d /var/log/kgate/audit*.log*

Lines that are not audit events (a line cut short, another logger's entry)
are skipped and counted on stderr. Exit status: 0, or 2 when a file cannot
be read or a flag is wrong.
`,
		CobraFunc: func(cmd *cobra.Command) {
			var o auditOptions
			cmd.Args = cobra.MinimumNArgs(1)
			auditFlags(cmd, &o)
			cmd.RunE = func(cmd *cobra.Command, args []string) error {
				o.files = args
				err := auditRead(cmd.OutOrStdout(), cmd.ErrOrStderr(), o, time.Now())
				if err != nil {
					cmd.SilenceUsage = true
					fmt.Fprintln(cmd.ErrOrStderr(), "kgate audit:", err)
					os.Exit(2)
				}
				return nil
			}
		},
	})
}

func auditFlags(cmd *cobra.Command, o *auditOptions) {
	cmd.Flags().StringVar(&o.member, "member", "", "the member's e-mail address or subject")
	cmd.Flags().StringVar(&o.filter.App, "app", "", "the app's alias")
	cmd.Flags().StringVar(&o.filter.Action, "action", "", "a policy action or an event kind")
	cmd.Flags().StringVar(&o.since, "since", "", "from (7d, 36h, 2026-11-27, or an RFC 3339 time)")
	cmd.Flags().StringVar(&o.until, "until", "", "before (same forms as --since)")
	cmd.Flags().StringVar(&o.filter.Decision, "decision", "", "allow or deny")
	cmd.Flags().BoolVar(&o.json, "json", false, "print the matching JSON lines as they are in the log")
}

type auditOptions struct {
	files        []string
	member       string
	since, until string
	filter       auditlog.Filter
	json         bool
}

// auditRead prints the events of o.files that o's filters pick, oldest
// first; now anchors --since and --until durations.
func auditRead(out, errw io.Writer, o auditOptions, now time.Time) error {
	f := o.filter
	f.Member = o.member
	if f.Decision != "" && f.Decision != "allow" && f.Decision != "deny" {
		return fmt.Errorf("--decision %q: allow or deny", f.Decision)
	}
	var err error
	if o.since != "" {
		if f.Since, err = auditlog.ParseWhen(o.since, now); err != nil {
			return fmt.Errorf("--since %w", err)
		}
	}
	if o.until != "" {
		if f.Until, err = auditlog.ParseWhen(o.until, now); err != nil {
			return fmt.Errorf("--until %w", err)
		}
	}
	if len(o.files) == 0 {
		return errors.New("name the audit log files to read")
	}
	var found []*auditlog.Entry
	for _, name := range o.files {
		st, err := readAuditFile(name, f, func(e *auditlog.Entry) { found = append(found, e) })
		if err != nil {
			return err
		}
		if st.Skipped > 0 {
			fmt.Fprintf(errw, "kgate audit: %s: %d of %d lines are no audit event, skipped\n", name, st.Skipped, st.Lines)
		}
	}
	// Rolled files are named by their time, not in the order the shell
	// lists them: the events are sorted, not the files.
	sort.SliceStable(found, func(i, j int) bool { return found[i].Time.Before(found[j].Time) })
	if o.json {
		for _, e := range found {
			out.Write(e.Raw)
			io.WriteString(out, "\n")
		}
		return nil
	}
	printAuditTable(out, found)
	return nil
}

func readAuditFile(name string, f auditlog.Filter, fn func(*auditlog.Entry)) (auditlog.Stats, error) {
	if name == "-" {
		return auditlog.Read(os.Stdin, f, fn)
	}
	file, err := os.Open(name)
	if err != nil {
		return auditlog.Stats{}, err
	}
	defer file.Close()
	st, err := auditlog.Read(file, f, fn)
	if err != nil {
		err = fmt.Errorf("%s: %w", name, err)
	}
	return st, err
}

func printAuditTable(out io.Writer, found []*auditlog.Entry) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME (UTC)\tMEMBER\tORG\tAPP\tACTION\tDECISION\tRECORDS\tRECORD IDS\tOUTCOME\tREMOTE IP")
	for _, e := range found {
		member := e.Email
		if member == "" {
			member = e.Subject
		}
		if e.ViewedBy != "" {
			member += " (viewed by " + e.ViewedBy + ")"
		}
		action := e.Action
		if action == "" {
			action = e.Kind
		}
		records := ""
		if e.Records > 0 {
			records = strconv.Itoa(e.Records)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.UTC().Format("2006-01-02 15:04:05"),
			dash(member), dash(e.Org), dash(e.App), action, dash(e.Decision), dash(records),
			dash(strings.Join(e.RecordIDs, ",")), dash(e.Outcome), dash(e.RemoteIP))
	}
	tw.Flush()
	if len(found) == 0 {
		fmt.Fprintln(out, "(no event matches)")
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
