package kgate_test

import data.kgate

# The demo members: the users of `kgate demo`'s provider (internal/devidp)
# as the members app of examples/partner-portal/seed.json holds them.
alice := {"sub": "u-alice", "email": "alice@acme.example", "org": "acme", "level": "gold"}

bob := {"sub": "u-bob", "email": "bob@acme.example", "org": "acme", "level": "silver"}

carol := {"sub": "u-carol", "email": "carol@bluebird.example", "org": "bluebird", "level": "gold"}

dave := {"sub": "u-dave", "email": "dave@bluebird.example", "org": "bluebird", "level": "silver"}

sam := {"sub": "u-sam", "email": "sam@operator.example", "level": "staff"}

frank := {"sub": "u-frank", "email": "frank@unknown.example"}

gold_without_org := {"sub": "x", "email": "x@example.invalid", "level": "gold"}

silver_without_email := {"sub": "y", "org": "acme", "level": "silver"}

req(user, alias, action) := {"user": user, "app": {"alias": alias}, "action": action}

status(user, alias, name) := object.union(req(user, alias, "status"), {"status_action": name})

with_record(r, record) := object.union(r, {"record": record})

# --- allow -----------------------------------------------------------------

test_allow[name] if {
	some name, tc in {
		"members: staff read": [sam, "members", "read", true],
		"members: gold partner read": [alice, "members", "read", false],
		"members: silver partner read": [bob, "members", "read", false],
		"members: staff update": [sam, "members", "update", false],
		"members: staff view_as": [sam, "members", "view_as", true],
		"members: gold partner view_as": [alice, "members", "view_as", false],
		"members: silver partner view_as": [bob, "members", "view_as", false],
		"budget: staff view_as (only on the members app)": [sam, "budget", "view_as", false],
		"budget: silver read": [bob, "budget", "read", true],
		"budget: silver comment.read": [bob, "budget", "comment.read", true],
		"budget: silver comment.write": [bob, "budget", "comment.write", true],
		"budget: silver file.read": [bob, "budget", "file.read", true],
		"budget: silver create": [bob, "budget", "create", false],
		"budget: silver update": [bob, "budget", "update", false],
		"budget: silver delete": [bob, "budget", "delete", false],
		"budget: silver file.write": [bob, "budget", "file.write", false],
		"budget: gold read": [alice, "budget", "read", true],
		"budget: gold create": [alice, "budget", "create", true],
		"budget: gold update": [carol, "budget", "update", true],
		"budget: gold file.write": [alice, "budget", "file.write", true],
		"budget: gold delete": [alice, "budget", "delete", false],
		"budget: staff read": [sam, "budget", "read", true],
		"budget: staff update": [sam, "budget", "update", true],
		"budget: staff create": [sam, "budget", "create", false],
		"budget: no level": [frank, "budget", "read", false],
		"documents: silver read": [dave, "documents", "read", true],
		"documents: silver file.read": [dave, "documents", "file.read", true],
		"documents: gold create": [carol, "documents", "create", false],
		"documents: staff read": [sam, "documents", "read", true],
		"survey: silver create": [bob, "survey", "create", true],
		"survey: gold create": [alice, "survey", "create", true],
		"survey: silver update": [bob, "survey", "update", false],
		"survey: staff read": [sam, "survey", "read", true],
		"survey: staff create": [sam, "survey", "create", false],
		"schedule: silver read": [dave, "schedule", "read", true],
		"schedule: gold read": [carol, "schedule", "read", true],
		"schedule: staff read": [sam, "schedule", "read", true],
		"schedule: gold create": [carol, "schedule", "create", false],
		"unknown app": [sam, "payroll", "read", false],
	}
	[user, alias, action, want] := tc
	allowed(req(user, alias, action)) == want
}

allowed(r) if {
	kgate.allow with input as r
} else := false

test_status_actions[name] if {
	some name, tc in {
		"gold Submit": [alice, "Submit", true],
		"gold Withdraw": [carol, "Withdraw", true],
		"gold Approve": [alice, "Approve", false],
		"silver Submit": [bob, "Submit", false],
		"staff Approve": [sam, "Approve", true],
		"staff Reject": [sam, "Reject", true],
		"staff Submit": [sam, "Submit", false],
		"no level Submit": [frank, "Submit", false],
	}
	[user, name_, want] := tc
	allowed(status(user, "budget", name_)) == want
}

# --- include ---------------------------------------------------------------

included(r, record) if {
	kgate.include with input as with_record(r, record)
} else := false

test_include_budget_by_org[name] if {
	some name, tc in {
		"silver acme sees acme": [bob, "acme", true],
		"silver acme not bluebird": [bob, "bluebird", false],
		"gold bluebird sees bluebird": [carol, "bluebird", true],
		"gold bluebird not cosmo": [carol, "cosmo", false],
		"gold acme not unset org": [alice, "", false],
		"staff sees acme": [sam, "acme", true],
		"staff sees unset org": [sam, "", true],
		"gold without org sees nothing": [gold_without_org, "acme", false],
		"no level sees nothing": [frank, "acme", false],
	}
	[user, org, want] := tc
	included(req(user, "budget", "read"), {"org": org, "title": "t"}) == want
}

