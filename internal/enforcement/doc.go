// Package enforcement proves that kgate shows each member exactly what the
// policy allows — no record, field, clear value of a masked field or count
// beyond it — on every read surface and for every action, with policies
// the tests invent.
//
// The harness (harness_test.go) generates worlds full of edge values
// (case, width and space variants, zero-width characters, quotes and
// parentheses, decimals on both sides of thresholds, empty values, empty
// and long tables, files searched by content), policies inside OPA's linq
// fragment (row rules that differ per action for read, comment.read and
// file.read; masks on top-level fields and table columns; readable sets
// per level; number, date and time thresholds; multi-valued user
// attributes; owner-by-e-mail rules), members, and random queries over
// every field type and operator. Its ground truth is OPA itself: include,
// readable and masks evaluated directly on every record of a dump read from
// the simulator with the app's own token, intersected with the simulator's
// answer to the member's query. It compares records.json in kintone's three
// request forms, record.json, cursors, comments, file downloads, and the
// portal's list count and keyword search.
//
// go test runs 10,000 cases (seeded; the seed and the counts are printed).
// The long mode runs as many as asked:
//
//	KGATE_ENFORCEMENT_CASES=100000 go test ./internal/enforcement -run Exact -v -timeout 2h
//	KGATE_ENFORCEMENT_SEED=1234 go test ./internal/enforcement -run Exact -v   # replay a run
//
// A leak fails the test. Over-filtering (a visible record left out, a
// count below the visible one, a refusal where an answer was due) is
// counted and reported separately.
package enforcement
