// Package kql is the kintone query language: a lexer and parser that turn a
// query into a typed AST, a printer that writes the AST back as a canonical
// query, composition of a row rule with a user's query, and kintone's type
// rules against an app's form fields.
//
// kgate rewrites every query a partner sends, and the simulator evaluates
// queries as kintone does. Both stand on this one AST, so what kgate composes
// is exactly what the upstream evaluates, and a partner's text is never
// spliced into another string: it is parsed, checked, joined in the tree and
// printed again.
//
// # The AST
//
// A Query is an optional condition (Where) and the options OrderBy, Limit
// and Offset, in kintone's fixed clause order. A condition is an *And, an
// *Or or a *Cond. The parser builds one And or Or per level ("a and b and c"
// is one And with three terms; and binds tighter than or) and never merges
// levels across parentheses, so "(a and b) and c" keeps its inner And. A
// Cond is one field, one operator and its values: one for comparisons and
// like, one or more for in, none for is empty. A Value is a string, a number
// as written, or a function call; the AST keeps which, because kintone
// accepts numbers both bare and quoted.
//
// # Canonical text
//
// Query.String and Format write keywords in lower case and function names in
// upper case, separate tokens by single spaces, double-quote and escape every
// string (\" \\ \t \n \r), and put every term of an and/or in parentheses.
// For every query Parse returns, Parse(q.String()) returns an AST equal to q
// (reflect.DeepEqual), and printing it again gives the same text. The caps
// MaxQueryBytes and MaxDepth apply to the canonical form too, so the round
// trip holds at the limits.
//
// # Errors
//
// Every error a query can cause is an *Error carrying kintone's code, the
// HTTP status and messages in Japanese and English, so the API can answer in
// kintone's own error shape: CB_VA01 (with details under the key "query")
// for syntax, and the GAIA_* codes of the type rules and the limits. An
// error of another type from Compose means an AST handed to it was
// malformed: a bug in the caller, not a bad query.
//
// # Choices where kintone's behaviour is not known
//
// The reference (shared/reference/kintone-api.md §4–5) leaves some points
// open; this package decides them as follows.
//
//   - A backslash before anything but " \ t n r is a syntax error, not the
//     character itself: if kgate and kintone read a literal differently,
//     the query kgate checked would not be the one kintone runs.
//   - Raw control characters (U+0000–U+001F, U+007F) are refused everywhere,
//     and only space, TAB, CR, LF and U+3000 separate tokens.
//   - Keywords are reserved in any ASCII case and are never field codes;
//     only "$id" starts with "$".
//   - Function names and symbol arguments are read in any ASCII case and
//     stored upper case.
//   - A function the field type does not take (TODAY() on a text field,
//     NOW() on a DATE) is GAIA_IQ03, the code kintone uses for what a field
//     type does not allow. A non-integer first argument of FROM_TODAY is
//     GAIA_IQ23, like the other bad argument values.
//   - RICH_TEXT takes is empty / is not empty, like MULTI_LINE_TEXT.
//   - = and != on a related-records field is GAIA_IQ03 (kintone documents
//     only that in / not in must be used).
//   - order by refuses, with GAIA_IQ03, fields inside a table, related-records
//     fields and multi-value types: CHECK_BOX, MULTI_SELECT, USER_SELECT,
//     ORGANIZATION_SELECT, GROUP_SELECT, FILE, STATUS_ASSIGNEE, CATEGORY (and
//     SUBTABLE, REFERENCE_TABLE).
//   - A limit too large for an int is kept as math.MaxInt, so it is refused
//     by the cap (GAIA_QU01) as kintone refuses any limit above 500.
package kql
