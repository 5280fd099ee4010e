package policy

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"go.uber.org/zap"

	"github.com/kgate/kgate/internal/kql"
)

// probes is the "probes" object of data.json: identities and apps that the
// load-time check runs every action for.
//
// Whether include stays inside the compilable fragment depends on the
// input: a branch taken only for one level may use a builtin on
// input.record that no filter can express. No static check of Rego decides
// that in general (aliases, functions and data make it as hard as
// evaluating the policy), but partial evaluation for concrete identities
// decides it exactly for them. So kgate compiles include, and evaluates the
// decision rules, for every probe user × app × action (and every status
// action) before a version activates; any error refuses the version. A user
// without any attribute is always added, so that rules reading missing
// attributes are exercised too. Identities that no probe resembles can
// still hit an error at request time, which denies that request.
type probes struct {
	Users         []User   `json:"users"`
	Apps          []App    `json:"apps"`
	Actions       []string `json:"actions"`        // default: every action kgate asks about
	StatusActions []string `json:"status_actions"` // sent with action "status"
}

// maxProbeErrors caps the errors listed for one load.
const maxProbeErrors = 20

func (s *snapshot) probe(ctx context.Context, data map[string]any, schemas map[string]map[string]kql.Field) error {
	raw, ok := data["probes"]
	if !ok {
		return nil
	}
	var p probes
	if err := remarshal(raw, &p); err != nil {
		return fmt.Errorf("data.json: probes: %w", err)
	}
	if len(p.Actions) == 0 {
		p.Actions = actions
	}
	users := append([]User{{}}, p.Users...)
	var errs []string
	add := func(u User, in *Input, err error) {
		if len(errs) < maxProbeErrors {
			who := u.Sub
			if who == "" {
				who = "(no attributes)"
			}
			act := in.Action
			if in.StatusAction != "" {
				act += " " + in.StatusAction
			}
			errs = append(errs, fmt.Sprintf("probe %s, app %s, %s: %v", who, cmp.Or(in.App.Alias, in.App.ID), act, err))
		}
	}
	for _, app := range p.Apps {
		for _, u := range users {
			for _, in := range probeInputs(u, app, p) {
				if err := ctx.Err(); err != nil {
					return err
				}
				d, err := s.decide(ctx, &in)
				if err != nil {
					add(u, &in, err)
					continue
				}
				if d.Allow && u.Sub == "" && u.Level == "" {
					s.log.Warn("policy allows a user without any attribute",
						zap.String("app", app.ID), zap.String("action", in.Action))
				}
				c, err := s.compile(ctx, &in)
				if err != nil {
					return err
				}
				if c.err != nil {
					add(u, &in, c.err)
					continue
				}
				if fields, ok := schemas[app.ID]; ok {
					if _, err := s.rowRuleFrom(c, fields); err != nil {
						add(u, &in, err)
					}
				}
			}
		}
	}
	if len(errs) > 0 {
		return errors.New("row rules fail for probe identities:\n  " + strings.Join(errs, "\n  "))
	}
	return nil
}

func probeInputs(u User, app App, p probes) []Input {
	var ins []Input
	for _, a := range p.Actions {
		if a == "status" && len(p.StatusActions) > 0 {
			for _, sa := range p.StatusActions {
				ins = append(ins, Input{User: u, App: app, Action: a, StatusAction: sa})
			}
			continue
		}
		ins = append(ins, Input{User: u, App: app, Action: a})
	}
	return ins
}

// remarshal converts decoded JSON (maps, json.Number) into a typed value.
func remarshal(v any, into any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	return dec.Decode(into)
}
