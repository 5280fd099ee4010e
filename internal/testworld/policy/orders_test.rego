package kgate_test

import data.kgate

acme_gold := {"sub": "u-alice", "level": "gold", "org": "acme", "email": "alice@acme.example"}

acme_silver := {"sub": "u-bob", "level": "silver", "org": "acme", "email": "bob@acme.example"}

orders := {"id": "10", "alias": "orders"}

test_partner_reads_own_org if {
	kgate.include with input as {"user": acme_silver, "app": orders, "action": "read", "record": {"org": "acme", "visibility": "public", "shared": "no"}}
}

test_partner_never_reads_internal if {
	not kgate.include with input as {"user": acme_gold, "app": orders, "action": "read", "record": {"org": "acme", "visibility": "internal", "shared": "yes"}}
}

test_gold_reads_shared_of_other_org if {
	kgate.include with input as {"user": acme_gold, "app": orders, "action": "read", "record": {"org": "bluebird", "visibility": "public", "shared": "yes"}}
}

test_silver_does_not_read_shared_of_other_org if {
	not kgate.include with input as {"user": acme_silver, "app": orders, "action": "read", "record": {"org": "bluebird", "visibility": "public", "shared": "yes"}}
}

test_no_level_no_access if {
	not kgate.allow with input as {"user": {"sub": "x", "org": "acme"}, "app": orders, "action": "read"}
}

test_silver_masks_amount if {
	kgate.masks.amount == "" with input as {"user": acme_silver, "app": orders, "action": "read"}
}
