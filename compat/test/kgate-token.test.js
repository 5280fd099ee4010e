// A bearer token that has expired is refused like no token at all: a demo
// whose provider issues access tokens that live three seconds.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { startDemo, refused } from "./demo.js";

const BUDGET = 2;

let demo;

before(async () => {
  demo = await startDemo({ tokenLifetime: "3s" });
});

after(async () => {
  await demo?.stop();
});

test("a bearer token works until it expires, then gets 401 CB_AU01", async () => {
  const client = await demo.client("u-alice");
  const { records } = await client.record.getRecords({ app: BUDGET, fields: ["org"] });
  assert.ok(records.length > 0);
  for (const r of records) assert.equal(r.org.value, "acme");

  // Wait (not measure) until the token's exp is past by a whole second.
  const { exp } = JSON.parse(Buffer.from((await demo.token("u-alice")).split(".")[1], "base64url"));
  while (Date.now() < (exp + 1) * 1000) await sleep(100);
  const err = await refused(() => client.record.getRecords({ app: BUDGET }), 401, "CB_AU01");
  assert.equal(err.errors, undefined, "nothing but the refusal");
});
