// The ground truth for the paging and helper tests: the budget requests a
// test puts into the simulated kintone, and what each member may see of
// them, worked out here from the data and the rule of policies/data.json
// written out below — never by asking kgate — so that a record kgate leaks
// or loses shows as a difference.
import assert from "node:assert/strict";
import { seed } from "./demo.js";

export const BUDGET = 2;

// The demo users (the members app of examples/partner-portal/seed.json and
// the demo provider's users): gold, silver and staff as the first of each
// level; the partners of the second organization share a level's reads
// where one member's reads would pass the level's rate.
export const gold = { sub: "u-alice", email: "alice@acme.example", org: "acme", level: "gold" };
export const silver = { sub: "u-bob", email: "bob@acme.example", org: "acme", level: "silver" };
export const staff = { sub: "u-sam", email: "sam@operator.example", level: "staff" };
export const carol = { sub: "u-carol", email: "carol@bluebird.example", org: "bluebird", level: "gold" };
export const dave = { sub: "u-dave", email: "dave@bluebird.example", org: "bluebird", level: "silver" };
export const levels = { gold: [gold, carol], silver: [silver, dave], staff: [staff] };

// The rule of policies/data.json for the budget app, written out:
// partners (gold, silver) see the records of their own organization,
// staff every record; partners read the listed fields and the system
// fields, never internal_note; silver sees approved_amount as "".
const partnerFields = ["title", "org", "amount", "category", "purpose", "requested_by", "attachment", "items", "approved_amount"];
const systemFields = ["$id", "$revision", "Record_number", "Created_by", "Created_datetime", "Updated_by", "Updated_datetime", "Status", "Assignee", "Categories"];

export function sees(m, record) {
  return m.level === "staff" || record.org === m.org;
}

// readable is the set of field codes m may find in a record; null: all.
export function readable(m) {
  return m.level === "staff" ? null : new Set([...partnerFields, ...systemFields]);
}

// masked is the value m is shown for a field in place of kintone's, or
// undefined where m sees kintone's.
export function masked(m, code) {
  return m.level === "silver" && code === "approved_amount" ? "" : undefined;
}

// The seed's budget requests, numbered as the simulator numbers a seed's
// records: from 1 in the order of the file.
const seeded = seed.apps
  .find((a) => a.id === BUDGET)
  .records.map((r, i) => ({
    id: String(i + 1),
    org: r.org.value,
    title: r.title.value,
    amount: r.amount.value,
    approved_amount: r.approved_amount?.value ?? "",
    internal_note: r.internal_note?.value ?? "",
  }));

// populationRecords are n budget requests for organizations in the ratio
// acme 9 : bluebird 9 : cosmo 2 (cosmo has no member in the demo
// provider), with amounts spread so that conditions and sorts split them.
export function populationRecords(n) {
  const orgs = [...Array(9).fill("acme"), ...Array(9).fill("bluebird"), "cosmo", "cosmo"];
  return Array.from({ length: n }, (_, i) => ({
    title: { value: `population ${i}` },
    org: { value: orgs[i % orgs.length] },
    amount: { value: String(((i * 7919) % 997) * 1000) },
    category: { value: ["marketing", "event", "training", "other"][i % 4] },
    approved_amount: { value: String((i % 50) * 100) },
    internal_note: { value: `internal ${i}` },
  }));
}

// populate adds records to the budget app straight in the simulator (with
// the app's API token, in kintone's batches of 100) and returns the world:
// the seed's records and these, with the ids kintone gave them.
export async function populate(upstream, records) {
  const all = [...seeded];
  for (let i = 0; i < records.length; i += 100) {
    const batch = records.slice(i, i + 100);
    const { ids } = await upstream.record.addRecords({ app: BUDGET, records: batch });
    ids.forEach((id, j) => {
      const r = batch[j];
      all.push({
        id,
        org: r.org.value,
        title: r.title.value,
        amount: r.amount.value,
        approved_amount: r.approved_amount.value,
        internal_note: r.internal_note.value,
      });
    });
  }
  return world(all);
}

// world answers questions about a list of records: which ids member m
// sees, in $id order, and whether a record as kgate showed it to m is
// right.
function world(records) {
  const byId = new Map(records.map((r) => [r.id, r]));
  return {
    records,
    // ids are the ids m may see, filtered by where (a predicate on the
    // truth's records) and sorted by order (a comparator; $id ascending).
    ids(m, { where = () => true, order = byIdAsc } = {}) {
      return records
        .filter((r) => sees(m, r) && where(r))
        .sort(order)
        .map((r) => r.id);
    },
    // check asserts that records, as m got them, hold exactly the ids want
    // (in order, none twice), no field m may not read, and the values the
    // truth holds, masked where m sees a mask.
    check(m, got, want, what) {
      const ids = got.map((r) => r.$id.value);
      const twice = ids.filter((id, i) => ids.indexOf(id) !== i);
      assert.deepEqual(twice, [], `${m.sub} ${what}: ids more than once`);
      const wanted = new Set(want);
      const missing = want.filter((id) => !ids.includes(id));
      const extra = ids.filter((id) => !wanted.has(id));
      assert.deepEqual({ missing: missing.slice(0, 10), extra: extra.slice(0, 10) }, { missing: [], extra: [] }, `${m.sub} ${what}: ${missing.length} missing, ${extra.length} not theirs`);
      assert.deepEqual(ids, want, `${m.sub} ${what}: the order`);
      const fields = readable(m);
      for (const r of got) {
        const truth = byId.get(r.$id.value);
        if (fields) {
          const unreadable = Object.keys(r).filter((code) => !fields.has(code));
          assert.deepEqual(unreadable, [], `${m.sub} ${what}: record ${truth.id} shows fields they may not read`);
        }
        for (const code of ["org", "title", "amount", "approved_amount", "internal_note"]) {
          if (!(code in r)) continue;
          const want = masked(m, code) ?? truth[code];
          assert.equal(r[code].value, want, `${m.sub} ${what}: record ${truth.id} ${code}`);
        }
      }
    },
  };
}

const byIdAsc = (a, b) => Number(a.id) - Number(b.id);
