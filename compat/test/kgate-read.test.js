// The official kintone client (@kintone/rest-api-client) reading through
// kgate with bearer tokens from the demo provider (`kgate demo`): every
// member sees what policies/ allows in the demo world
// (examples/partner-portal/seed.json) and nothing else. What kgate should show is worked out here from the
// simulated kintone itself, read with the app's own API token.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startDemo, seed, refused } from "./demo.js";

const MEMBERS = 1;
const BUDGET = 2;
const DOCUMENTS = 3;
const SPACE = 7;

// Demo users (the members app of the demo world): two organizations, two
// partner levels, staff.
const alice = { sub: "u-alice", org: "acme", level: "gold" };
const bob = { sub: "u-bob", org: "acme", level: "silver" };
const carol = { sub: "u-carol", org: "bluebird", level: "gold" };
const sam = { sub: "u-sam", level: "staff" };
const partners = [alice, bob, carol];

let demo;
let budget; // every budget request as kintone holds it, by $id
let documents; // every shared document as kintone holds it

before(async () => {
  demo = await startDemo();
  budget = (await demo.upstream(BUDGET).record.getRecords({ app: BUDGET, query: "order by $id asc limit 500" })).records;
  documents = (await demo.upstream(DOCUMENTS).record.getRecords({ app: DOCUMENTS, query: "order by $id asc limit 500" })).records;
});

after(async () => {
  await demo?.stop();
});

const ids = (records) => records.map((r) => r.$id.value);

// withoutFileKeys drops the keys of FILE values: kgate hands out its own
// tokens in their place, compared on their own below.
function withoutFileKeys(record) {
  const out = {};
  for (const [code, field] of Object.entries(record)) {
    out[code] = field.type === "FILE" ? { ...field, value: field.value.map(({ fileKey, ...file }) => file) } : field;
  }
  return out;
}

// asSeenBy is a budget request as policies/ lets partner m see it: never the
// internal note, the approved amount masked (an empty number) for silver.
function asSeenBy(m, record) {
  const { internal_note, ...out } = record;
  if (m.level === "silver") out.approved_amount = { ...record.approved_amount, value: "" };
  return withoutFileKeys(out);
}

const budgetOf = (m) => budget.filter((r) => r.org.value === m.org);

// sameRefusal compares two errors as a client sees them, apart from the
// record id and the request id in the message.
function sameRefusal(a, b, idA, idB) {
  const plain = (err, id) => err.message.replace(/\([^()]*\)$/, "").replace(new RegExp(`\\b${id}\\b`, "g"), "N");
  assert.equal(a.status, b.status);
  assert.equal(a.code, b.code);
  assert.deepEqual(a.errors, b.errors);
  assert.equal(plain(a, idA), plain(b, idB));
}

test("each partner lists only their organization's budget requests, without hidden fields, masked for silver", async () => {
  for (const m of partners) {
    const client = await demo.client(m.sub);
    const want = budgetOf(m).map((r) => asSeenBy(m, r));
    assert.ok(want.length > 0, `the demo world has budget requests of ${m.org}`);
    const res = await client.record.getRecords({ app: BUDGET, query: "order by $id asc", totalCount: true });
    assert.deepEqual(res.records.map(withoutFileKeys), want, m.sub);
    assert.equal(res.totalCount, String(want.length), `${m.sub}: totalCount counts only their records`);
    for (const r of res.records) assert.ok(!("internal_note" in r), `${m.sub} sees internal_note`);
  }
});

test("totalCount of a condition counts only the member's records that match", async () => {
  const res = await (await demo.client(carol.sub)).record.getRecords({
    app: BUDGET,
    query: "amount >= 200000 order by $id asc",
    fields: ["$id", "amount"],
    totalCount: true,
  });
  const want = budgetOf(carol).filter((r) => Number(r.amount.value) >= 200000);
  assert.deepEqual(ids(res.records), ids(want));
  assert.equal(res.totalCount, String(want.length));
  const other = await (await demo.client(carol.sub)).record.getRecords({ app: BUDGET, query: 'org in ("acme")', totalCount: true });
  assert.deepEqual(other.records, []);
  assert.equal(other.totalCount, "0");
});

