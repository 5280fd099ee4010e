# The member site's policy (examples/member-site/seed.json; its README says
# who sees what).
#
# Every app is configured in data.json under data.apps.<alias>, with one
# entry per member level; this file holds the kinds of rule only.
#
# Per app:      level_field (materials: the level a record requires),
#               org_field (requests: the partner company it belongs to),
#               closed_reason, levels
# Per level:    actions, status_actions, scope ("all" | "level" | "org"),
#               sees (with scope "level": the required levels shown),
#               readable ("*" = all), writable, writable_when,
#               presets (per action: field -> user attribute), mentions,
#               rate (records per minute), export (records one CSV
#               export may hold)
#
# include is compiled into a kintone query with input.record unknown, so
# it compares one input.record field with known values only.
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

# The operator's staff see every record.
include if level.scope == "all"

# Materials: a member sees what their level or a lower one requires
# (data.json lists the levels each level sees: gold all three, silver
# silver and bronze, bronze bronze).
include if {
	level.scope == "level"
	input.record[app.level_field] in level.sees
}

# Requests: a member sees their own company's. A member without an
# organization has no input.user.org, so this body never holds for them.
include if {
	level.scope == "org"
	input.record[app.org_field] == input.user.org
}

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

# A request can be changed only while it is a draft.
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

# Whom a comment may mention; nobody unless the level lists codes.
mentions contains code if {
	input.action == "comment.write"
	some code in level.mentions
}

rate := level.rate

export := level.export

# --- reasons ---------------------------------------------------------------

# Every reason is {"ja", "en"}: kgate shows the member's language and logs
# the English.

reasons contains {
	"ja": sprintf("アプリ「%s」は会員に公開されていません", [input.app.alias]),
	"en": sprintf("app %q is not open to members", [input.app.alias]),
} if not app

reasons contains app.closed_reason if {
	not level
	app.closed_reason
}

reasons contains {
	"ja": sprintf("あなたの会員レベルではアプリ「%s」を使えません", [input.app.alias]),
	"en": sprintf("your member level may not use app %q", [input.app.alias]),
} if {
	app
	not level
	not app.closed_reason
}

reasons contains {
	"ja": sprintf("あなたの会員レベルではアプリ「%s」で%sはできません", [input.app.alias, action_name.ja]),
	"en": sprintf("your member level may not %s in app %q", [action_name.en, input.app.alias]),
} if {
	level
	not allow
}

reasons contains {
	"ja": sprintf("アプリ「%s」のレコードを編集できるのは%sのときだけです", [input.app.alias, conditions("が", "または", "、")]),
	"en": sprintf("records of app %q can be edited only while %s", [input.app.alias, conditions(" is ", " or ", " and ")]),
} if {
	input.action == "update"
	allow
	not writes_allowed
}

# What the member tried, in both languages.
action_name := {
	"ja": sprintf("「%s」の実行", [input.status_action]),
	"en": sprintf("run %q", [input.status_action]),
} if input.action == "status"

action_name := {
	"ja": object.get(actions_ja, input.action, input.action),
	"en": input.action,
} if input.action != "status"

actions_ja := {
	"read": "閲覧", "create": "作成", "update": "編集", "delete": "削除",
	"comment.read": "コメントの閲覧", "comment.write": "コメントの投稿",
	"file.read": "ファイルのダウンロード", "file.write": "ファイルのアップロード",
}

# The states an edit needs, e.g. "Status is Draft".
conditions(is, alternative, separator) := concat(separator, [concat(is, [field, concat(alternative, values)]) |
	some field, values in level.writable_when
])
