// A member's reads are bounded by the policy's rate, in records per minute:
// past it kgate answers 429 in kintone's error shape, code KGATE_RT01, with
// a Retry-After, and the official client reports it as kintone's error.
// The demo runs with a copy of policies/ in which silver reads 1 record a
// minute: the first page spends far more than that (a page may, once), so
// the next read would wait minutes and is refused. Gold keeps its rate.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startDemo, policyCopy, refused } from "./demo.js";
import { BUDGET, gold, silver } from "./world.js";

const policies = policyCopy(
  (data) => {
    data.apps.budget.levels.silver.rate = 1;
  },
  `package compat_test

import data.kgate

req(level) := {"user": {"sub": "u", "email": "u@acme.example", "org": "acme", "level": level}, "app": {"alias": "budget"}, "action": "read"}

test_silver_reads_one_record_a_minute if {
	kgate.rate == 1 with input as req("silver")
}
`,
);

let demo;

before(async () => {
  demo = await startDemo({ policies: policies.dir });
});

after(async () => {
  await demo?.stop();
  policies.remove();
});

test("past the rate a read is refused with 429 KGATE_RT01 and Retry-After, through the official client", async () => {
  const client = await demo.client(silver.sub);
  const first = await client.record.getRecords({ app: BUDGET, query: "limit 500" });
  assert.ok(first.records.length > 0, "bob reads some budget requests");
  const err = await refused(() => client.record.getRecords({ app: BUDGET, query: "limit 500" }), 429, "KGATE_RT01");
  assert.match(err.message, /1 records per minute|毎分 1 件/); // in the member's language
  const retry = Number(err.headers?.["retry-after"]);
  assert.ok(retry > 30, `Retry-After ${err.headers?.["retry-after"]}: beyond the 30 s a read may wait`);

  // Another level's rate is its own.
  const other = await demo.client(gold.sub);
  assert.ok((await other.record.getAllRecords({ app: BUDGET })).length > 0, "gold reads on");
});