test("getRecord shows a member's own record; another organization's answers exactly as a missing one", async () => {
  const client = await demo.client(carol.sub);
  const own = budgetOf(carol)[0];
  const { record } = await client.record.getRecord({ app: BUDGET, id: own.$id.value });
  assert.deepEqual(withoutFileKeys(record), asSeenBy(carol, own));

  const foreign = budgetOf(alice)[0].$id.value;
  const missing = Math.max(...ids(budget).map(Number)) + 1000;
  const hidden = await refused(() => client.record.getRecord({ app: BUDGET, id: foreign }), 404, "GAIA_RE01");
  const absent = await refused(() => client.record.getRecord({ app: BUDGET, id: missing }), 404, "GAIA_RE01");
  sameRefusal(hidden, absent, foreign, missing);
});

test("a condition or sort on a field the member may not read is refused as if the field did not exist", async () => {
  const client = await demo.client(bob.sub);
  for (const query of ['internal_note like "budget"', "order by internal_note asc"]) {
    const hidden = await refused(() => client.record.getRecords({ app: BUDGET, query }), 400, "GAIA_IQ11");
    const absent = await refused(() => client.record.getRecords({ app: BUDGET, query: query.replace("internal_note", "no_such_field") }), 400, "GAIA_IQ11");
    sameRefusal(hidden, absent, "internal_note", "no_such_field");
  }
});

test("file keys in records are kgate's tokens: they download for the member, for nobody else", async () => {
  const withFile = budgetOf(bob).find((r) => r.attachment.value.length > 0);
  const kintoneKey = withFile.attachment.value[0].fileKey;
  const content = seed.files.find((f) => f.fileKey === kintoneKey).text;

  const client = await demo.client(bob.sub);
  const { record } = await client.record.getRecord({ app: BUDGET, id: withFile.$id.value });
  const token = record.attachment.value[0].fileKey;
  assert.notEqual(token, kintoneKey, "kintone's own file key reached the member");
  assert.equal(Buffer.from(await client.file.downloadFile({ fileKey: token })).toString(), content);

  // The same token replayed by others — even alice, who may read the record — and kintone's own key.
  for (const other of [alice, carol]) {
    await refused(async () => (await demo.client(other.sub)).file.downloadFile({ fileKey: token }), 404);
  }
  await refused(() => client.file.downloadFile({ fileKey: kintoneKey }), 404);
});

test("the official getAllRecords works for every level, seeking by $id and with a cursor", async () => {
  // Staff may read pages of 500, the size the client always asks for.
  const staff = await demo.client(sam.sub);
  const big = budget.filter((r) => Number(r.amount.value) >= 100000);
  const seek = await staff.record.getAllRecords({ app: BUDGET, condition: "amount >= 100000" });
  assert.deepEqual(ids(seek), ids(big), "seek by $id");
  const byAmount = [...big].sort((a, b) => Number(b.amount.value) - Number(a.amount.value) || Number(a.$id.value) - Number(b.$id.value));
  const cursor = await staff.record.getAllRecords({ app: BUDGET, condition: "amount >= 100000", orderBy: "amount desc, $id asc" });
  assert.deepEqual(ids(cursor), ids(byAmount), "with a cursor");
  assert.ok("internal_note" in cursor[0], "staff read every field");

  // Partners' pages are kintone's too (the client asks for 500); their
  // policy bounds how fast they read, not how much a page holds.
  for (const m of [alice, bob]) {
    const client = await demo.client(m.sub);
    const mine = budgetOf(m);
    assert.deepEqual(ids(await client.record.getAllRecords({ app: BUDGET })), ids(mine), "a partner seeks by $id in pages of 500");
    const sorted = [...mine].sort((a, b) => Number(b.amount.value) - Number(a.amount.value) || Number(a.$id.value) - Number(b.$id.value));
    const all = await client.record.getAllRecords({ app: BUDGET, orderBy: "amount desc, $id asc" });
    assert.deepEqual(ids(all), ids(sorted), "a partner reads every record of theirs through a cursor");
  }
});

