package kgate_test

import data.kgate

test_partner_sees_own_org_deliveries if {
	kgate.include with input as {"user": {"level": "silver", "org": "acme"}, "app": {"alias": "deliveries"}, "action": "read", "record": {"org": "acme"}}
}

test_partner_does_not_see_other_org_deliveries if {
	not kgate.include with input as {"user": {"level": "silver", "org": "acme"}, "app": {"alias": "deliveries"}, "action": "read", "record": {"org": "bluebird"}}
}
