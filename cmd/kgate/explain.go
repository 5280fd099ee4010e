package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kgate/kgate/internal/auth"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kintonesim"
	"github.com/kgate/kgate/internal/kql"
	"github.com/kgate/kgate/internal/members"
	"github.com/kgate/kgate/internal/policy"
)

// Exit codes of `kgate policy explain`: a script can branch on the answer
// without reading it.
const (
	explainAllowed = 0
	explainRefused = 1
	explainUsage   = 2
)

// explainOptions are the flags of `kgate policy explain`.
type explainOptions struct {
	Policies     string
	Package      string
	User         string
	Attrs        string
	App          string
	Action       string
	StatusAction string
	Record       string
	Kintone      string
	Tokens       []string
	Data         string
	Members      string
	JSON         bool
	Verbose      bool
}

func explainCommand() *cobra.Command {
	var o explainOptions
	c := &cobra.Command{
		Use:   "explain --policies DIR --user EMAIL --app APP [--action read] [--record ID --kintone URL|--data SEED]",
		Short: "Explains what a policy decides for one member, app and action",
		Long: `
Evaluates the policy for one member, app and action and prints whether the
action is allowed and why: the bodies of allow (and of the rules they found
undefined) that held or failed, with file:line and the values compared; the
row rule compiled into a kintone condition; the readable, masked and
writable fields, the presets and the read rate.

The member is looked up by e-mail address in the members app of the seed
(--data) or of kintone (--kintone with --token); --attrs, a JSON object in
input.user's shape, overrides or adds attributes ({"level": "gold"} and
{"attrs": {...}}; any other key goes into input.user.attrs). Without a
members app the member is --user with --attrs.

--app is the app's alias in the policy (the app code in kintone), its id,
or ALIAS=ID. With --record ID the record is fetched and checked against the
row rule body by body, naming the expression that excluded it.

Exit status: 0 allowed, 1 refused (or the record excluded), 2 usage or
load error.
`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			code, err := policyExplain(cmd.Context(), cmd.OutOrStdout(), o)
			if err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "kgate policy explain:", err)
			}
			if code != explainAllowed {
				os.Exit(code)
			}
			return nil
		},
	}
	fl := c.Flags()
	fl.StringVar(&o.Policies, "policies", "", "the policy directory")
	fl.StringVar(&o.Package, "package", "kgate", "the Rego package whose rules kgate reads")
	fl.StringVar(&o.User, "user", "", "the member's e-mail address")
	fl.StringVar(&o.Attrs, "attrs", "", "JSON object overriding or extending the member (input.user)")
	fl.StringVar(&o.App, "app", "", "the app: alias, id or ALIAS=ID")
	fl.StringVar(&o.Action, "action", "read", "the action (read, create, update, delete, comment.read, comment.write, file.read, file.write, status)")
	fl.StringVar(&o.StatusAction, "status-action", "", "the process action, with --action status")
	fl.StringVar(&o.Record, "record", "", "a record id to check against the row rule")
	fl.StringVar(&o.Kintone, "kintone", "", "kintone base URL (with --token)")
	fl.StringSliceVar(&o.Tokens, "token", nil, "kintone API tokens (the apps' and the members app's); KGATE_KINTONE_TOKENS when absent")
	fl.StringVar(&o.Data, "data", "", "a kintonesim seed file instead of kintone (as kgate demo uses)")
	fl.StringVar(&o.Members, "members", "members", "the members app: alias, id or ALIAS=ID")
	fl.BoolVar(&o.JSON, "json", false, "print JSON")
	fl.BoolVarP(&o.Verbose, "verbose", "v", false, "print every rule body reached and the full trace")
	c.SilenceUsage = true
	return c
}

// policyExplain runs `kgate policy explain` and returns its exit code.
func policyExplain(ctx context.Context, w io.Writer, o explainOptions) (int, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := o.check(); err != nil {
		return explainUsage, err
	}
	e, err := policy.Open(ctx, policy.Options{Dir: o.Policies, Package: o.Package})
	if err != nil {
		return explainUsage, err
	}
	defer e.Close()
	src, err := openSource(ctx, o)
	if err != nil {
		return explainUsage, err
	}
	defer src.close()

	app, err := src.app(ctx, o.App)
	if err != nil {
		return explainUsage, err
	}
	user, member, err := src.member(ctx, o)
	if err != nil {
		return explainUsage, err
	}
	in := policy.Input{User: user, App: app, Action: o.Action, StatusAction: o.StatusAction}
	var form map[string]kql.Field
	if src.client != nil {
		if form, err = src.form(ctx, app.ID); err != nil {
			return explainUsage, err
		}
	}
	if o.Record != "" {
		if in.Record, err = src.record(ctx, app.ID, o.Record); err != nil {
			return explainUsage, err
		}
	}
	rep, err := policy.NewReport(ctx, e.View(), in, form, o.Record, o.Verbose)
	if err != nil {
		return explainUsage, err
	}
	rep.Member = member
	if o.JSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return explainUsage, err
		}
	} else {
		rep.WriteText(w, o.Verbose)
	}
	if rep.Refused() {
		return explainRefused, nil
	}
	return explainAllowed, nil
}