test("partners page through their records by $id and with a cursor in pages their level allows", async () => {
  for (const m of [bob, carol]) {
    const client = await demo.client(m.sub);
    const want = ids(budgetOf(m));
    const pages = Math.ceil(want.length / 3) + 1; // no more than this, or something repeats
    const seen = [];
    for (let last = 0, n = 0; n < pages; n++) {
      const { records } = await client.record.getRecords({ app: BUDGET, query: `$id > ${last} order by $id asc limit 3`, fields: ["$id"] });
      seen.push(...ids(records));
      if (records.length < 3) break;
      last = records.at(-1).$id.value;
    }
    assert.deepEqual(seen, want, `${m.sub}: seek by $id`);

    const { id, totalCount } = await client.record.createCursor({ app: BUDGET, fields: ["$id", "org"], query: "order by $id desc", size: 3 });
    assert.equal(totalCount, String(want.length));
    const paged = [];
    for (let next = true, n = 0; next && n < pages; n++) {
      const page = await client.record.getRecordsByCursor({ id });
      assert.ok(page.records.length <= 3, "a cursor page larger than its size");
      for (const r of page.records) assert.equal(r.org.value, m.org);
      paged.push(...ids(page.records));
      ({ next } = page);
    }
    assert.deepEqual(paged, [...want].reverse(), `${m.sub}: cursor`);
  }
});

test("getFormFields lists only the fields the member may read", async () => {
  const { properties: all } = await demo.upstream(BUDGET).app.getFormFields({ app: BUDGET });
  const want = Object.keys(all).filter((code) => code !== "internal_note").sort();
  for (const m of partners) {
    const { properties } = await (await demo.client(m.sub)).app.getFormFields({ app: BUDGET });
    assert.deepEqual(Object.keys(properties).sort(), want, m.sub);
    for (const [code, p] of Object.entries(properties)) {
      assert.equal(p.type, all[code].type, code);
      assert.equal(p.label, all[code].label, code);
    }
  }
  const staff = await (await demo.client(sam.sub)).app.getFormFields({ app: BUDGET });
  assert.ok("internal_note" in staff.properties);
});

test("getViews shows only views of fields the member may read, and never the preview", async () => {
  const { views: all } = await demo.upstream(BUDGET).app.getViews({ app: BUDGET });
  const review = "Internal review / 社内確認"; // filtered on internal_note
  assert.match(all[review].filterCond, /internal_note/);
  for (const m of partners) {
    const client = await demo.client(m.sub);
    const readable = Object.keys((await client.app.getFormFields({ app: BUDGET })).properties);
    const { views } = await client.app.getViews({ app: BUDGET, lang: "en" });
    assert.deepEqual(Object.keys(views).sort(), Object.keys(all).filter((name) => name !== review).sort(), m.sub);
    assert.ok(!JSON.stringify(views).includes("internal_note"), `${m.sub}: ${JSON.stringify(views)}`);
    for (const [name, v] of Object.entries(views)) {
      assert.equal(v.type, all[name].type, name);
      if (v.type === "LIST") assert.deepEqual(v.fields, all[name].fields.filter((c) => readable.includes(c)), name);
    }
    await refused(() => client.app.getViews({ app: BUDGET, preview: true }), 403, "CB_NO02");
  }
  const staff = await (await demo.client(sam.sub)).app.getViews({ app: BUDGET });
  assert.deepEqual(Object.keys(staff.views).sort(), Object.keys(all).sort());
});

test("getApps lists the apps the member may read and getApp shows one", async () => {
  const listed = async (m) => (await (await demo.client(m.sub)).app.getApps({})).apps.map((a) => a.appId);
  for (const m of partners) assert.deepEqual(await listed(m), ["2", "3", "4", "5"], m.sub);
  assert.deepEqual(await listed(sam), ["1", "2", "3", "4", "5"]);

  const app = await (await demo.client(bob.sub)).app.getApp({ id: BUDGET });
  const upstream = await demo.upstream(BUDGET).app.getApp({ id: BUDGET });
  assert.equal(app.appId, "2");
  assert.equal(app.name, upstream.name);
});

