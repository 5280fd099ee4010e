package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/open-policy-agent/opa/v1/rego"
	"go.uber.org/zap"
)

// maxRate bounds a rate rule; a larger rate is this one, which no member
// reaches (kintone answers far fewer records a minute).
const maxRate = 1 << 30

// Decision is what the policy says about one identity, app and action.
// Absent rules mean "nothing": no allow denies, no readable shows nothing.
type Decision struct {
	Allow    bool
	Readable FieldSet       // fields the identity may see
	Writable FieldSet       // fields the identity may set
	Presets  map[string]any // field code → value forced on create and update
	Masks    map[string]any // field code → value shown instead of the real one
	// Rate bounds how fast the member reads the app, in records per
	// minute; 0 = unlimited (no rate rule).
	Rate int
	// Export bounds how many records one CSV export of the portal may
	// hold; 0 = no export rule (the portal's default applies).
	Export  int
	Reasons []string // why not, for the person and the audit log; sorted
	// Localized holds the reasons the policy gave in both languages
	// ({"ja": …, "en": …}), by their entry in Reasons (the English text,
	// or the Japanese when there is no English). See ReasonsIn.
	Localized map[string]Localized
	// Mentions are the users, groups and organizations (by kintone code)
	// a comment may mention; "*" = any. Read for comment.write.
	Mentions FieldSet
	Version  string // the policy version that decided
}

// FieldSet is a set of field codes, or every field ("*" in the policy).
type FieldSet struct {
	All   bool
	Codes []string // sorted; empty when All
}

// Has reports whether the set holds code.
func (s FieldSet) Has(code string) bool {
	if s.All {
		return true
	}
	_, found := slices.BinarySearch(s.Codes, code)
	return found
}

// Decide evaluates every decision rule in one prepared evaluation. Any
// evaluation error denies: the returned Decision has Allow false and
// nothing else, and the error says why.
func (e *Engine) Decide(ctx context.Context, in Input) (*Decision, error) {
	return e.View().Decide(ctx, in)
}

// Decide is Engine.Decide on this view's version.
func (v View) Decide(ctx context.Context, in Input) (d *Decision, err error) {
	s := v.s
	defer func() {
		if err != nil {
			s.log.Error("policy decision failed; denied", zap.String("app", in.App.ID),
				zap.String("action", in.Action), zap.Error(err))
			d = &Decision{Version: s.version}
		}
	}()
	if in.Record != nil {
		return s.decide(ctx, &in)
	}
	return s.cachedDecide(ctx, &in)
}

// decisionTTL bounds how long a decision without a record is reused. The
// decision depends only on the input and the version, both in the key, but
// a policy may read the clock (business hours, expiring grants); a short
// life keeps such rules close to true while sparing the evaluation on
// every request of a busy member.
const decisionTTL = 10 * time.Second

type cachedDecision struct {
	d       *Decision
	expires time.Time
}

// cachedDecide is decide for inputs without a record, reusing a recent
// decision for the same member, app and action. Decisions are shared:
// callers must treat them as read-only.
func (s *snapshot) cachedDecide(ctx context.Context, in *Input) (*Decision, error) {
	user, err := in.User.hash()
	if err != nil {
		return nil, fmt.Errorf("policy: user: %w", err)
	}
	key := cacheKey{in.App.ID, in.App.Alias, in.Action, in.StatusAction, in.Assignee, user, s.version}
	now := time.Now()
	if c, ok := s.decisions.get(key); ok && now.Before(c.expires) {
		return c.d, nil
	}
	d, err := s.decide(ctx, in)
	if err != nil {
		return nil, err
	}
	s.decisions.put(key, cachedDecision{d: d, expires: now.Add(decisionTTL)})
	return d, nil
}

