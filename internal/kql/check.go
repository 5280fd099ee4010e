package kql

import (
	"strconv"
	"strings"
)

// Field is what the type rules need to know about one field of an app's
// form.
type Field struct {
	Code string
	// Type is kintone's type name: "SINGLE_LINE_TEXT", "NUMBER", "DROP_DOWN",
	// "RECORD_NUMBER", "STATUS", … For a lookup, give the type of its key
	// field. $id is "__ID__" and needs no entry.
	Type string
	// Options are the choices of a CHECK_BOX, RADIO_BUTTON, DROP_DOWN or
	// MULTI_SELECT field.
	Options []string
	// InSubtable is set for a field inside a table (SUBTABLE).
	InSubtable bool
}

// kintone's limits on limit and offset.
const (
	kintoneMaxLimit  = 500
	kintoneMaxOffset = 10000
)

// Check applies kintone's type rules to q against an app's form fields,
// keyed by field code; a field of a related-records table is keyed
// "rel.field", and "rel.$id" needs no entry beyond the REFERENCE_TABLE field
// "rel" itself. It returns the *Error kintone would answer with, checking the
// condition (in reading order), then the order by keys, then limit and offset.
//
// For one predicate the order of checks is kintone's: unknown field
// (GAIA_IQ11), a value that is not an option (GAIA_IQ10), = or != on a
// table field (GAIA_IQ07), then the operator for the type (GAIA_IQ03), then
// each function: its arguments (GAIA_IL08, GAIA_IQ23, GAIA_IQ25) and
// whether the type takes it (GAIA_IQ03).
func Check(q *Query, fields map[string]Field) error {
	if q.Where != nil {
		if err := checkExpr(q.Where, fields); err != nil {
			return err
		}
	}
	for _, k := range q.OrderBy {
		f, err := lookupField(k.Field, fields)
		if err != nil {
			return err
		}
		if f.InSubtable || isRelated(k.Field) || !typeRules[f.Type].sortable {
			return errSort(k.Field)
		}
	}
	if err := checkRange(q, kintoneMaxLimit, kintoneMaxOffset); err != nil {
		return err
	}
	return nil
}

// checkRange applies the caps on limit and offset.
func checkRange(q *Query, maxLimit, maxOffset int) *Error {
	if q.Limit != nil {
		if *q.Limit < 0 {
			return invalid(text{en: "limit must be 0 or more", ja: "limit には 0 以上の値を指定します"})
		}
		if *q.Limit > maxLimit {
			return errLimit(maxLimit)
		}
	}
	if q.Offset != nil {
		if *q.Offset < 0 {
			return invalid(text{en: "offset must be 0 or more", ja: "offset には 0 以上の値を指定します"})
		}
		if *q.Offset > maxOffset {
			return errOffset(maxOffset)
		}
	}
	return nil
}

func checkExpr(e Expr, fields map[string]Field) *Error {
	switch e := e.(type) {
	case *And:
		return checkTerms(e.Terms, fields)
	case *Or:
		return checkTerms(e.Terms, fields)
	case *Cond:
		return checkCond(e, fields)
	}
	return nil
}

func checkTerms(terms []Expr, fields map[string]Field) *Error {
	for _, t := range terms {
		if err := checkExpr(t, fields); err != nil {
			return err
		}
	}
	return nil
}

func checkCond(c *Cond, fields map[string]Field) *Error {
	f, err := lookupField(c.Field, fields)
	if err != nil {
		return err
	}
	rule := typeRules[f.Type]
	if rule.options {
		for _, v := range c.Values {
			if v.Kind != Func && v.Text != "" && !hasOption(f.Options, v.Text) {
				return errOption(c.Field, v.Text)
			}
		}
	}
	if c.Op == Eq || c.Op == Ne {
		if f.InSubtable {
			return errSubtableOp(c.Field, c.Op)
		}
		if isRelated(c.Field) {
			return errOperator(c.Field, c.Op)
		}
	}
	if rule.ops&(1<<c.Op) == 0 {
		return errOperator(c.Field, c.Op)
	}
	for _, v := range c.Values {
		if v.Kind != Func || v.Call == nil {
			continue
		}
		if err := checkCall(v.Call); err != nil {
			return err
		}
		if rule.funcs&funcClass(v.Call.Name) == 0 {
			return errFunction(c.Field, v.Call.Name)
		}
	}
	return nil
}

// lookupField finds the form field a query names.
func lookupField(code string, fields map[string]Field) (Field, *Error) {
	if f, ok := fields[code]; ok {
		return f, nil
	}
	if code == "$id" {
		return Field{Code: code, Type: "__ID__"}, nil
	}
	if rel, ok := strings.CutSuffix(code, ".$id"); ok && fields[rel].Type == "REFERENCE_TABLE" {
		return Field{Code: code, Type: "__ID__"}, nil
	}
	return Field{}, errUnknownField(code)
}

// isRelated reports whether code names a field of a related-records table.
func isRelated(code string) bool { return strings.Contains(code, ".") }

func hasOption(options []string, v string) bool {
	for _, o := range options {
		if o == v {
			return true
		}
	}
	return false
}

// opSet holds one bit per Op.
type opSet uint16

