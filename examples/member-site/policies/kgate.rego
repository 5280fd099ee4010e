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

reasons contains sprintf("app %q is not open to members", [input.app.alias]) if not app

reasons contains app.closed_reason if {
	not level
	app.closed_reason
}

reasons contains sprintf("your member level may not use app %q", [input.app.alias]) if {
	app
	not level
	not app.closed_reason
}

reasons contains sprintf("your member level may not %s in app %q", [action_name, input.app.alias]) if {
	level
	not allow
}

reasons contains sprintf("records of app %q can be edited only while %s", [input.app.alias, conditions]) if {
	input.action == "update"
	allow
	not writes_allowed
}

action_name := sprintf("run %q", [input.status_action]) if input.action == "status"

action_name := input.action if input.action != "status"

conditions := concat(" and ", [sprintf("%s is %s", [field, concat(" or ", values)]) |
	some field, values in level.writable_when
])