func (s *snapshot) decide(ctx context.Context, in *Input) (d *Decision, err error) {
	defer recovered(&err)
	s.evaluations.Add(1)
	input := in.value(true)
	rs, err := s.decision.Eval(ctx, rego.EvalParsedInput(input))
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if len(rs) != 1 {
		return nil, fmt.Errorf("policy: the decision query gave %d results", len(rs))
	}
	b := rs[0].Bindings
	d = &Decision{Version: s.version}
	if d.Allow, err = allowed(b["allow"]); err != nil {
		return nil, err
	}
	log := s.log.With(zap.String("app", in.App.ID), zap.String("action", in.Action))
	d.Readable = s.fieldSet(log, "readable", b["readable"])
	d.Writable = s.fieldSet(log, "writable", b["writable"])
	d.Presets = s.object(log, "presets", b["presets"])
	d.Masks = masks(s.object(log, "masks", b["masks"]))
	if v, ok := single(b["rate"]); ok {
		// a broken rate denies rather than reading without a bound
		if d.Rate, ok = rateOf(v); !ok {
			return nil, fmt.Errorf("policy: rate must be a whole number of records per minute from 1, got %v", v)
		}
	}
	if v, ok := single(b["export"]); ok {
		// like rate: a broken cap denies rather than exporting without one
		if d.Export, ok = rateOf(v); !ok {
			return nil, fmt.Errorf("policy: export must be a whole number of records from 1, got %v", v)
		}
	}
	d.Reasons, d.Localized = s.reasons(log, b["reasons"])
	d.Mentions = s.fieldSet(log, "mentions", b["mentions"])
	return d, nil
}

// single unwraps the [x | x := rule] array: the rule's value, if defined.
func single(v any) (any, bool) {
	a, _ := v.([]any)
	if len(a) != 1 {
		return nil, false
	}
	return a[0], true
}

func allowed(v any) (bool, error) {
	x, ok := single(v)
	if !ok {
		return false, nil
	}
	b, isBool := x.(bool)
	if !isBool {
		return false, fmt.Errorf("policy: allow must be a boolean, got %T", x)
	}
	return b, nil
}

func (s *snapshot) fieldSet(log *zap.Logger, rule string, v any) FieldSet {
	codes := s.strings(log, rule, v)
	if slices.Contains(codes, "*") {
		return FieldSet{All: true}
	}
	return FieldSet{Codes: codes}
}