const (
	cmpOps   opSet = 1<<Eq | 1<<Ne | 1<<Lt | 1<<Gt | 1<<Le | 1<<Ge
	eqOps    opSet = 1<<Eq | 1<<Ne
	inOps    opSet = 1<<In | 1<<NotIn
	likeOps  opSet = 1<<Like | 1<<NotLike
	emptyOps opSet = 1<<IsEmpty | 1<<IsNotEmpty
)

// funcSet holds one bit per class of function.
type funcSet uint8

const (
	fUser funcSet = 1 << iota // LOGINUSER
	fOrg                      // PRIMARY_ORGANIZATION
	fDate                     // TODAY … NEXT_YEAR, FROM_TODAY
	fNow                      // NOW
)

func funcClass(name string) funcSet {
	switch name {
	case fnLoginUser:
		return fUser
	case fnPrimaryOrganization:
		return fOrg
	case fnNow:
		return fNow
	}
	return fDate
}

// typeRule is what a field type allows in a query.
type typeRule struct {
	ops      opSet
	funcs    funcSet
	options  bool // values must be among the field's options (GAIA_IQ10)
	sortable bool // may be an order by key
}

// typeRules is kintone's operator table (reference §4.2). A type not listed
// (SUBTABLE, REFERENCE_TABLE, layout types) allows nothing.
var typeRules = map[string]typeRule{
	"__ID__":              {ops: cmpOps | inOps, sortable: true},
	"RECORD_NUMBER":       {ops: cmpOps | inOps, sortable: true},
	"NUMBER":              {ops: cmpOps | inOps, sortable: true},
	"CALC":                {ops: cmpOps | inOps, sortable: true},
	"SINGLE_LINE_TEXT":    {ops: eqOps | inOps | likeOps, sortable: true},
	"LINK":                {ops: eqOps | inOps | likeOps, sortable: true},
	"MULTI_LINE_TEXT":     {ops: likeOps | emptyOps, sortable: true},
	"RICH_TEXT":           {ops: likeOps | emptyOps, sortable: true},
	"CHECK_BOX":           {ops: inOps, options: true},
	"MULTI_SELECT":        {ops: inOps, options: true},
	"RADIO_BUTTON":        {ops: inOps, options: true, sortable: true},
	"DROP_DOWN":           {ops: inOps, options: true, sortable: true},
	"STATUS":              {ops: eqOps | inOps, sortable: true},
	"DATE":                {ops: cmpOps, funcs: fDate, sortable: true},
	"DATETIME":            {ops: cmpOps, funcs: fDate | fNow, sortable: true},
	"CREATED_TIME":        {ops: cmpOps, funcs: fDate | fNow, sortable: true},
	"UPDATED_TIME":        {ops: cmpOps, funcs: fDate | fNow, sortable: true},
	"TIME":                {ops: cmpOps, sortable: true},
	"USER_SELECT":         {ops: inOps, funcs: fUser},
	"CREATOR":             {ops: inOps, funcs: fUser, sortable: true},
	"MODIFIER":            {ops: inOps, funcs: fUser, sortable: true},
	"ORGANIZATION_SELECT": {ops: inOps, funcs: fOrg},
	"GROUP_SELECT":        {ops: inOps},
	"FILE":                {ops: likeOps | emptyOps},
	"STATUS_ASSIGNEE":     {ops: inOps, funcs: fUser},
	"CATEGORY":            {ops: inOps},
}

// checkCall checks a function's arguments.
func checkCall(c *Call) *Error {
	switch c.Name {
	case fnFromToday:
		if len(c.Args) != 2 {
			return errArgCount(c.Name, 2, true)
		}
		if !validNumber(c.Args[0]) || !isInteger(c.Args[0]) {
			return errCount(c.Args[0])
		}
		switch c.Args[1] {
		case "DAYS", "WEEKS", "MONTHS", "YEARS":
			return nil
		}
		return errUnit()
	case fnThisWeek, fnLastWeek, fnNextWeek:
		if len(c.Args) > 1 {
			return errArgCount(c.Name, 1, false)
		}
		if len(c.Args) == 1 && weekday(c.Args[0]) < 0 {
			return errWeekday(c.Args[0])
		}
		return nil
	case fnThisMonth, fnLastMonth, fnNextMonth:
		if len(c.Args) > 1 {
			return errArgCount(c.Name, 1, false)
		}
		if len(c.Args) == 1 && monthDay(c.Args[0]) < 0 {
			return errDay(c.Args[0])
		}
		return nil
	}
	if len(c.Args) != 0 {
		return errArgCount(c.Name, 0, false)
	}
	return nil
}

var weekdays = [...]string{"SUNDAY", "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY"}

// weekday returns 0 (SUNDAY) to 6 (SATURDAY) for a weekday argument, or -1.
func weekday(arg string) int {
	for i, w := range weekdays {
		if arg == w {
			return i
		}
	}
	return -1
}

// monthDay returns 1–31 for a day argument, 32 for LAST, or -1.
func monthDay(arg string) int {
	if arg == "LAST" {
		return 32
	}
	if !validNumber(arg) || !isInteger(arg) {
		return -1
	}
	n, err := strconv.Atoi(arg)
	if err != nil || n < 1 || n > 31 {
		return -1
	}
	return n
}
