package testworld

import (
	"encoding/json"

	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintonesim"
)

// The lookup world: deliveries pick their customer by a lookup, which
// copies the customer's organization into the delivery — the field the
// row rule of policy/deliveries.rego reads. A partner who could change the
// lookup key could move a delivery to another organization; kgate must
// refuse that write.
const (
	CustomersApp    = "22"
	DeliveriesApp   = "23"
	CustomersToken  = "tok-customers"
	DeliveriesToken = "tok-deliveries"
)

// LookupApps is the gateway configuration of the lookup world. Reading
// deliveries' lookups needs the customers app's token too.
func LookupApps() []gateway.App {
	return []gateway.App{
		{ID: CustomersApp, Alias: "customers", Tokens: []string{CustomersToken}},
		{ID: DeliveriesApp, Alias: "deliveries", Tokens: []string{DeliveriesToken, CustomersToken}},
	}
}

// LookupSeed has customers of two organizations and one delivery to an
// acme customer.
func LookupSeed() *kintonesim.Seed {
	customers := kintonesim.SeedApp{
		ID: 22, Name: "Customers",
		Tokens: []kintonesim.SeedToken{{Token: CustomersToken, View: true}},
		Fields: fields(
			map[string]any{"type": "SINGLE_LINE_TEXT", "code": "customer", "label": "Customer", "unique": true},
			map[string]any{"type": "SINGLE_LINE_TEXT", "code": "customer_org", "label": "Organization"},
		),
	}
	for _, c := range [][2]string{{"C-ACME", "acme"}, {"C-BLUE", "bluebird"}} {
		customers.Records = append(customers.Records, map[string]json.RawMessage{
			"customer": raw(map[string]any{"value": c[0]}), "customer_org": raw(map[string]any{"value": c[1]}),
		})
	}
	deliveries := kintonesim.SeedApp{
		ID: 23, Name: "Deliveries",
		Tokens: []kintonesim.SeedToken{{Token: DeliveriesToken, View: true, Add: true, Edit: true}},
		Fields: fields(
			map[string]any{"type": "SINGLE_LINE_TEXT", "code": "item", "label": "Item"},
			map[string]any{"type": "SINGLE_LINE_TEXT", "code": "customer", "label": "Customer", "lookup": map[string]any{
				"relatedApp": map[string]any{"app": CustomersApp}, "relatedKeyField": "customer",
				"fieldMappings": []any{map[string]any{"field": "org", "relatedField": "customer_org"}},
			}},
			map[string]any{"type": "SINGLE_LINE_TEXT", "code": "org", "label": "Organization"},
		),
	}
	// Seeded records do not run lookups: the delivery carries its copy.
	deliveries.Records = append(deliveries.Records, map[string]json.RawMessage{
		"item": raw(map[string]any{"value": "Boxes"}), "customer": raw(map[string]any{"value": "C-ACME"}),
		"org": raw(map[string]any{"value": "acme"}),
	})
	return &kintonesim.Seed{TimeZone: "Asia/Tokyo", Language: "en", Apps: []kintonesim.SeedApp{customers, deliveries}}
}
