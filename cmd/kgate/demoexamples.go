package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"

	"github.com/kgate/kgate/examples"
	"github.com/kgate/kgate/internal/devidp"
	"github.com/kgate/kgate/policies"
)

// demoExample is one folder of examples/ that `kgate demo` runs: its
// Caddyfile and seed.json, its policies and its demo users.
type demoExample struct {
	Name  string // the folder, and the value of --example
	About string // one line for --help
	// PolicyDir is the example's policy directory in a kgate checkout,
	// used (and watched) when the demo runs from one; Policies is the
	// embedded copy used elsewhere.
	PolicyDir string
	Policies  fs.FS
	// Users are the demo provider's users; Notes say what is special
	// about some of them, by sub.
	Users func() ([]devidp.User, map[string]string, error)
	// TokenUser and TokenApp make the printed recipe for a bearer token:
	// whose token, and which app id it reads.
	TokenUser, TokenApp string
	// SignUp, when set, is the demo user who may sign up, and whose
	// approval in the simulated kintone the demo prints; Invite the one
	// whose invitation it prints.
	SignUp, Invite string
}

// demoExamples are the examples `kgate demo --example` knows; the first is
// the default.
var demoExamples = []demoExample{
	{
		Name:      "partner-portal",
		About:     "partner companies' budget requests, shared documents, survey and schedule",
		PolicyDir: "policies", Policies: policies.FS,
		Users: func() ([]devidp.User, map[string]string, error) {
			return devidp.DemoUsers(), map[string]string{"u-erin": "inactive in the members app: refused",
				"u-frank": "not in the members app, of a domain no organization lists: refused",
				"u-henry": "not in the members app, of Acme's domain: may sign up (see below)",
				"u-grace": "pending in the members app: invite her (see below)",
				"u-sam":   "the operator's staff"}, nil
		},
		TokenUser: "u-alice", TokenApp: "2", SignUp: "henry@acme.example", Invite: "grace@cosmo.example",
	},
	{
		Name:      "member-site",
		About:     "gold, silver and bronze members' promotional materials and their company's requests",
		PolicyDir: "examples/member-site/policies", Policies: mustSub(examples.FS, "member-site/policies"),
		Users:     exampleUsers("member-site/users.json"),
		TokenUser: "u-gina", TokenApp: "2",
	},
}

// demoExampleNamed finds an example by name; an unknown name is an error
// that lists the known ones.
func demoExampleNamed(name string) (demoExample, error) {
	for _, e := range demoExamples {
		if e.Name == name {
			return e, nil
		}
	}
	return demoExample{}, fmt.Errorf("--example %q: no such example; the examples are %s", name, demoExampleNames())
}

func demoExampleNames() string {
	names := make([]string, len(demoExamples))
	for i, e := range demoExamples {
		names[i] = e.Name
	}
	return strings.Join(names, ", ")
}

// demoExampleList is the list --help shows.
func demoExampleList() string {
	var b strings.Builder
	for _, e := range demoExamples {
		fmt.Fprintf(&b, "  %-16s %s\n", e.Name, e.About)
	}
	return b.String()
}

// file reads one of the example's files from the embedded copy.
func (e demoExample) file(name string) ([]byte, error) {
	return fs.ReadFile(examples.FS, e.Name+"/"+name)
}

// exampleUsers reads an example's demo users from a JSON file of the
// embedded examples.
func exampleUsers(path string) func() ([]devidp.User, map[string]string, error) {
	return func() ([]devidp.User, map[string]string, error) {
		raw, err := fs.ReadFile(examples.FS, path)
		if err != nil {
			return nil, nil, err
		}
		var list []struct {
			Sub, Email, Name, Org, Level, Locale, Note string
			NameJA                                     string `json:"name_ja"`
		}
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, nil, fmt.Errorf("examples/%s: %w", path, err)
		}
		users := make([]devidp.User, len(list))
		notes := map[string]string{}
		for i, u := range list {
			users[i] = devidp.User{Sub: u.Sub, Email: u.Email, Name: u.Name, NameJA: u.NameJA, Org: u.Org, Level: u.Level, Locale: u.Locale}
			if u.Note != "" {
				notes[u.Sub] = u.Note
			}
		}
		return users, notes, nil
	}
}

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