test_include_budget_applies_to_every_action[action] if {
	some action in ["read", "update", "comment.read", "file.read", "status", "create"]
	included(req(alice, "budget", action), {"org": "acme"})
	not included(req(alice, "budget", action), {"org": "bluebird"})
}

test_include_documents[name] if {
	some name, tc in {
		"silver own org, silver audience": [dave, "bluebird", "silver", true],
		"silver shared, silver audience": [dave, "all", "silver", true],
		"silver own org, gold audience": [dave, "bluebird", "gold", false],
		"silver other org": [dave, "acme", "silver", false],
		"gold own org, gold audience": [carol, "bluebird", "gold", true],
		"gold shared, gold audience": [carol, "all", "gold", true],
		"gold other org, gold audience": [carol, "cosmo", "gold", false],
		"gold unset audience": [carol, "bluebird", "", false],
		"gold without org, shared": [gold_without_org, "all", "silver", false],
		"staff anything": [sam, "cosmo", "gold", true],
	}
	[user, org, audience, want] := tc
	included(req(user, "documents", "read"), {"org": org, "audience": audience}) == want
}

test_include_schedule[name] if {
	some name, tc in {
		"silver own org": [bob, "acme", true],
		"silver shared": [bob, "all", true],
		"silver other org": [bob, "cosmo", false],
		"gold other org": [carol, "acme", false],
		"staff other org": [sam, "cosmo", true],
	}
	[user, org, want] := tc
	included(req(user, "schedule", "read"), {"org": org}) == want
}

test_include_survey_own_answers[name] if {
	some name, tc in {
		"silver own answer": [bob, "bob@acme.example", true],
		"silver colleague's answer": [bob, "alice@acme.example", false],
		"gold own answer": [alice, "alice@acme.example", true],
		"gold unset respondent": [alice, "", false],
		"silver without e-mail": [silver_without_email, "", false],
		"staff any answer": [sam, "dave@bluebird.example", true],
	}
	[user, respondent, want] := tc
	included(req(user, "survey", "read"), {"respondent": respondent, "org": "acme"}) == want
}

test_include_members_staff_only if {
	included(req(sam, "members", "read"), {"email": "bob@acme.example"})
	not included(req(bob, "members", "read"), {"email": "bob@acme.example"})
}

# --- readable, masks, rate -------------------------------------------------

test_readable_partner_lists_fields_and_system_fields if {
	r := kgate.readable with input as req(bob, "budget", "read")
	r.title
	r.approved_amount
	r["$id"]
	r.Status
	not r.internal_note
	not r["*"]
}

test_readable_staff_all if {
	r := kgate.readable with input as req(sam, "budget", "read")
	r == {"*"}
}

test_readable_schedule_partner_all if {
	r := kgate.readable with input as req(dave, "schedule", "read")
	r == {"*"}
}

test_readable_nothing_without_level if {
	r := kgate.readable with input as req(frank, "budget", "read")
	r == set()
}

test_masks[name] if {
	some name, tc in {
		"silver budget masks approved_amount": [bob, "budget", {"approved_amount": ""}],
		"gold budget masks nothing": [alice, "budget", {}],
		"staff budget masks nothing": [sam, "budget", {}],
	}
	[user, alias, want] := tc
	masks_of(req(user, alias, "read")) == want
}

masks_of(r) := m if {
	m := kgate.masks with input as r
} else := {}

test_rate[name] if {
	some name, tc in {
		"budget silver": [bob, "budget", 3000],
		"budget gold": [alice, "budget", 6000],
		"documents silver": [dave, "documents", 3000],
		"survey gold": [carol, "survey", 6000],
		"schedule silver": [dave, "schedule", 3000],
	}
	[user, alias, want] := tc
	rate := kgate.rate with input as req(user, alias, "read")
	rate == want
}

test_staff_reads_without_a_rate[alias] if {
	some alias in {"budget", "members", "documents"}
	not kgate.rate with input as req(sam, alias, "read")
}

test_no_rate_without_level if {
	not kgate.rate with input as req(frank, "budget", "read")
}

test_export[name] if {
	some name, tc in {
		"budget silver": [bob, "budget", 1000],
		"budget gold": [alice, "budget", 5000],
		"budget staff": [sam, "budget", 50000],
		"survey gold": [carol, "survey", 5000],
		"members staff": [sam, "members", 50000],
	}
	[user, alias, want] := tc
	export := kgate.export with input as req(user, alias, "read")
	export == want
}

test_no_export_without_level if {
	not kgate.export with input as req(frank, "budget", "read")
}

