# The test world's policy: two partner organizations (acme, bluebird; cosmo
# has no members), two partner levels (silver, gold) and staff.
package kgate

partner_levels := {"silver", "gold"}

allow if {
	input.app.alias in {"orders", "notices"}
	input.action == "read"
	input.user.level in (partner_levels | {"staff"})
}

allow if {
	input.app.alias == "orders"
	input.action == "comment.read"
	input.user.level in (partner_levels | {"staff"})
}

allow if {
	input.app.alias == "orders"
	input.action == "file.read"
	input.user.level in {"gold", "staff"}
}

member if input.user.level in (partner_levels | {"staff"})

downloader if input.user.level in {"gold", "staff"}

reasons contains "Your membership level does not open this app." if {
	input.app.alias in {"orders", "notices"}
	not member
}

reasons contains "Only gold members may download files." if {
	input.action == "file.read"
	not downloader
}

# --- rows -----------------------------------------------------------------

include if input.user.level == "staff"

# Partners see their own organization's public records…
include if {
	input.app.alias == "orders"
	input.user.level in partner_levels
	input.record.org == input.user.org
	input.record.visibility != "internal"
}

# …and gold partners also the records shared with every partner.
include if {
	input.app.alias == "orders"
	input.user.level == "gold"
	input.record.shared == "yes"
	input.record.visibility != "internal"
}

# Notices: everything under a threshold of priority for silver.
include if {
	input.app.alias == "notices"
	input.user.level == "gold"
}

include if {
	input.app.alias == "notices"
	input.user.level == "silver"
	input.record.rank <= 3
}

# --- fields ---------------------------------------------------------------

readable contains "*" if input.user.level == "staff"

readable contains f if {
	input.user.level in partner_levels
	some f in {"レコード番号", "title", "org", "amount", "priority", "due", "memo", "attachment", "shared", "items", "rank", "body", "posted"}
}

readable contains "cost" if input.user.level == "gold"

masks.amount := "" if input.user.level == "silver"

# high enough that no test waits for it; tests of the rate lower it
rate := 600000 if input.user.level == "silver"
