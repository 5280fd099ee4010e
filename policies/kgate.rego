# kgate's default policy for the demo world (examples/partner-portal/seed.json;
# the README's first section says who sees what).
#
# The logic is generic: every app is configured in data.json under
# data.apps.<alias>, with one entry per member level. An operator changes
# who may do what by editing data.json; this file changes only for a new
# kind of rule.
#
# Per app:      org_field, shared_org, audience_field, owner_field,
#               closed_reason, levels
# Per level:    actions, status_actions, scope ("all" | "org" | "own"),
#               audiences, readable ("*" = all), writable, writable_when,
#               presets (per action: field -> user attribute), masks,
#               rate (records per minute; absent = unlimited), export (records one CSV export may hold),
#               mentions (kintone codes a comment may mention, "*" = any)
#
# kgate reads allow, include, readable, writable, presets, masks, rate,
# export, reasons and mentions (the README's policy table). include is compiled into a kintone query with
# input.record unknown, so it compares input.record fields with known
# values only, and has no default.
package kgate

# The app's settings; undefined for an app not configured here.
app := data.apps[input.app.alias]

# The member's level settings; undefined without a (known) level, so a
# member without a level gets nothing.
level := app.levels[input.user.level]

# --- allow -----------------------------------------------------------------

allow if {
	input.action != "status"
	input.action in level.actions
}

allow if {
	input.action == "status"
	"status" in level.actions
	input.status_action in level.status_actions
}

# --- include: the row rule --------------------------------------------------

# Staff-like levels see every record.
include if level.scope == "all"

# Partners see their organization's records (and shared ones), within
# their level's audience where the app has one.
include if {
	level.scope == "org"
	not app.audience_field
	input.record[app.org_field] in member_orgs
}

include if {
	level.scope == "org"
	input.record[app.org_field] in member_orgs
	input.record[app.audience_field] in level.audiences
}

# Partners see the records they submitted themselves.
include if {
	level.scope == "own"
	input.record[app.owner_field] == input.user.email
}

# The member's organization, and the shared value; empty without an org.
member_orgs contains input.user.org

member_orgs contains app.shared_org if input.user.org

# --- fields ----------------------------------------------------------------

readable contains field if some field in level.readable

# A level with a list of fields also sees the system fields.
readable contains field if {
	not "*" in level.readable
	some field in data.system_fields
}

writable contains field if {
	writes_allowed
	some field in level.writable
}

writes_allowed if input.action == "create"

# An update may change fields only while the existing record is in one of
# the listed states (e.g. a budget request in Draft).
writes_allowed if {
	input.action == "update"
	every field, values in object.get(level, "writable_when", {}) {
		input.record[field] in values
	}
}

# Attribution: fields set from the member's attributes, per action.
presets[field] := input.user[attribute] if {
	some field, attribute in level.presets[input.action]
}

masks := level.masks

# Whom a comment may mention; nobody unless the level lists codes.
mentions contains code if {
	input.action == "comment.write"
	some code in level.mentions
}

rate := level.rate

export := level.export

# --- reasons ---------------------------------------------------------------

# Each reason is given in Japanese and English; kgate shows the member's
# language and logs the English.

reasons contains {
	"ja": sprintf("アプリ「%s」はパートナーに公開されていません", [input.app.alias]),
	"en": sprintf("app %q is not open to partners", [input.app.alias]),
} if not app

reasons contains app.closed_reason if {
	not level
	app.closed_reason
}

reasons contains {
	"ja": sprintf("あなたの会員レベルではアプリ「%s」を利用できません", [input.app.alias]),
	"en": sprintf("your member level may not use app %q", [input.app.alias]),
} if {
	app
	not level
	not app.closed_reason
}

reasons contains {
	"ja": sprintf("あなたの会員レベルではアプリ「%s」で%sできません", [input.app.alias, action_name_ja]),
	"en": sprintf("your member level may not %s in app %q", [action_name, input.app.alias]),
} if {
	level
	not allow
}

reasons contains {
	"ja": sprintf("アプリ「%s」のレコードは%sの間だけ編集できます", [input.app.alias, conditions_ja]),
	"en": sprintf("records of app %q can be edited only while %s", [input.app.alias, conditions]),
} if {
	input.action == "update"
	allow
	not writes_allowed
}

action_name := sprintf("run %q", [input.status_action]) if input.action == "status"

action_name := input.action if input.action != "status"

action_names_ja := {
	"read": "閲覧", "create": "作成", "update": "編集", "delete": "削除",
	"comment.read": "コメントの閲覧", "comment.write": "コメントの投稿",
	"file.read": "ファイルのダウンロード", "file.write": "ファイルのアップロード",
}

action_name_ja := sprintf("「%s」を実行", [input.status_action]) if input.action == "status"

action_name_ja := object.get(action_names_ja, input.action, input.action) if input.action != "status"

conditions := concat(" and ", [sprintf("%s is %s", [field, concat(" or ", values)]) |
	some field, values in level.writable_when
])

conditions_ja := concat("かつ", [sprintf("%sが%s", [field, concat("または", values)]) |
	some field, values in level.writable_when
])
