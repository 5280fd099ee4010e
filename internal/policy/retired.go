package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// retiredLimit refuses a policy that still caps pages with a limit rule (or
// a "limit" in a level of data.json, the shape of the default policy).
// kgate once cut pages to it, which broke clients that read everything in
// pages of kintone's 500; reads are now bounded by the rate rule, in
// records per minute, and pages behave exactly as kintone's. A silently
// ignored limit would let the operator believe a cap still held.
func retiredLimit(b *bundle, pkg ast.Ref) error {
	var errs []error
	rels := make([]string, 0, len(b.modules))
	for rel := range b.modules {
		rels = append(rels, rel)
	}
	slices.Sort(rels)
	for _, rel := range rels {
		m := b.modules[rel]
		if strings.HasSuffix(rel, "_test.rego") || !m.Package.Path.Equal(pkg) {
			continue
		}
		for _, r := range m.Rules {
			if ref := r.Head.Ref(); len(ref) > 0 && ref[0].Value.Compare(ast.Var("limit")) == 0 {
				errs = append(errs, fmt.Errorf("%s:%d: rule limit is no longer read: pages are kintone's (limit up to 500); bound a member's reads with rule rate (records per minute) instead", rel, r.Location.Row))
			}
		}
	}
	for _, line := range levelLimits(b.dataSrc) {
		errs = append(errs, fmt.Errorf("%s:%d: \"limit\" in a level is no longer read: pages are kintone's (limit up to 500); use \"rate\" (records per minute) instead", dataFile, line))
	}
	return errors.Join(errs...)
}

// levelLimits returns the lines of data.json holding a "limit" key in
// apps.<alias>.levels.<level>.
func levelLimits(src []byte) []int {
	if len(src) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(src))
	type frame struct {
		object bool
		expect bool // an object expecting a key next
	}
	var stack []frame
	var path []string // the keys leading to each open container; "" for the root and array members
	var lines []int
	pending := "" // the key whose value comes next
	for {
		tok, err := dec.Token()
		if err != nil {
			return lines // the data was decoded before; an error here ends the walk
		}
		top := len(stack) - 1
		if key, isKey := tok.(string); isKey && top >= 0 && stack[top].object && stack[top].expect {
			stack[top].expect = false
			pending = key
			if key == "limit" && len(path) == 5 && path[1] == "apps" && path[3] == "levels" {
				lines = append(lines, 1+bytes.Count(src[:dec.InputOffset()], []byte("\n")))
			}
			continue
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			stack = append(stack, frame{object: tok == json.Delim('{'), expect: tok == json.Delim('{')})
			path = append(path, pending)
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:top]
			path = path[:len(path)-1]
		}
		pending = ""
		if top := len(stack) - 1; top >= 0 && stack[top].object {
			stack[top].expect = true
		}
	}
}
