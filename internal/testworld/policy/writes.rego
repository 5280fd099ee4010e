# The write world (testworld/writes.go): budget requests and tickets.
# Gold partners write their organization's records, silver partners only
# read and comment, staff do everything. Every rule names its app, so the
# read world's apps are not touched.
package kgate

write_apps := {"budget", "tickets"}

budget if input.app.alias == "budget"

tickets if input.app.alias == "tickets"

writer if input.user.level in {"gold", "staff"}

allow if {
	input.app.alias in write_apps
	input.action in {"read", "comment.read", "comment.write", "file.read"}
	member
}

allow if {
	input.app.alias in write_apps
	input.action in {"create", "update", "delete", "file.write"}
	writer
}

allow if {
	budget
	input.action == "status"
	input.status_action in status_actions[input.user.level]
}

status_actions := {"gold": {"Submit", "Withdraw"}, "staff": {"Submit", "Withdraw", "Approve", "Reject"}}

reasons contains "Only gold members may change records here." if {
	input.app.alias in write_apps
	input.action in {"create", "update", "delete", "file.write"}
	member
	not writer
}

reasons contains sprintf("You may not run %q.", [input.status_action]) if {
	budget
	input.action == "status"
	not input.status_action in object.get(status_actions, input.user.level, set())
}

# --- rows -----------------------------------------------------------------

# Partners see and write their organization's public budget requests…
include if {
	budget
	input.user.level in partner_levels
	input.record.org == input.user.org
	input.record.visibility != "internal"
}

# …and their organization's shared tickets; pinned tickets stay, whoever
# may see them.
include if {
	tickets
	input.user.level in partner_levels
	input.record.org == input.user.org
	input.record.scope == "shared"
	input.action != "delete"
}

include if {
	tickets
	input.user.level in partner_levels
	input.record.org == input.user.org
	input.record.scope == "shared"
	input.action == "delete"
	input.record.title != "Pinned"
}

# --- fields ---------------------------------------------------------------

budget_partner_fields := {
	"title", "amount", "category", "purpose", "ref", "visibility",
	"due", "starts", "tags", "attachment", "items",
}

readable contains f if {
	budget
	input.user.level in partner_levels
	some f in budget_partner_fields | {"Record_number", "org", "requested_by", "Status", "Assignee", "approved_amount", "Created_datetime"}
}

readable contains f if {
	tickets
	input.user.level in partner_levels
	some f in {"title", "org", "note", "scope", "screenshot"}
}

# Gold partners write a budget request when they create it, and later only
# while it is a draft.
writable contains f if {
	budget
	input.user.level == "gold"
	input.action == "create"
	some f in budget_partner_fields
}

writable contains f if {
	budget
	input.user.level == "gold"
	input.action == "update"
	input.record.Status == "Draft"
	some f in budget_partner_fields
}

writable contains f if {
	tickets
	input.user.level == "gold"
	input.action in {"create", "update"}
	some f in {"title", "note", "scope", "screenshot"}
}

writable contains "*" if {
	input.app.alias in write_apps
	input.user.level == "staff"
}

# Attribution: partners' records carry their organization and e-mail.
presets.org := input.user.org if {
	input.app.alias in write_apps
	input.action in {"create", "update"}
	input.user.level in partner_levels
}

presets.requested_by := input.user.email if {
	budget
	input.action in {"create", "update"}
	input.user.level in partner_levels
}

presets.tracking := input.user.attrs.tracking if {
	tickets
	input.action == "create"
}

# Mentions in comments: gold partners anyone, silver partners only boss.
mentions contains "*" if {
	budget
	input.action == "comment.write"
	input.user.level in {"gold", "staff"}
}

mentions contains "boss" if {
	budget
	input.action == "comment.write"
	input.user.level == "silver"
}
