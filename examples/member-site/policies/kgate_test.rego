package kgate_test

import data.kgate

# The member site's demo members: the users of `kgate demo --example
# member-site` (../users.json) as the members app of ../seed.json holds them.
gina := {"sub": "u-gina", "email": "gina@sakura.example", "org": "sakura", "level": "gold"}

sora := {"sub": "u-sora", "email": "sora@sakura.example", "org": "sakura", "level": "silver"}

ben := {"sub": "u-ben", "email": "ben@sakura.example", "org": "sakura", "level": "bronze"}

olga := {"sub": "u-olga", "email": "olga@orca.example", "org": "orca", "level": "gold"}

ken := {"sub": "u-ken", "email": "ken@orca.example", "org": "orca", "level": "silver"}

hana := {"sub": "u-hana", "email": "hana@orca.example", "org": "orca", "level": "bronze"}

tomo := {"sub": "u-tomo", "email": "tomo@operator.example", "level": "staff"}

stranger := {"sub": "x", "email": "x@example.invalid", "org": "sakura"}

gold_without_org := {"sub": "y", "email": "y@example.invalid", "level": "gold"}

platinum := {"sub": "z", "email": "z@sakura.example", "org": "sakura", "level": "platinum"}

req(user, alias, action) := {"user": user, "app": {"alias": alias}, "action": action}

status(user, name) := object.union(req(user, "requests", "status"), {"status_action": name})

with_record(r, record) := object.union(r, {"record": record})

allowed(r) if {
	kgate.allow with input as r
} else := false

included(r, record) if {
	kgate.include with input as with_record(r, record)
} else := false

# --- allow -----------------------------------------------------------------

test_allow[name] if {
	some name, tc in {
		"materials: bronze read": [ben, "materials", "read", true],
		"materials: bronze file.read": [hana, "materials", "file.read", true],
		"materials: silver read": [sora, "materials", "read", true],
		"materials: gold file.read": [olga, "materials", "file.read", true],
		"materials: gold create": [gina, "materials", "create", false],
		"materials: gold update": [gina, "materials", "update", false],
		"materials: silver comment.write": [ken, "materials", "comment.write", false],
		"materials: staff read": [tomo, "materials", "read", true],
		"materials: staff update": [tomo, "materials", "update", false],
		"materials: no level": [stranger, "materials", "read", false],
		"materials: unknown level": [platinum, "materials", "read", false],
		"requests: bronze read": [ben, "requests", "read", true],
		"requests: bronze create": [hana, "requests", "create", true],
		"requests: silver update": [sora, "requests", "update", true],
		"requests: gold comment.write": [olga, "requests", "comment.write", true],
		"requests: gold delete": [gina, "requests", "delete", false],
		"requests: gold file.write": [gina, "requests", "file.write", false],
		"requests: staff read": [tomo, "requests", "read", true],
		"requests: staff create": [tomo, "requests", "create", false],
		"requests: staff update": [tomo, "requests", "update", false],
		"requests: no level": [stranger, "requests", "read", false],
		"members: staff read": [tomo, "members", "read", true],
		"members: staff view_as": [tomo, "members", "view_as", true],
		"members: gold read": [gina, "members", "read", false],
		"members: gold view_as": [olga, "members", "view_as", false],
		"requests: staff view_as (only on the members app)": [tomo, "requests", "view_as", false],
		"unknown app": [tomo, "payroll", "read", false],
	}
	[user, alias, action, want] := tc
	allowed(req(user, alias, action)) == want
}

test_status_actions[name] if {
	some name, tc in {
		"bronze Submit": [ben, "Submit", true],
		"silver Withdraw": [ken, "Withdraw", true],
		"gold Approve": [gina, "Approve", false],
		"gold Complete": [olga, "Complete", false],
		"staff Approve": [tomo, "Approve", true],
		"staff Reject": [tomo, "Reject", true],
		"staff Complete": [tomo, "Complete", true],
		"staff Submit": [tomo, "Submit", false],
		"no level Submit": [stranger, "Submit", false],
	}
	[user, action, want] := tc
	allowed(status(user, action)) == want
}

# --- include: materials by level -------------------------------------------

