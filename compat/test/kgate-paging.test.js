// Every way the official client reads many records — the getAll* helpers,
// cursors, offset paging — returns, through kgate, each record a member may
// see exactly once, for gold, silver and staff members, and no field they
// may not read. The budget app holds some 1,200 requests (seeded straight
// into the simulator), so that every member's records span more than one
// page of 500; what each may see is world.js's ground truth. The reads of
// a partner level alternate between its two members (one of each
// organization).
//
// The default policies bound a partner's reads to 3,000 (silver) and 6,000
// (gold) records a minute: these reads, some 3,500 records per partner in
// a few seconds, would wait for their rate for many seconds. The demo runs
// with a copy of policies/ whose rates are 100 times higher, so the test
// proves the pages and not the patience; kgate-rate.test.js proves the
// rate.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startDemo, policyCopy, refused } from "./demo.js";
import { BUDGET, levels, populate, populationRecords } from "./world.js";

const policies = policyCopy(
  (data) => {
    for (const app of Object.values(data.apps)) {
      for (const level of Object.values(app.levels)) {
        if (level.rate) level.rate *= 100;
      }
    }
  },
  `package compat_test

import data.kgate

req(level) := {"user": {"sub": "u", "email": "u@acme.example", "org": "acme", "level": level}, "app": {"alias": "budget"}, "action": "read"}

test_partners_read_fast if {
	kgate.rate == 300000 with input as req("silver")
	kgate.rate == 600000 with input as req("gold")
	not kgate.rate with input as req("staff")
}
`,
);

let demo;
let world;

before(async () => {
  demo = await startDemo({ policies: policies.dir });
  world = await populate(demo.upstream(BUDGET), populationRecords(1150));
  for (const m of Object.values(levels).flat()) assert.ok(world.ids(m).length > 500, `${m.sub} sees more than a page of 500`);
});

after(async () => {
  await demo?.stop();
  policies.remove();
});

test("the ground truth is what kintone holds", async () => {
  const held = await demo.upstream(BUDGET).record.getAllRecordsWithCursor({ app: BUDGET, fields: ["$id", "org"], query: "order by $id asc" });
  assert.deepEqual(
    held.map((r) => [r.$id.value, r.org.value]),
    world.records.map((r) => [r.id, r.org]),
  );
});

const byAmountDesc = (a, b) => Number(b.amount) - Number(a.amount) || Number(a.id) - Number(b.id);
const byIdDesc = (a, b) => Number(b.id) - Number(a.id);
const large = (r) => Number(r.amount) >= 500000;

// Each case reads every record of m's one way; want is what m may see.
const cases = [
  {
    name: "getAllRecords with its defaults (seek by $id)",
    read: (c) => c.record.getAllRecords({ app: BUDGET }),
    want: (m) => world.ids(m),
  },
  {
    name: "getAllRecords withCursor: false (seek by $id)",
    read: (c) => c.record.getAllRecords({ app: BUDGET, withCursor: false }),
    want: (m) => world.ids(m),
  },
  {
    name: "getAllRecords with only a condition",
    read: (c) => c.record.getAllRecords({ app: BUDGET, condition: "amount >= 500000" }),
    want: (m) => world.ids(m, { where: large }),
  },
  {
    name: "getAllRecords with orderBy (a cursor)",
    read: (c) => c.record.getAllRecords({ app: BUDGET, orderBy: "amount desc, $id asc" }),
    want: (m) => world.ids(m, { order: byAmountDesc }),
  },
  {
    name: "getAllRecords with orderBy and withCursor: false (offsets)",
    read: (c) => c.record.getAllRecords({ app: BUDGET, orderBy: "$id desc", withCursor: false }),
    want: (m) => world.ids(m, { order: byIdDesc }),
  },
  {
    name: "getAllRecordsWithId with fields",
    read: (c) => c.record.getAllRecordsWithId({ app: BUDGET, fields: ["$id", "org", "title"] }),
    want: (m) => world.ids(m),
  },
  {
    name: "getAllRecordsWithOffset with a condition and orderBy",
    read: (c) => c.record.getAllRecordsWithOffset({ app: BUDGET, condition: "amount < 500000", orderBy: "amount desc, $id asc" }),
    want: (m) => world.ids(m, { where: (r) => !large(r), order: byAmountDesc }),
  },
  {
    name: "getAllRecordsWithCursor",
    read: (c) => c.record.getAllRecordsWithCursor({ app: BUDGET, query: "order by $id desc" }),
    want: (m) => world.ids(m, { order: byIdDesc }),
  },
];

// reader is the member of level who makes a level's nth read.
const reader = (level, n) => levels[level][n % levels[level].length];

for (const level of Object.keys(levels)) {
  cases.forEach(({ name, read, want }, n) => {
    const m = reader(level, n);
    test(`${level} (${m.sub}): ${name} returns every record they may see once`, async () => {
      world.check(m, await read(await demo.client(m.sub)), want(m), name);
    });
  });

  const cursorReader = reader(level, cases.length);
  test(`${level} (${cursorReader.sub}): createCursor of size 500, getRecordsByCursor to the end, deleteCursor`, async () => {
    const m = cursorReader;
    const client = await demo.client(m.sub);
    const want = world.ids(m);
    const { id, totalCount } = await client.record.createCursor({ app: BUDGET, query: "order by $id asc", size: 500 });
    assert.equal(totalCount, String(want.length));
    const got = [];
    for (let next = true, pages = 0; next; pages++) {
      assert.ok(pages <= Math.ceil(want.length / 500), "more pages than the records fill");
      const page = await client.record.getRecordsByCursor({ id });
      assert.ok(page.records.length <= 500, `a page of ${page.records.length}`);
      got.push(...page.records);
      ({ next } = page);
    }
    world.check(m, got, want, "cursor");

    // A cursor deleted after its first page reads no further.
    const second = await client.record.createCursor({ app: BUDGET, fields: ["$id"], size: 10 });
    assert.equal((await client.record.getRecordsByCursor({ id: second.id })).next, true);
    await client.record.deleteCursor({ id: second.id });
    await refused(() => client.record.getRecordsByCursor({ id: second.id }), 400, "GAIA_CU01");
  });

  const offsetReader = reader(level, cases.length + 1);
  test(`${level} (${offsetReader.sub}): getRecords pages of 500 with offset and totalCount`, async () => {
    const m = offsetReader;
    const client = await demo.client(m.sub);
    const want = world.ids(m);
    const got = [];
    for (let offset = 0; ; offset += 500) {
      assert.ok(offset <= want.length, "more pages than the records fill");
      const { records, totalCount } = await client.record.getRecords({
        app: BUDGET,
        query: `order by $id asc limit 500 offset ${offset}`,
        totalCount: true,
      });
      assert.equal(totalCount, String(want.length));
      got.push(...records);
      if (records.length < 500) break;
    }
    world.check(m, got, want, "offset paging");
  });

  test(`${level} (${offsetReader.sub}): getRecords without a limit answers kintone's default page of 100`, async () => {
    const m = offsetReader;
    const { records } = await (await demo.client(m.sub)).record.getRecords({ app: BUDGET, query: "order by $id asc" });
    world.check(m, records, world.ids(m).slice(0, 100), "default page");
  });
}