func (o *explainOptions) check() error {
	var missing []string
	for flag, v := range map[string]string{"--policies": o.Policies, "--user": o.User, "--app": o.App, "--action": o.Action} {
		if v == "" {
			missing = append(missing, flag)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("%s required", strings.Join(missing, ", "))
	}
	if o.Kintone != "" && o.Data != "" {
		return errors.New("give --kintone or --data, not both")
	}
	if o.Record != "" && o.Kintone == "" && o.Data == "" {
		return errors.New("--record needs --kintone or --data to fetch the record from")
	}
	if (o.Action == "status") != (o.StatusAction != "") {
		return errors.New("--status-action goes with --action status, and only with it")
	}
	if len(o.Tokens) == 0 && os.Getenv("KGATE_KINTONE_TOKENS") != "" {
		o.Tokens = strings.Split(os.Getenv("KGATE_KINTONE_TOKENS"), ",")
	}
	if o.Kintone != "" && len(o.Tokens) == 0 {
		return errors.New("--kintone needs --token (or KGATE_KINTONE_TOKENS)")
	}
	return nil
}

// source is where apps, members, forms and records come from: kintone, or
// a seed served by the simulator on a loopback port for the run, so that
// both take the same path through kintone's REST API.
type source struct {
	client *kintone.Client
	tokens []string
	apps   []appInfo // known apps when the seed lists them
	stop   func()
}

type appInfo struct{ id, code, space string }

func openSource(ctx context.Context, o explainOptions) (*source, error) {
	s := &source{tokens: o.Tokens, stop: func() {}}
	base := o.Kintone
	if o.Data != "" {
		seed, err := kintonesim.LoadSeed(o.Data)
		if err != nil {
			return nil, fmt.Errorf("--data: %w", err)
		}
		for _, a := range seed.Apps {
			info := appInfo{id: strconv.FormatInt(a.ID, 10), code: a.Code}
			if a.SpaceID != 0 {
				info.space = strconv.FormatInt(a.SpaceID, 10)
			}
			s.apps = append(s.apps, info)
			for _, t := range a.Tokens {
				if t.View && !t.Undeployed {
					s.tokens = append(s.tokens, t.Token)
				}
			}
		}
		sim, err := kintonesim.New(seed)
		if err != nil {
			return nil, fmt.Errorf("--data: %w", err)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			sim.Close()
			return nil, err
		}
		srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(l)
		s.stop = func() { srv.Close(); sim.Close() }
		base = "http://" + l.Addr().String()
	}
	if base == "" {
		return s, nil
	}
	c, err := kintone.NewClient(kintone.Config{BaseURL: base})
	if err != nil {
		s.stop()
		return nil, err
	}
	s.client = c
	return s, nil
}

func (s *source) close() { s.stop() }

func (s *source) get(ctx context.Context, api string, a appInfo, params url.Values, into any) error {
	resp, err := s.client.Do(ctx, kintone.Request{Method: "GET", API: api, GuestSpace: a.space, App: a.id,
		Tokens: s.tokens, Params: params})
	if err != nil {
		return err
	}
	return json.Unmarshal(resp.Body, into)
}

// app resolves --app: ALIAS=ID, an alias (an app code in kintone), or an
// id (whose code is the alias).
func (s *source) app(ctx context.Context, arg string) (policy.App, error) {
	a, err := s.resolve(ctx, arg)
	return policy.App{ID: a.id, Alias: a.code}, err
}

func (s *source) resolve(ctx context.Context, arg string) (appInfo, error) {
	if alias, id, ok := strings.Cut(arg, "="); ok {
		if alias == "" || id == "" {
			return appInfo{}, fmt.Errorf("app %q: want ALIAS=ID", arg)
		}
		a := appInfo{id: id, code: alias}
		for _, k := range s.apps {
			if k.id == id {
				a.space = k.space
			}
		}
		return a, nil
	}
	_, numErr := strconv.ParseUint(arg, 10, 64)
	for _, k := range s.apps {
		if k.id == arg || k.code == arg {
			return k, nil
		}
	}
	if s.apps != nil {
		return appInfo{}, fmt.Errorf("app %q is not in the seed", arg)
	}
	if s.client == nil {
		if numErr == nil {
			return appInfo{}, fmt.Errorf("app %q: without --kintone or --data give ALIAS=ID", arg)
		}
		return appInfo{code: arg}, nil
	}
	var found struct {
		Apps []struct {
			AppID   string `json:"appId"`
			Code    string `json:"code"`
			SpaceID string `json:"spaceId"`
		} `json:"apps"`
	}
	params := url.Values{"codes": {arg}}
	if numErr == nil {
		params = url.Values{"ids": {arg}}
	}
	if err := s.get(ctx, "apps.json", appInfo{}, params, &found); err != nil {
		return appInfo{}, fmt.Errorf("app %q: %w", arg, err)
	}
	if len(found.Apps) != 1 {
		return appInfo{}, fmt.Errorf("app %q: kintone has no such app the tokens reach; give ALIAS=ID", arg)
	}
	f := found.Apps[0]
	return appInfo{id: f.AppID, code: f.Code}, nil
}

// member is input.user for --user: the members app's entry when there is
// one, then --attrs on top.
func (s *source) member(ctx context.Context, o explainOptions) (policy.User, *policy.MemberState, error) {
	u := policy.User{Email: o.User}
	var st *policy.MemberState
	if s.client != nil && o.Members != "" {
		a, err := s.resolve(ctx, o.Members)
		if err != nil {
			return u, nil, fmt.Errorf("members app: %w", err)
		}
		m, err := members.New(s.client, a.id, a.space, s.tokens, members.Fields{}).Lookup(ctx, auth.ByEmail, o.User)
		if err != nil {
			return u, nil, err
		}
		st = &policy.MemberState{App: a.code}
		if m != nil {
			st.Found, st.State = true, m.State
			u = policy.User{Sub: m.Subject, Email: m.Email, Name: m.Name, Level: m.Level, Org: m.Org, Groups: m.Groups, Attrs: m.Attrs}
		}
	}
	if o.Attrs == "" {
		return u, st, nil
	}
	var attrs map[string]any
	dec := json.NewDecoder(strings.NewReader(o.Attrs))
	dec.UseNumber()
	if err := dec.Decode(&attrs); err != nil {
		return u, nil, fmt.Errorf("--attrs: a JSON object: %w", err)
	}
	for k, v := range attrs {
		str, isString := v.(string)
		field := map[string]*string{"sub": &u.Sub, "email": &u.Email, "name": &u.Name, "level": &u.Level, "org": &u.Org}[k]
		switch {
		case field != nil && isString:
			*field = str
		case field != nil:
			return u, nil, fmt.Errorf("--attrs: %s must be a string", k)
		case k == "groups":
			b, _ := json.Marshal(v)
			if err := json.Unmarshal(b, &u.Groups); err != nil {
				return u, nil, errors.New("--attrs: groups must be an array of strings")
			}
		case k == "attrs":
			m, ok := v.(map[string]any)
			if !ok {
				return u, nil, errors.New("--attrs: attrs must be an object")
			}
			u.Attrs = merged(u.Attrs, m)
		default:
			u.Attrs = merged(u.Attrs, map[string]any{k: v})
		}
	}
	return u, st, nil
}

func merged(a, b map[string]any) map[string]any {
	out := maps.Clone(a)
	if out == nil {
		out = map[string]any{}
	}
	maps.Copy(out, b)
	return out
}

// form reads the app's fields as the gateway compiles row rules against
// them.
func (s *source) form(ctx context.Context, appID string) (map[string]kql.Field, error) {
	a := s.info(appID)
	var body struct {
		Properties map[string]kintone.FieldProperty `json:"properties"`
	}
	if err := s.get(ctx, "app/form/fields.json", a, url.Values{"app": {appID}}, &body); err != nil {
		return nil, fmt.Errorf("the form of app %s: %w", appID, err)
	}
	fields := map[string]kql.Field{}
	for code, p := range body.Properties {
		switch p.Type {
		case "SUBTABLE":
			for inner, ip := range p.Fields {
				fields[inner] = kql.Field{Code: inner, Type: ip.Type, Options: slices.Sorted(maps.Keys(ip.Options)), InSubtable: true}
			}
		case "STATUS", "STATUS_ASSIGNEE", "CATEGORY":
			if p.Enabled == nil || *p.Enabled {
				fields[code] = kql.Field{Code: code, Type: p.Type}
			}
		case "REFERENCE_TABLE", "GROUP", "LABEL", "SPACER", "HR":
		default:
			fields[code] = kql.Field{Code: code, Type: p.Type, Options: slices.Sorted(maps.Keys(p.Options))}
		}
	}
	return fields, nil
}

func (s *source) record(ctx context.Context, appID, id string) (map[string]any, error) {
	var body struct {
		Record kintone.Record `json:"record"`
	}
	if err := s.get(ctx, "record.json", s.info(appID), url.Values{"app": {appID}, "id": {id}}, &body); err != nil {
		return nil, fmt.Errorf("record %s of app %s: %w", id, appID, err)
	}
	return policy.Flatten(body.Record), nil
}

func (s *source) info(appID string) appInfo {
	for _, k := range s.apps {
		if k.id == appID {
			return k
		}
	}
	return appInfo{id: appID}
}