# The rule in one table: a member sees a material whose required level is
# theirs or a lower one (bronze < silver < gold); staff see all of them.
test_include_materials_by_level[name] if {
	some name, tc in {
		"gold sees gold": [gina, "gold", true],
		"gold sees silver": [gina, "silver", true],
		"gold sees bronze": [olga, "bronze", true],
		"silver does not see gold": [sora, "gold", false],
		"silver sees silver": [ken, "silver", true],
		"silver sees bronze": [sora, "bronze", true],
		"bronze does not see gold": [ben, "gold", false],
		"bronze does not see silver": [hana, "silver", false],
		"bronze sees bronze": [ben, "bronze", true],
		"gold does not see an unset level": [gina, "", false],
		"gold without an organization sees gold": [gold_without_org, "gold", true],
		"staff see gold": [tomo, "gold", true],
		"staff see an unset level": [tomo, "", true],
		"no level sees nothing": [stranger, "bronze", false],
		"an unknown level sees nothing": [platinum, "bronze", false],
	}
	[user, required, want] := tc
	included(req(user, "materials", "read"), {"title": "t", "level": required}) == want
}

# Downloads use file.read's row rule: the same levels.
test_include_materials_file_read_follows_levels if {
	included(req(sora, "materials", "file.read"), {"level": "silver"})
	not included(req(sora, "materials", "file.read"), {"level": "gold"})
}

# --- include: requests by organization -------------------------------------

test_include_requests_by_org[name] if {
	some name, tc in {
		"gold sakura sees sakura": [gina, "sakura", true],
		"gold sakura not orca": [gina, "orca", false],
		"silver orca sees orca": [ken, "orca", true],
		"silver orca not sakura": [ken, "sakura", false],
		"bronze sakura sees sakura": [ben, "sakura", true],
		"bronze orca not sakura": [hana, "sakura", false],
		"gold not an unset org": [olga, "", false],
		"gold without org sees nothing": [gold_without_org, "sakura", false],
		"staff see orca": [tomo, "orca", true],
		"staff see an unset org": [tomo, "", true],
		"no level sees nothing": [stranger, "sakura", false],
	}
	[user, org, want] := tc
	included(req(user, "requests", "read"), {"org": org, "title": "t"}) == want
}

test_include_requests_applies_to_every_action[action] if {
	some action in ["read", "create", "update", "comment.read", "comment.write", "status"]
	included(req(hana, "requests", action), {"org": "orca"})
	not included(req(hana, "requests", action), {"org": "sakura"})
}

test_include_members_staff_only if {
	included(req(tomo, "members", "read"), {"email": "ben@sakura.example"})
	not included(req(ben, "members", "read"), {"email": "ben@sakura.example"})
}

# --- readable, rate --------------------------------------------------------

test_readable_materials_partner if {
	r := kgate.readable with input as req(ben, "materials", "read")
	every f in {"title", "category", "level", "description", "file", "video", "published", "$id", "Record_number"} {
		f in r
	}
	not "*" in r
}

test_readable_requests_partner if {
	r := kgate.readable with input as req(sora, "requests", "read")
	every f in {"title", "org", "type", "amount", "requested_on", "requested_by", "details", "Status", "Assignee"} {
		f in r
	}
	not "*" in r
}

test_readable_staff_all[alias] if {
	some alias in {"members", "materials", "requests"}
	r := kgate.readable with input as req(tomo, alias, "read")
	r == {"*"}
}

test_readable_nothing_without_level if {
	r := kgate.readable with input as req(stranger, "materials", "read")
	r == set()
}

test_rate[name] if {
	some name, tc in {
		"materials bronze": [ben, "materials", 1500],
		"materials silver": [ken, "materials", 3000],
		"materials gold": [gina, "materials", 6000],
		"requests bronze": [hana, "requests", 1500],
		"requests gold": [olga, "requests", 6000],
	}
	[user, alias, want] := tc
	rate := kgate.rate with input as req(user, alias, "read")
	rate == want
}

test_staff_read_without_a_rate[alias] if {
	some alias in {"members", "materials", "requests"}
	not kgate.rate with input as req(tomo, alias, "read")
}

test_export[name] if {
	some name, tc in {
		"materials bronze": [ben, "materials", 200],
		"requests silver": [ken, "requests", 1000],
		"requests gold": [olga, "requests", 5000],
		"requests staff": [tomo, "requests", 50000],
		"members staff": [tomo, "members", 50000],
	}
	[user, alias, want] := tc
	export := kgate.export with input as req(user, alias, "read")
	export == want
}

test_no_export_without_level if {
	not kgate.export with input as req(stranger, "requests", "read")
}

# --- writable, presets -----------------------------------------------------

request_fields := {"title", "type", "amount", "requested_on", "details"}

