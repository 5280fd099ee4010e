package enforcement

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// The policy generator writes Rego inside OPA's linq fragment: row rules
// that differ per action, readable sets and masks per level.
// Each policy is different; together they reach every field type the
// translator knows and every mask the gateway accepts.

var (
	levels      = []string{"silver", "gold", "staff"}
	readActions = []string{"read", "comment.read", "file.read"}
)

func lit(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// leaf is one comparison of a record field in a row rule.
func leaf(r *rand.Rand) string {
	rec := func(code string) string { return "input.record." + code }
	ordered := []string{"==", "!=", "<", "<=", ">", ">="}
	switch r.IntN(16) {
	case 0:
		return rec("org") + " == input.user.org"
	case 1:
		return rec("org") + " in input.user.attrs.orgs"
	case 2:
		return rec("owner") + " == input.user.email"
	case 3:
		return fmt.Sprintf("%s %s %s", rec(pick(r, []string{"code", "title", "owner"})), pick(r, []string{"==", "!="}), lit(pick(r, edgeTexts)))
	case 4:
		return fmt.Sprintf("%s in {%s, %s}", rec("code"), lit(pick(r, edgeTexts)), lit(pick(r, edgeTexts)))
	case 5:
		return rec("code") + " == input.user.attrs.code"
	case 6:
		return fmt.Sprintf("%s %s %s", rec("org"), pick(r, []string{"==", "!="}), lit(pick(r, []string{"acme", "ACME", "cosmo", "", `q"uote`, "x (y)", "zzz"})))
	case 7:
		return fmt.Sprintf("%s in {%s, %s}", rec("stage"), lit(pick(r, []string{"open", "review", "closed", ""})), lit(pick(r, []string{"open", "review", "gone"})))
	case 8:
		return fmt.Sprintf("%s %s %s", rec("tier"), pick(r, []string{"==", "!="}), lit(pick(r, []string{"silver", "gold", "platinum"})))
	case 9, 10:
		return fmt.Sprintf("%s %s %s", rec(pick(r, []string{"amount", "score"})), pick(r, ordered), pick(r, thresholds))
	case 11:
		return fmt.Sprintf("%s %s input.user.attrs.max_score", rec("score"), pick(r, ordered))
	case 12:
		return fmt.Sprintf("%s %s null", rec("amount"), pick(r, []string{"==", "!="}))
	case 13:
		return fmt.Sprintf("%s %s %s", rec("due"), pick(r, ordered), lit(pick(r, []string{"2026-06-01", "2025-12-31", ""})))
	case 14:
		if r.IntN(2) == 0 {
			return fmt.Sprintf("%s %s %s", rec("slot"), pick(r, ordered), lit(pick(r, []string{"12:30", "00:00"})))
		}
		return fmt.Sprintf("%s %s %s", rec("at"), pick(r, ordered), lit(pick(r, []string{"2026-06-01T09:00:00Z", "2025-01-01T00:00:00Z"})))
	default:
		return fmt.Sprintf(`input.record["$id"] %s %d`, pick(r, ordered), 1+r.IntN(150))
	}
}

// maskMenu gives, per field, masks that are values of its type (as the
// policy writes them).
var maskMenu = map[string][]string{
	"amount": {`""`, `"0"`, `0`, `-1.50`},
	"score":  {`"-1"`},
	"secret": {`"***"`},
	"note":   {`"(hidden)"`},
	"body":   {`"<p>hidden</p>"`},
	"owner":  {`""`},
	"site":   {`""`},
	"due":    {`""`, `null`, `"2000-01-01"`},
	"slot":   {`null`, `"00:00"`},
	"at":     {`""`},
	"stage":  {`null`, `"closed"`},
	"tier":   {`"silver"`},
	"tags":   {`[]`, `["a"]`},
	"doc":    {`[]`},
	"items":  {`[]`},
	"qty":    {`"0"`, `""`},
	"item":   {`"***"`},
}

// genPolicy writes one policy.
func genPolicy(r *rand.Rand) string {
	var b strings.Builder
	b.WriteString("package kgate\n\n")
	for _, level := range levels {
		var acts []string
		for _, a := range readActions {
			if a == "read" && level != "silver" || r.IntN(10) < map[bool]int{true: 9, false: 6}[a == "read"] {
				acts = append(acts, a)
			}
		}
		if len(acts) > 0 {
			fmt.Fprintf(&b, "allow if {\n\tinput.user.level == %q\n\tinput.action in %s\n}\n\n", level, set(acts))
		}
	}
	for _, action := range readActions {
		for n := 1 + r.IntN(3); n > 0; n-- {
			b.WriteString(ruleBody(r, action))
		}
	}
	if r.IntN(3) == 0 { // one body shared by two actions
		fmt.Fprintf(&b, "include if {\n\tinput.action in %s\n\t%s\n}\n\n", set([]string{"read", pick(r, readActions[1:])}), leaf(r))
	}
	for _, level := range levels {
		b.WriteString(readable(r, level))
		codes := make([]string, 0, len(maskMenu))
		for code := range maskMenu {
			codes = append(codes, code)
		}
		slices.Sort(codes)
		for _, code := range codes {
			if r.IntN(10) == 0 {
				fmt.Fprintf(&b, "masks[%q] := %s if input.user.level == %q\n\n", code, pick(r, maskMenu[code]), level)
			}
		}
	}
	return b.String()
}

func ruleBody(r *rand.Rand, action string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "include if {\n\tinput.action == %q\n", action)
	switch r.IntN(4) {
	case 0:
		fmt.Fprintf(&b, "\tinput.user.level == %q\n", pick(r, levels))
	case 1:
		fmt.Fprintf(&b, "\tinput.user.level in %s\n", set([]string{pick(r, levels), pick(r, levels)}))
	}
	if r.IntN(12) > 0 { // now and then a body without a condition: every record
		for n := 1 + r.IntN(3); n > 0; n-- {
			fmt.Fprintf(&b, "\t%s\n", leaf(r))
		}
	}
	b.WriteString("}\n\n")
	return b.String()
}

func readable(r *rand.Rand, level string) string {
	if r.IntN(4) == 0 {
		return fmt.Sprintf("readable contains \"*\" if input.user.level == %q\n\n", level)
	}
	var codes []string
	for _, f := range append(fields, systemFields...) {
		if f.table != "" || f.code == "$id" || f.code == "$revision" {
			continue
		}
		if r.IntN(100) < 85 {
			codes = append(codes, f.code)
		}
	}
	if r.IntN(4) == 0 {
		codes = append(codes, "qty") // a column alone, without its table: shows nothing
	}
	if len(codes) == 0 {
		return ""
	}
	return fmt.Sprintf("readable contains f if {\n\tinput.user.level == %q\n\tsome f in %s\n}\n\n", level, set(codes))
}

func set(items []string) string {
	quoted := make([]string, len(items))
	for i, s := range items {
		quoted[i] = lit(s)
	}
	return "{" + strings.Join(quoted, ", ") + "}"
}
