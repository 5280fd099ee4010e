// Package policy is kgate's OPA engine: it loads a directory of Rego
// policies, refuses to activate it unless its Rego tests pass, evaluates the
// decision rules (allow, readable, writable, presets, masks, rate,
// reasons, mentions), compiles the row rule (include) into a
// kintone query condition, and reloads the directory when it changes.
//
// # The engine
//
// Open reads the directory (*.rego in Rego v1, an optional data.json at its
// top), compiles it into one ast.Compiler, runs its tests with OPA's tester
// (as `opa test DIR` does), prepares every query once, and runs the
// load-time probes (below). The result is an immutable snapshot named by a
// short hash of the files; with Options.Watch a new snapshot is built off
// the request path when the files change and swapped in atomically, and on
// any error the old one keeps serving (ReloadError says why).
//
//   - Decide evaluates allow, readable, writable, presets, masks, rate,
//     reasons and mentions in one prepared evaluation. Absent rules mean nothing: no
//     allow, or allow false, denies; an evaluation error (a conflict, a
//     non-boolean allow) denies and is returned. readable/writable "*" means every field. masks takes a
//     plain replacement value per field or OPA's column-mask shape
//     {code: {replace: {value: X}}} ({code: {}} = no mask). rate, the
//     records per minute the member may read, must be a whole number from
//     1 (absent = unlimited); anything else denies. A policy that still
//     defines the retired limit rule (or "limit" in a level of data.json)
//     does not load: the error names its line and says to use rate.
//   - RowRule compiles include with input.record unknown: OPA's data-filter
//     compiler (github.com/open-policy-agent/opa/v1/rego/compile, target
//     ucast, variant linq) judges the fragment, the residual of the same
//     partial evaluation gives the tree with every value exact, and the
//     tree is translated into a kql condition for the app's form. Compiled rules are cached per (app, action, status
//     action, user attributes, policy version); translation runs per call,
//     so a changed form takes effect at once. Never means "no record";
//     Cond nil means "every record". Any compile or translation error
//     denies (the RowRule returned with it says Never) and is logged with
//     the policy version.
//   - Include evaluates include in full on one flattened record: the
//     re-check of every record read and the check of every write.
//
// Panics inside OPA are turned into errors, which deny. Engine.View pins
// one version for a whole request (decision, row rule, re-checks), so a
// reload in the middle of a request cannot mix two versions.
//
// # input
//
// input.user is {sub, email, name, level, org, groups, attrs}; input.app is
// {id, alias}; input.action, input.status_action (the process action of
// "status") and input.assignee (the next assignee that action names).
// Empty strings are left out of input, so a missing attribute is undefined
// in Rego and every expression reading it fails: it can never widen a
// rule. input.record is what Flatten makes of kintone's record:
//
//	field type                                    input.record value
//	SINGLE_LINE_TEXT, MULTI_LINE_TEXT, RICH_TEXT,
//	LINK, DROP_DOWN, RADIO_BUTTON, STATUS,
//	DATE, TIME, DATETIME,
//	CREATED_TIME, UPDATED_TIME                    string; unset (null) is ""
//	RECORD_NUMBER                                 string of the number without the
//	                                              app code ("ORDERS-12" → "12")
//	NUMBER                                        number (exact decimal); unset ("") is null
//	CALC                                          number when numeric, null when "",
//	                                              else the formatted string (dates, times)
//	$id (__ID__), $revision (__REVISION__)        number
//	CHECK_BOX, MULTI_SELECT, CATEGORY             array of strings ([] when unset)
//	USER_SELECT, ORGANIZATION_SELECT,
//	GROUP_SELECT, STATUS_ASSIGNEE                 array of codes
//	CREATOR, MODIFIER                             code
//	FILE                                          array of {name, contentType, size}
//	                                              (size a number; never the file key)
//	SUBTABLE                                      array of rows, each flattened the same way
//	any other type                                the JSON value as decoded
//
// # Row rules
//
// include must stay in OPA's linq fragment: comparisons (== != < <= > >=)
// and `in` between one input.record field and known values, combined by
// the bodies of include (or) and their expressions (and); no `not`, no
// builtins on record fields, no default include. Field codes are
// allowlisted against the form passed to RowRule (only input.record.<code>
// with a string code is a field; anything else is an error, so a dynamic key such as
// input.record[input.user.attrs.col] can never smuggle text into the
// query). Fields inside a table and fields with several values cannot
// appear. The translation, per field type (v a value, "" the unset value):
//
//	type                     == v            != v                       < <= v                  > >= v       in [...]
//	SINGLE_LINE_TEXT, LINK   f = v           (f != v) or (f = "")       error                   error        f in (...)
//	DROP_DOWN, RADIO_BUTTON,
//	STATUS                   f in (v)        (f not in (v)) or          error                   error        f in (options of the list)
//	                                         (f in (""))
//	CREATOR, MODIFIER        f in (v)        f not in (v)               error                   error        f in (...)
//	NUMBER, CALC             f = v           (f != v) or (f = "")       (f < v) or (f = "")     f > v        f in (...)
//	$id                      f = v           f != v                     f < v                   f > v        f in (...)
//	RECORD_NUMBER            f = v           f != v                     error                   error        f in (...)
//	DATE, TIME, DATETIME     f = "v"         (f != "v") or (f = "")     (f < "v") or (f = "")   f > "v"      (f = "a") or (f = "b") ...
//	CREATED_TIME,
//	UPDATED_TIME             f = "v"         f != "v"                   f < "v"                 f > "v"      (f = "a") or ...
//
// Why the extra terms: in Rego the unset value ("" or null) orders before
// every other value, so it satisfies !=, < and <=; the explicit emptiness
// test makes the query include unset records whatever kintone does with
// them in those operators. Comparing with the unset value itself decides
// by the same order: == "" (or null for numbers) is the emptiness test
// (f = "", or f in ("") for choices), != "" its negation, < "" never,
// >= "" always; for fields that are never unset ($id, record number,
// creator, created time) they are never/always.
//
// Values must have the type Flatten gives the field (strings for text,
// choices, dates, record numbers; numbers or null for numbers), else the
// rule is an error. A drop-down value that is not an option is equal to no
// record: == is never, != is always, and it drops out of in lists; the
// result is simplified (never and always drop out of and/or). Numbers are
// printed bare with the policy's own digits, exactly (OPA's UCAST output
// would carry them as float64, which is why the tree comes from the
// residual); kintone compares them as decimals. Dates must be YYYY-MM-DD, times HH:MM, date-times
// UTC minutes YYYY-MM-DDTHH:MM:00Z (kintone's own form), so that string
// order in Rego is time order in kintone. Record numbers are digit strings
// printed bare. The translated condition is checked with kql.Check before
// it is returned.
//
// The residual is read strictly: an expression that is not a comparison of
// one record field with a known value (input.record[1] == "x", a rule
// partial evaluation could not inline) is an error, never "no condition".

// # Load-time probes
//
// Whether include compiles depends on the input: a branch taken by one
// level only may use a builtin on a record field. data.json may list probe
// identities under "probes" ({users, apps, actions, status_actions}); before
// a version activates, kgate evaluates the decision rules and compiles
// include for every probe user (plus one without any attribute) × app ×
// action (× status action), and with Options.Schemas also translates it
// against the app's form. Any error refuses the version. This decides
// exactly for the probes; no static analysis of Rego can decide it for every
// possible identity, so an identity unlike every probe can still meet an
// error at request time, which denies that request and is logged.
package policy