test_writable[name] if {
	some name, tc in {
		"bronze create": [ben, "create", null, request_fields],
		"gold update a draft": [gina, "update", {"org": "sakura", "Status": "Draft"}, request_fields],
		"gold update a submitted request": [gina, "update", {"org": "sakura", "Status": "Submitted"}, set()],
		"silver update without record": [sora, "update", null, set()],
		"silver read": [sora, "read", {"org": "sakura", "Status": "Draft"}, set()],
		"staff update a draft": [tomo, "update", {"org": "sakura", "Status": "Draft"}, set()],
	}
	[user, action, record, want] := tc
	r := req(user, "requests", action)
	input_ := object.union(r, {k: v | some k, v in {"record": record}; v != null})
	w := kgate.writable with input as input_
	w == want
}

test_presets[name] if {
	some name, tc in {
		"bronze create": [hana, "create", {"org": "orca", "requested_by": "hana@orca.example"}],
		"gold update": [gina, "update", {"org": "sakura"}],
		"gold read": [gina, "read", {}],
		"staff status": [tomo, "status", {}],
		"gold without org create": [gold_without_org, "create", {"requested_by": "y@example.invalid"}],
	}
	[user, action, want] := tc
	p := kgate.presets with input as req(user, "requests", action)
	p == want
}

# A created request carries the member's organization, so it passes include.
test_create_with_presets_passes_include if {
	p := kgate.presets with input as req(ken, "requests", "create")
	included(req(ken, "requests", "create"), object.union({"title": "Samples", "type": "samples"}, p))
}

# --- mentions --------------------------------------------------------------

test_mentions[name] if {
	some name, tc in {
		"staff may mention anyone": [tomo, "comment.write", {"*"}],
		"gold may mention nobody": [gina, "comment.write", set()],
		"only when writing a comment": [tomo, "read", set()],
	}
	[user, action, want] := tc
	m := kgate.mentions with input as req(user, "requests", action)
	m == want
}

# --- reasons ---------------------------------------------------------------

reasons_of(r) := rs if {
	rs := kgate.reasons with input as r
}

# The reasons in one language: every reason has both.
reasons_in(r, lang) := {t | some x in reasons_of(r); t := x[lang]}

test_reasons[name] if {
	some name, tc in {
		"unknown app": [req(tomo, "payroll", "read"), `app "payroll" is not open to members`],
		"members for partners": [req(gina, "members", "read"), "Member records are visible to the operator's staff only."],
		"no level": [req(stranger, "materials", "read"), `your member level may not use app "materials"`],
		"action not allowed": [req(ben, "materials", "create"), `your member level may not create in app "materials"`],
		"status action not allowed": [status(ben, "Approve"), `your member level may not run "Approve" in app "requests"`],
		"update a submitted request": [
			with_record(req(sora, "requests", "update"), {"org": "sakura", "Status": "Submitted"}),
			`records of app "requests" can be edited only while Status is Draft`,
		],
	}
	[r, want] := tc
	want in reasons_in(r, "en")
	count(reasons_in(r, "ja")) == count(reasons_of(r))
}

test_reasons_in_japanese[name] if {
	some name, tc in {
		"unknown app": [req(tomo, "payroll", "read"), "アプリ「payroll」は会員に公開されていません"],
		"members for partners": [req(gina, "members", "read"), "会員の情報を見られるのは運営スタッフだけです。"],
		"no level": [req(stranger, "materials", "read"), "あなたの会員レベルではアプリ「materials」を使えません"],
		"action not allowed": [req(ben, "materials", "file.write"), "あなたの会員レベルではアプリ「materials」でファイルのアップロードはできません"],
		"an action without a Japanese name": [req(ben, "materials", "view_as"), "あなたの会員レベルではアプリ「materials」でview_asはできません"],
		"status action not allowed": [status(ben, "Approve"), "あなたの会員レベルではアプリ「requests」で「Approve」の実行はできません"],
		"update a submitted request": [
			with_record(req(sora, "requests", "update"), {"org": "sakura", "Status": "Submitted"}),
			"アプリ「requests」のレコードを編集できるのはStatusがDraftのときだけです",
		],
	}
	[r, want] := tc
	want in reasons_in(r, "ja")
}

test_no_reasons_when_allowed[name] if {
	some name, r in {
		"bronze read": req(ben, "materials", "read"),
		"silver update a draft": with_record(req(sora, "requests", "update"), {"org": "sakura", "Status": "Draft"}),
		"staff Complete": status(tomo, "Complete"),
	}
	reasons_of(r) == set()
}