// strings reads a set (or array) of strings, skipping other members.
func (s *snapshot) strings(log *zap.Logger, rule string, v any) []string {
	x, ok := single(v)
	if !ok {
		return nil
	}
	a, ok := x.([]any)
	if !ok {
		log.Error("policy: rule must be a set of strings; ignored", zap.String("rule", rule), zap.Any("value", x))
		return nil
	}
	out := make([]string, 0, len(a))
	for _, m := range a {
		str, ok := m.(string)
		if !ok {
			log.Error("policy: rule must be a set of strings; member ignored", zap.String("rule", rule), zap.Any("member", m))
			continue
		}
		out = append(out, str)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (s *snapshot) object(log *zap.Logger, rule string, v any) map[string]any {
	x, ok := single(v)
	if !ok {
		return nil
	}
	m, ok := x.(map[string]any)
	if !ok {
		log.Error("policy: rule must be an object; ignored", zap.String("rule", rule), zap.Any("value", x))
		return nil
	}
	return m
}

// masks accepts both a plain replacement value per field and the shape of
// OPA's column masks, {code: {replace: {value: X}}}, where {code: {}} means
// "show the value".
func masks(m map[string]any) map[string]any {
	for code, v := range m {
		o, ok := v.(map[string]any)
		if !ok {
			continue
		}
		if len(o) == 0 {
			delete(m, code)
			continue
		}
		if r, ok := o["replace"].(map[string]any); ok && len(o) == 1 {
			if val, ok := r["value"]; ok && len(r) == 1 {
				m[code] = val
			}
		}
	}
	return m
}

// rateOf reads a rate: a whole number from 1, capped at maxRate.
func rateOf(v any) (int, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	r, ok := new(big.Rat).SetString(string(n))
	if !ok || !r.IsInt() || r.Sign() <= 0 {
		return 0, false
	}
	if r.Cmp(big.NewRat(maxRate, 1)) > 0 {
		return maxRate, true
	}
	return int(r.Num().Int64()), true
}

// Include evaluates the row rule on a known record (in.Record, as Flatten
// builds it): the re-check of every record read and the check of every
// write. An error means "not included".
func (e *Engine) Include(ctx context.Context, in Input) (bool, error) {
	return e.View().Include(ctx, in)
}

// Include is Engine.Include on this view's version.
func (v View) Include(ctx context.Context, in Input) (ok bool, err error) {
	s := v.s
	defer func() {
		if err != nil {
			s.log.Error("policy include failed; record excluded", zap.String("app", in.App.ID),
				zap.String("action", in.Action), zap.Error(err))
			ok = false
		}
	}()
	return s.cachedIncludes(ctx, &in)
}

// includeKeyLimit bounds the records whose verdicts are kept: a read's
// re-check passes only the few fields the row rule reads, while a write
// passes whole records, which are neither repeated nor worth the memory.
const includeKeyLimit = 1024

type includeKey struct {
	rule   cacheKey
	record string
}

type cachedVerdict struct {
	ok      bool
	expires time.Time
}

// cachedIncludes reuses a recent verdict for the same member, app, action
// and record values: the pages a member reads again and again hold the
// same few combinations of the rule's fields. Like decisions, verdicts
// live briefly, for rules that read the clock.
func (s *snapshot) cachedIncludes(ctx context.Context, in *Input) (bool, error) {
	rec, err := json.Marshal(in.Record) // map keys sorted: one text per record
	if err != nil || len(rec) > includeKeyLimit {
		return s.includes(ctx, in)
	}
	user, err := in.User.hash()
	if err != nil {
		return false, fmt.Errorf("policy: user: %w", err)
	}
	key := includeKey{cacheKey{in.App.ID, in.App.Alias, in.Action, in.StatusAction, in.Assignee, user, s.version}, string(rec)}
	now := time.Now()
	if v, ok := s.verdicts.get(key); ok && now.Before(v.expires) {
		return v.ok, nil
	}
	ok, err := s.includes(ctx, in)
	if err != nil {
		return false, err
	}
	s.verdicts.put(key, cachedVerdict{ok: ok, expires: now.Add(decisionTTL)})
	return ok, nil
}

func (s *snapshot) includes(ctx context.Context, in *Input) (ok bool, err error) {
	defer recovered(&err)
	s.inclusions.Add(1)
	if in.Record == nil {
		return false, fmt.Errorf("policy: include needs a record")
	}
	input := in.value(true)
	rs, err := s.include.Eval(ctx, rego.EvalParsedInput(input))
	if err != nil {
		return false, fmt.Errorf("policy: %w", err)
	}
	if len(rs) == 0 {
		return false, nil
	}
	b, isBool := rs[0].Bindings["x"].(bool)
	if !isBool {
		return false, fmt.Errorf("policy: include must be a boolean, got %T", rs[0].Bindings["x"])
	}
	return b, nil
}

// Localized is a text in Japanese and English.
type Localized struct {
	Ja string `json:"ja,omitempty"`
	En string `json:"en,omitempty"`
}

// In returns the text in lang ("ja" or "en"), else in the other language.
func (t Localized) In(lang string) string {
	if lang == "ja" && t.Ja != "" || t.En == "" {
		return t.Ja
	}
	return t.En
}

// ReasonsIn returns the reasons in the member's language (lang "ja" or
// "en"): those the policy gave in both languages in lang, falling back to
// the other, and plain strings as given.
func (d *Decision) ReasonsIn(lang string) []string {
	if len(d.Localized) == 0 {
		return d.Reasons
	}
	out := make([]string, len(d.Reasons))
	for i, r := range d.Reasons {
		out[i] = r
		if t, ok := d.Localized[r]; ok {
			out[i] = t.In(lang)
		}
	}
	return out
}

// reasons reads the reasons rule: a set of strings and of objects
// {"ja": …, "en": …} (either may be absent). An object's entry in the
// sorted list is its English text, else its Japanese.
func (s *snapshot) reasons(log *zap.Logger, v any) ([]string, map[string]Localized) {
	x, ok := single(v)
	if !ok {
		return nil, nil
	}
	a, ok := x.([]any)
	if !ok {
		log.Error("policy: rule must be a set of strings; ignored", zap.String("rule", "reasons"), zap.Any("value", x))
		return nil, nil
	}
	var localized map[string]Localized
	plain := make([]any, 0, len(a))
	for _, m := range a {
		obj, isObj := m.(map[string]any)
		if !isObj {
			plain = append(plain, m)
			continue
		}
		ja, _ := obj["ja"].(string)
		en, _ := obj["en"].(string)
		t := Localized{Ja: ja, En: en}
		key := t.In("en")
		if key == "" {
			log.Error("policy: a reason must be a string or an object with a ja or en string; member ignored", zap.Any("member", m))
			continue
		}
		if localized == nil {
			localized = map[string]Localized{}
		}
		localized[key] = t
		plain = append(plain, key)
	}
	return s.strings(log, "reasons", []any{plain}), localized
}