# --- writable, presets -----------------------------------------------------

budget_fields := {"title", "category", "amount", "purpose", "attachment", "items"}

test_writable[name] if {
	some name, tc in {
		"gold create": [alice, "create", null, budget_fields],
		"gold update in Draft": [alice, "update", {"org": "acme", "Status": "Draft"}, budget_fields],
		"gold update in Submitted": [alice, "update", {"org": "acme", "Status": "Submitted"}, set()],
		"gold update without record": [alice, "update", null, set()],
		"gold read": [alice, "read", {"org": "acme", "Status": "Draft"}, set()],
		"silver update in Draft": [bob, "update", {"org": "acme", "Status": "Draft"}, set()],
		"staff update in Submitted": [sam, "update", {"org": "acme", "Status": "Submitted"}, {"approved_amount", "internal_note"}],
	}
	[user, action, record, want] := tc
	r := req(user, "budget", action)
	input_ := object.union(r, {k: v | some k, v in {"record": record}; v != null})
	w := kgate.writable with input as input_
	w == want
}

test_writable_survey_create if {
	w := kgate.writable with input as req(bob, "survey", "create")
	w == {"seminar", "rating", "comments"}
}

test_presets[name] if {
	some name, tc in {
		"budget gold create": [alice, "budget", "create", {"org": "acme", "requested_by": "alice@acme.example"}],
		"budget gold update": [carol, "budget", "update", {"org": "bluebird"}],
		"budget gold read": [carol, "budget", "read", {}],
		"budget staff update": [sam, "budget", "update", {}],
		"survey silver create": [dave, "survey", "create", {"org": "bluebird", "respondent": "dave@bluebird.example"}],
		"survey without e-mail": [silver_without_email, "survey", "create", {"org": "acme"}],
		"budget gold without org": [gold_without_org, "budget", "create", {"requested_by": "x@example.invalid"}],
	}
	[user, alias, action, want] := tc
	p := kgate.presets with input as req(user, alias, action)
	p == want
}

# A created record carries the member's org, so it passes include.
test_create_with_presets_passes_include if {
	p := kgate.presets with input as req(alice, "budget", "create")
	included(req(alice, "budget", "create"), object.union({"title": "Fair", "amount": 10}, p))
}

# --- reasons ---------------------------------------------------------------

reasons_of(r) := rs if {
	rs := kgate.reasons with input as r
}

# The reasons in one language: every reason the policy gives has both.
reasons_in(r, lang) := {t | some x in reasons_of(r); t := x[lang]}

test_reasons[name] if {
	some name, tc in {
		"unknown app": [req(sam, "payroll", "read"), `app "payroll" is not open to partners`],
		"members for partners": [req(bob, "members", "read"), "Member records are visible to the operator's staff only."],
		"no level": [req(frank, "budget", "read"), `your member level may not use app "budget"`],
		"action not allowed": [req(bob, "budget", "create"), `your member level may not create in app "budget"`],
		"status action not allowed": [status(bob, "budget", "Submit"), `your member level may not run "Submit" in app "budget"`],
		"update outside Draft": [
			with_record(req(alice, "budget", "update"), {"org": "acme", "Status": "Approved"}),
			`records of app "budget" can be edited only while Status is Draft`,
		],
	}
	[r, want] := tc
	want in reasons_in(r, "en")
	count(reasons_in(r, "ja")) == count(reasons_of(r))
}

test_reasons_in_japanese[name] if {
	some name, tc in {
		"members for partners": [req(bob, "members", "read"), "会員情報は運営スタッフのみが閲覧できます。"],
		"action not allowed": [req(bob, "budget", "create"), "あなたの会員レベルではアプリ「budget」で作成できません"],
		"status action not allowed": [status(bob, "budget", "Submit"), "あなたの会員レベルではアプリ「budget」で「Submit」を実行できません"],
		"update outside Draft": [
			with_record(req(alice, "budget", "update"), {"org": "acme", "Status": "Approved"}),
			"アプリ「budget」のレコードはStatusがDraftの間だけ編集できます",
		],
	}
	[r, want] := tc
	want in reasons_in(r, "ja")
}

test_no_reasons_when_allowed[name] if {
	some name, r in {
		"gold read": req(alice, "budget", "read"),
		"gold update in Draft": with_record(req(alice, "budget", "update"), {"org": "acme", "Status": "Draft"}),
		"staff Approve": status(sam, "budget", "Approve"),
	}
	reasons_of(r) == set()
}

# --- mentions --------------------------------------------------------------

test_mentions[name] if {
	some name, tc in {
		"staff may mention anyone": [sam, "comment.write", {"*"}],
		"silver may mention nobody": [bob, "comment.write", set()],
		"only when writing a comment": [sam, "read", set()],
		"no level, nobody": [frank, "comment.write", set()],
	}
	[user, action, want] := tc
	m := kgate.mentions with input as req(user, "budget", action)
	m == want
}
