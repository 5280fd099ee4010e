package kql

// The functions of kintone's query language, by canonical name.
const (
	fnLoginUser           = "LOGINUSER"
	fnPrimaryOrganization = "PRIMARY_ORGANIZATION"
	fnNow                 = "NOW"
	fnToday               = "TODAY"
	fnYesterday           = "YESTERDAY"
	fnTomorrow            = "TOMORROW"
	fnFromToday           = "FROM_TODAY"
	fnThisWeek            = "THIS_WEEK"
	fnLastWeek            = "LAST_WEEK"
	fnNextWeek            = "NEXT_WEEK"
	fnThisMonth           = "THIS_MONTH"
	fnLastMonth           = "LAST_MONTH"
	fnNextMonth           = "NEXT_MONTH"
	fnThisYear            = "THIS_YEAR"
	fnLastYear            = "LAST_YEAR"
	fnNextYear            = "NEXT_YEAR"
)

var funcNames = [...]string{
	fnLoginUser, fnPrimaryOrganization, fnNow, fnToday, fnYesterday, fnTomorrow,
	fnFromToday, fnThisWeek, fnLastWeek, fnNextWeek, fnThisMonth, fnLastMonth,
	fnNextMonth, fnThisYear, fnLastYear, fnNextYear,
}

// canonicalFunc returns the canonical name of the function w spells in any
// ASCII case, or "" if w names no kintone function.
func canonicalFunc(w string) string {
	for _, name := range funcNames {
		if len(w) == len(name) && equalFoldUpper(w, name) {
			return name
		}
	}
	return ""
}

// equalFoldUpper compares s with the upper-case ASCII name, folding only
// ASCII letters.
func equalFoldUpper(s, name string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != name[i] {
			return false
		}
	}
	return true
}
