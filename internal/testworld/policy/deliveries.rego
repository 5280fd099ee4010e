# The lookup world (testworld/lookups.go): partners see and edit the
# deliveries of their own organization, which a lookup copies from the
# customer.
package kgate

allow if {
	input.app.alias == "deliveries"
	input.action in {"read", "create", "update"}
	input.user.level in partner_levels
}

allow if {
	input.app.alias == "customers"
	input.action == "read"
	input.user.level in partner_levels
}

include if {
	input.app.alias == "deliveries"
	input.user.level in partner_levels
	input.record.org == input.user.org
}

include if {
	input.app.alias == "customers"
	input.user.level in partner_levels
}

readable contains f if {
	input.app.alias in {"deliveries", "customers"}
	input.user.level in partner_levels
	some f in {"item", "customer", "org", "customer_org"}
}

writable contains f if {
	input.app.alias == "deliveries"
	input.user.level in partner_levels
	some f in {"item", "customer"}
}
