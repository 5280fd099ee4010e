package testworld

import "strings"

// HostileQueries are queries a member might send to reach past the row
// rule. Each must either fail with a 4xx or return only rows the member
// may see, and never a totalCount above what the member may see.
var HostileQueries = []string{
	`org in ("bluebird")`,
	`org in ("bluebird") or $id > 0`,
	`) or ($id > 0`,
	`$id > 0) or (org in ("bluebird")`,
	`title = "x") or ("1" = "1"`,
	`title = "x\") or $id > \"0"`,
	`title = "\\") or $id > 0 or ("\\"`,
	`title like "alpha" or $id > 0`,
	`$id > 0 or $id <= 0`,
	`$id > 0 order by $id desc limit 500`,
	`limit 500 offset 0`,
	`offset 10000`,
	`$id >= 1 limit 50 offset 0 or $id > 0`,
	`(((((($id > 0))))))`,
	strings.Repeat("(", 200) + `$id > 0` + strings.Repeat(")", 200),
	`$id > 0 ` + strings.Repeat(`or $id > 0 `, 2000),
	`title in ("` + strings.Repeat("a", 70000) + `")`,
	`org not in ("acme")`,
	`org in ("acme", "bluebird", "cosmo", "")`,
	`org in ("")`,
	`visibility in ("internal")`,
	`title like "" or title = ""`,
	`$id > "0" or "a" = "a"`,
	`LOGINUSER() in (作成者)`,
	`作成者 in (LOGINUSER())`,
	`$id in (1,2,3,4,5,6,7,8,9,10,11,12,13,14,15)`,
	"title\u3000like\u3000\"alpha\"\u3000or\u3000$id\u3000>\u30000",
	"title = \"x\"\nor $id > 0",
	`title = 'x' or $id > 0`,
	`title = "x" /* comment */ or $id > 0`,
	`title = "x" -- or $id > 0`,
	`title = "x"; $id > 0`,
	`ｔｉｔｌｅ = "x" or $id > 0`,
	`title = "\u0000" or $id > 0`,
	"title = \"\xff\" or $id > 0",
	`org in ("acme") order by org desc, $id asc limit 50`,
	`items.item in ("alpha")`,
	`item in ("alpha") or qty > 0`,
	`rel.$id > 0`,
}
