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
package kql