test("the members app is refused to partners (403 CB_NO02) and open to staff", async () => {
  for (const m of [alice, bob]) {
    const client = await demo.client(m.sub);
    const err = await refused(() => client.record.getRecords({ app: MEMBERS }), 403, "CB_NO02");
    assert.match(err.errors.policy.messages[0], /staff only|運営スタッフのみ/); // in the member's language
    await refused(() => client.record.getRecord({ app: MEMBERS, id: 1 }), 403, "CB_NO02");
    await refused(() => client.app.getFormFields({ app: MEMBERS }), 403, "CB_NO02");
    await refused(() => client.app.getApp({ id: MEMBERS }), 403, "CB_NO02");
  }
  const staff = await (await demo.client(sam.sub)).record.getRecords({ app: MEMBERS, totalCount: true });
  const all = await demo.upstream(MEMBERS).record.getRecords({ app: MEMBERS, totalCount: true });
  assert.equal(staff.totalCount, all.totalCount);
});

test("shared documents in guest space 7 work through guestSpaceId, by organization and audience", async () => {
  const audiences = { silver: ["silver"], gold: ["silver", "gold"] };
  for (const m of partners) {
    const client = await demo.client(m.sub, { guestSpaceId: SPACE });
    const want = documents.filter((d) => [m.org, "all"].includes(d.org.value) && audiences[m.level].includes(d.audience.value));
    const res = await client.record.getRecords({ app: DOCUMENTS, query: "order by $id asc", totalCount: true });
    assert.deepEqual(ids(res.records), ids(want), m.sub);
    assert.equal(res.totalCount, String(want.length));
    const app = await client.app.getApp({ id: DOCUMENTS });
    assert.equal(app.spaceId, String(SPACE));
  }
  // Without the guest space, kintone's answer for a guest app on the normal path.
  await refused(async () => (await demo.client(bob.sub)).record.getRecords({ app: DOCUMENTS }), 400, "GAIA_IL23");

  // The gold price list: alice downloads it; bob (silver) does not see it.
  const priceList = documents.find((d) => d.audience.value === "gold" && d.file.value.length > 0);
  const content = seed.files.find((f) => f.fileKey === priceList.file.value[0].fileKey).text;
  const client = await demo.client(alice.sub, { guestSpaceId: SPACE });
  const { record } = await client.record.getRecord({ app: DOCUMENTS, id: priceList.$id.value });
  assert.equal(Buffer.from(await client.file.downloadFile({ fileKey: record.file.value[0].fileKey })).toString(), content);
  await refused(async () => (await demo.client(bob.sub, { guestSpaceId: SPACE })).record.getRecord({ app: DOCUMENTS, id: priceList.$id.value }), 404, "GAIA_RE01");
});

test("a member the members app does not know, or marks inactive, is refused (403 CB_NO02)", async () => {
  for (const [sub, why] of [["u-frank", /not a registered member/], ["u-erin", /inactive/]]) {
    const err = await refused(async () => (await demo.client(sub)).record.getRecords({ app: BUDGET }), 403, "CB_NO02");
    assert.match(err.errors.member.messages[0], why);
  }
});

test("a malformed or forged bearer token gets 401 CB_AU01", async () => {
  const good = await demo.token(alice.sub);
  const [header, payload, signature] = good.split(".");
  const claims = JSON.parse(Buffer.from(payload, "base64url"));
  const forged = [
    "not-a-jwt",
    // the signature of another payload
    `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: "u-sam" })).toString("base64url")}.${signature}`,
    // a broken signature
    `${header}.${payload}.${signature.slice(0, -4)}${signature.slice(-4) === "AAAA" ? "BBBB" : "AAAA"}`,
    // no signature at all
    `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${payload}.`,
  ];
  for (const oAuthToken of forged) {
    const client = await demo.client(alice.sub, { auth: { oAuthToken } });
    await refused(() => client.record.getRecords({ app: BUDGET }), 401, "CB_AU01");
  }
});
