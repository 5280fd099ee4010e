package kgate_test

import data.kgate

budget := {"id": "20", "alias": "budget"}

tickets := {"id": "21", "alias": "tickets"}

gold := {"sub": "u-alice", "level": "gold", "org": "acme", "email": "alice@acme.example"}

silver := {"sub": "u-bob", "level": "silver", "org": "acme", "email": "bob@acme.example"}

draft := {"org": "acme", "visibility": "public", "Status": "Draft"}

test_gold_creates_and_silver_does_not if {
	kgate.allow with input as {"user": gold, "app": budget, "action": "create"}
	not kgate.allow with input as {"user": silver, "app": budget, "action": "create"}
}

test_gold_writes_drafts_only if {
	"amount" in kgate.writable with input as {"user": gold, "app": budget, "action": "update", "record": draft}
	not "amount" in kgate.writable with input as {"user": gold, "app": budget, "action": "update", "record": object.union(draft, {"Status": "Submitted"})}
}

test_approved_amount_is_read_only_for_partners if {
	"approved_amount" in kgate.readable with input as {"user": gold, "app": budget, "action": "read"}
	not "approved_amount" in kgate.writable with input as {"user": gold, "app": budget, "action": "create"}
}

test_internal_records_are_not_included if {
	kgate.include with input as {"user": gold, "app": budget, "action": "update", "record": draft}
	not kgate.include with input as {"user": gold, "app": budget, "action": "update", "record": object.union(draft, {"visibility": "internal"})}
}

test_presets_attribute_partner_writes if {
	kgate.presets == {"org": "acme", "requested_by": "alice@acme.example"} with input as {"user": gold, "app": budget, "action": "create"}
}

test_status_actions_by_level if {
	kgate.allow with input as {"user": gold, "app": budget, "action": "status", "status_action": "Submit"}
	not kgate.allow with input as {"user": gold, "app": budget, "action": "status", "status_action": "Approve"}
}

test_silver_mentions_only_boss if {
	kgate.mentions == {"boss"} with input as {"user": silver, "app": budget, "action": "comment.write"}
}

test_tickets_hide_tracking if {
	not "tracking" in kgate.readable with input as {"user": gold, "app": tickets, "action": "read"}
	kgate.presets.tracking == "x" with input as {"user": object.union(gold, {"attrs": {"tracking": "x"}}), "app": tickets, "action": "create"}
}

test_pinned_tickets_are_not_deleted if {
	pinned := {"org": "acme", "scope": "shared", "title": "Pinned"}
	kgate.include with input as {"user": gold, "app": tickets, "action": "read", "record": pinned}
	not kgate.include with input as {"user": gold, "app": tickets, "action": "delete", "record": pinned}
}
