// The official client's writing helpers — addAllRecords, updateAllRecords,
// deleteAllRecords, bulkRequest, the batch calls, comments, files, process
// status and assignees — through kgate for a gold, a silver and a staff
// member. The demo runs a copy of policies/ in which gold may also delete
// budget requests and staff may set assignees, so that each helper is
// allowed to someone and refused to the others. Every effect is read
// straight from the simulator; every refusal is kintone's error and writes
// nothing.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { KintoneAllRecordsError, KintoneRestAPIError } from "@kintone/rest-api-client";
import { startDemo, policyCopy, refused } from "./demo.js";
import { BUDGET, gold, silver, staff } from "./world.js";

// The test policy: policies/ with two additions, and tests of its own.
const policies = policyCopy(
  (data) => {
    data.apps.budget.levels.gold.actions.push("delete");
    data.apps.budget.levels.staff.writable.push("Assignee");
  },
  `package compat_test

import data.kgate

req(level, action) := {"user": {"sub": "u", "email": "u@acme.example", "org": "acme", "level": level}, "app": {"alias": "budget"}, "action": action}

test_only_gold_deletes if {
	kgate.allow with input as req("gold", "delete")
	not kgate.allow with input as req("silver", "delete")
	not kgate.allow with input as req("staff", "delete")
}

test_staff_sets_assignees if {
	w := kgate.writable with input as object.union(req("staff", "update"), {"record": {"Status": "Submitted"}})
	"Assignee" in w
}
`,
);

let demo;
let kintone; // the simulator's budget app, with the app's API token

before(async () => {
  demo = await startDemo({ policies: policies.dir });
  kintone = demo.upstream(BUDGET).record;
});

after(async () => {
  await demo?.stop();
  policies.remove();
});

const as = (m) => demo.client(m.sub);

// made adds n budget requests of org straight in kintone and returns their ids.
async function made(n, title, org = "acme", fields = {}) {
  const ids = [];
  for (let i = 0; i < n; i += 100) {
    const records = Array.from({ length: Math.min(100, n - i) }, (_, j) => ({
      title: { value: `${title} ${i + j}` },
      org: { value: org },
      amount: { value: 100 },
      requested_by: { value: "alice@acme.example" },
      ...fields,
    }));
    ids.push(...(await kintone.addRecords({ app: BUDGET, records })).ids);
  }
  return ids;
}

// held is what kintone holds of the records titled "<prefix> …", by $id.
async function held(prefix) {
  return kintone.getAllRecordsWithCursor({ app: BUDGET, query: `title like "${prefix}" order by $id asc` });
}

const idsOf = (records) => records.map((r) => r.$id.value);

// allRefused asserts that an *All helper failed on its first request with
// kintone's error of status and code, having processed nothing.
async function allRefused(promise, status, code) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof KintoneAllRecordsError, String(err));
    assert.equal(err.numOfProcessedRecords, 0);
    assert.ok(err.error instanceof KintoneRestAPIError, String(err.error));
    assert.equal(err.error.status, status, err.error.message);
    assert.equal(err.error.code, code, err.error.message);
    return true;
  });
}

test("addAllRecords: gold adds 250 records in one bulk request, attributed; silver and staff may not add and write nothing", async () => {
  const records = (prefix) => Array.from({ length: 250 }, (_, i) => ({ title: { value: `${prefix} ${i}` }, amount: { value: i } }));
  for (const m of [silver, staff]) {
    await allRefused((await as(m)).record.addAllRecords({ app: BUDGET, records: records(`h add ${m.level}`) }), 403, "CB_NO02");
    assert.deepEqual(await held(`h add ${m.level}`), [], m.level);
  }
  const { records: added } = await (await as(gold)).record.addAllRecords({ app: BUDGET, records: records("h add gold") });
  assert.equal(added.length, 250);
  const kept = await held("h add gold");
  assert.deepEqual(idsOf(kept), added.map((r) => r.id));
  for (const r of kept) {
    assert.equal(r.org.value, "acme");
    assert.equal(r.requested_by.value, gold.email);
    assert.equal(r.title.value, `h add gold ${r.amount.value}`);
  }
});

test("updateAllRecords: gold updates 250 Draft records, staff their approved amounts; silver may not; a refused part writes nothing", async () => {
  const ids = await made(250, "h upd");
  const set = (field, value) => ids.map((id) => ({ id, record: { [field]: { value } } }));

  await allRefused((await as(silver)).record.updateAllRecords({ app: BUDGET, records: set("amount", 7) }), 403, "CB_NO02");
  // gold may not set approved_amount, staff may not set amount.
  await allRefused((await as(gold)).record.updateAllRecords({ app: BUDGET, records: set("approved_amount", 7) }), 403, "CB_NO02");
  await allRefused((await as(staff)).record.updateAllRecords({ app: BUDGET, records: set("amount", 7) }), 403, "CB_NO02");
  for (const r of await held("h upd")) assert.deepEqual([r.amount.value, r.approved_amount.value, r.$revision.value], ["100", "", "1"]);

  const byGold = await (await as(gold)).record.updateAllRecords({ app: BUDGET, records: set("amount", 2000) });
  assert.deepEqual(byGold.records, ids.map((id) => ({ id, revision: "2" })));
  const byStaff = await (await as(staff)).record.updateAllRecords({ app: BUDGET, records: set("approved_amount", 1500) });
  assert.equal(byStaff.records.length, 250);
  for (const r of await held("h upd")) assert.deepEqual([r.amount.value, r.approved_amount.value, r.$revision.value], ["2000", "1500", "3"]);
});

test("deleteAllRecords (revisions null): gold deletes 250 of their organization's; silver, staff and another organization's record are refused whole", async () => {
  const ids = await made(250, "h del");
  const [foreign] = await made(1, "h del foreign", "bluebird");
  const records = ids.map((id) => ({ id }));

  for (const m of [silver, staff]) {
    await assert.rejects((await as(m)).record.deleteAllRecords({ app: BUDGET, records }), (err) => {
      assert.ok(err instanceof KintoneAllRecordsError, String(err));
      assert.equal(err.error.status, 403);
      assert.equal(err.error.code, "CB_NO02");
      return true;
    });
  }
  // One record gold may not see, in the last chunk: not a record goes.
  await assert.rejects((await as(gold)).record.deleteAllRecords({ app: BUDGET, records: [...records, { id: foreign }] }), (err) => {
    assert.ok(err instanceof KintoneAllRecordsError, String(err));
    assert.equal(err.error.status, 404);
    assert.equal(err.error.code, "GAIA_RE01");
    return true;
  });
  assert.equal((await held("h del")).length, 251);

  await (await as(gold)).record.deleteAllRecords({ app: BUDGET, records });
  assert.deepEqual(idsOf(await held("h del")), [foreign]);
});

test("addRecords, updateRecords, deleteRecords: each level does what its policy allows and nothing else", async () => {
  const three = (title) => [1, 2, 3].map((i) => ({ title: { value: `${title} ${i}` }, amount: { value: i } }));
  const client = { gold: await as(gold), silver: await as(silver), staff: await as(staff) };

  for (const m of [silver, staff]) {
    await refused(() => client[m.level].record.addRecords({ app: BUDGET, records: three(`h batch ${m.level}`) }), 403, "CB_NO02");
    assert.deepEqual(await held(`h batch ${m.level}`), []);
  }
  const { ids } = await client.gold.record.addRecords({ app: BUDGET, records: three("h batch gold") });
  assert.deepEqual(idsOf(await held("h batch gold")), ids);

  const update = (field, value) => ids.map((id) => ({ id, record: { [field]: { value } } }));
  await refused(() => client.silver.record.updateRecords({ app: BUDGET, records: update("amount", 9) }), 403, "CB_NO02");
  await client.gold.record.updateRecords({ app: BUDGET, records: update("amount", 9) });
  await client.staff.record.updateRecords({ app: BUDGET, records: update("approved_amount", 8) });
  for (const r of await held("h batch gold")) assert.deepEqual([r.amount.value, r.approved_amount.value], ["9", "8"]);

  for (const m of [silver, staff]) {
    const err = await refused(() => client[m.level].record.deleteRecords({ app: BUDGET, ids }), 403, "CB_NO02");
    assert.match(err.errors.policy.messages[0], /may not delete|削除できません/); // in the member's language
  }
  // A stale revision refuses the whole batch; null revisions are none.
  await refused(() => client.gold.record.deleteRecords({ app: BUDGET, ids, revisions: [1, null, null] }), 409, "GAIA_CO02");
  assert.equal((await held("h batch gold")).length, 3);
  await client.gold.record.deleteRecords({ app: BUDGET, ids, revisions: [3, null, null] });
  assert.deepEqual(await held("h batch gold"), []);
});

test("bulkRequest: each level's allowed mix goes through together; one forbidden part refuses it all", async () => {
  const [id] = await made(1, "h bulk base");
  const add = (title) => ({ method: "POST", api: "/k/v1/record.json", payload: { app: BUDGET, record: { title: { value: title }, amount: { value: 1 } } } });
  const put = (field, value) => ({ method: "PUT", api: "/k/v1/record.json", payload: { app: BUDGET, id, record: { [field]: { value } } } });
  const del = { method: "DELETE", api: "/k/v1/records.json", payload: { app: BUDGET, ids: [id] } };

  const cases = [
    { m: silver, requests: [put("amount", 5)], index: 0, status: 403, code: "CB_NO02" },
    { m: staff, requests: [put("approved_amount", 5), add("h bulk staff")], index: 1, status: 403, code: "CB_NO02" },
    { m: gold, requests: [add("h bulk gold"), put("amount", 5), put("approved_amount", 5)], index: 2, status: 403, code: "CB_NO02" },
    // A record that does not exist in a delete: kintone's not-found.
    { m: gold, requests: [put("amount", 5), { ...del, payload: { ...del.payload, ids: [id, "999999"] } }], index: 1, status: 404, code: "GAIA_RE01" },
  ];
  for (const { m, requests, index, status, code } of cases) {
    const err = await refused(async () => (await as(m)).bulkRequest({ requests }), status, code);
    assert.equal(err.bulkRequestIndex, index, m.level);
  }
  assert.deepEqual(await held("h bulk gold"), []);
  assert.deepEqual(await held("h bulk staff"), []);
  let [kept] = await held("h bulk base");
  assert.equal(kept.$revision.value, "1");

  await (await as(staff)).bulkRequest({ requests: [put("approved_amount", 5)] });
  const ok = await (await as(gold)).bulkRequest({ requests: [add("h bulk gold"), put("amount", 6)] });
  assert.equal(ok.results.length, 2);
  [kept] = await held("h bulk base");
  assert.deepEqual([kept.amount.value, kept.approved_amount.value], ["6", "5"]);
  assert.equal((await held("h bulk gold")).length, 1);
  await (await as(gold)).bulkRequest({ requests: [del] });
  assert.deepEqual(await held("h bulk base"), []);
});

test("comments: every level adds, reads and deletes their own; nobody deletes another's", async () => {
  const [id] = await made(1, "h comments");
  const posted = {};
  for (const m of [gold, silver, staff]) {
    const client = await as(m);
    posted[m.level] = (await client.record.addRecordComment({ app: BUDGET, record: id, comment: { text: `from ${m.level}` } })).id;
    const { comments } = await client.record.getRecordComments({ app: BUDGET, record: id, order: "asc" });
    assert.ok(comments.some((c) => c.id === posted[m.level] && c.text.endsWith(`from ${m.level}`)), m.level);
  }
  const stored = async () => (await kintone.getRecordComments({ app: BUDGET, record: id, order: "asc" })).comments.map((c) => c.id);
  assert.deepEqual(await stored(), [posted.gold, posted.silver, posted.staff]);

  // Another's comment: refused, even to staff; then each deletes their own.
  await refused(async () => (await as(staff)).record.deleteRecordComment({ app: BUDGET, record: id, comment: posted.gold }), 400, "GAIA_RE03");
  await refused(async () => (await as(gold)).record.deleteRecordComment({ app: BUDGET, record: id, comment: posted.silver }), 400, "GAIA_RE03");
  assert.equal((await stored()).length, 3);
  for (const m of [gold, silver, staff]) {
    await (await as(m)).record.deleteRecordComment({ app: BUDGET, record: id, comment: posted[m.level] });
  }
  assert.deepEqual(await stored(), []);
});

test("files: gold uploads and attaches; everyone who may read downloads with their own key; silver and staff may not upload", async () => {
  const content = "h file: 見積書\n";
  const g = await as(gold);
  const { fileKey } = await g.file.uploadFile({ file: { name: "h.txt", data: content } });
  const { id } = await g.record.addRecord({ app: BUDGET, record: { title: { value: "h file" }, amount: { value: 1 }, attachment: { value: [{ fileKey }] } } });
  const [kept] = await held("h file");
  assert.equal(kept.attachment.value[0].name, "h.txt");

  for (const m of [gold, silver, staff]) {
    const client = await as(m);
    const { record } = await client.record.getRecord({ app: BUDGET, id });
    const key = record.attachment.value[0].fileKey;
    assert.notEqual(key, kept.attachment.value[0].fileKey, `${m.level} got kintone's own key`);
    assert.equal(Buffer.from(await client.file.downloadFile({ fileKey: key })).toString(), content, m.level);
  }
  for (const m of [silver, staff]) {
    await refused(async () => (await as(m)).file.uploadFile({ file: { name: "x.txt", data: "x" } }), 403, "CB_NO02");
  }
});

test("updateRecordStatus and updateRecordsStatus: gold submits, staff approves, silver moves nothing", async () => {
  const ids = await made(3, "h status");
  const status = async () => (await held("h status")).map((r) => r.Status.value);
  const submit = ids.map((id) => ({ id, action: "Submit" }));

  await refused(async () => (await as(silver)).record.updateRecordsStatus({ app: BUDGET, records: submit }), 403, "CB_NO02");
  await refused(async () => (await as(staff)).record.updateRecordsStatus({ app: BUDGET, records: submit }), 403, "CB_NO02");
  assert.deepEqual(await status(), ["Draft", "Draft", "Draft"]);

  await (await as(gold)).record.updateRecordsStatus({ app: BUDGET, records: submit.slice(0, 2) });
  await (await as(gold)).record.updateRecordStatus({ app: BUDGET, id: ids[2], action: "Submit" });
  assert.deepEqual(await status(), ["Submitted", "Submitted", "Submitted"]);

  const approve = ids.map((id) => ({ id, action: "Approve" }));
  await refused(async () => (await as(gold)).record.updateRecordsStatus({ app: BUDGET, records: approve }), 403, "CB_NO02");
  await refused(async () => (await as(silver)).record.updateRecordStatus({ app: BUDGET, ...approve[0] }), 403, "CB_NO02");
  await (await as(staff)).record.updateRecordsStatus({ app: BUDGET, records: approve.slice(1) });
  assert.deepEqual(await status(), ["Submitted", "Approved", "Approved"]);
});

test("updateRecordAssignees: staff sets them; gold and silver may not", async () => {
  const [id] = await made(1, "h assignees");
  for (const m of [gold, silver]) {
    const err = await refused(async () => (await as(m)).record.updateRecordAssignees({ app: BUDGET, id, assignees: ["admin"] }), 403, "CB_NO02");
    if (m === gold) assert.deepEqual(Object.keys(err.errors), ["assignees"]);
  }
  let [kept] = await held("h assignees");
  assert.deepEqual(kept.Assignee.value, []);
  const { revision } = await (await as(staff)).record.updateRecordAssignees({ app: BUDGET, id, assignees: ["admin"] });
  assert.equal(revision, "2");
  [kept] = await held("h assignees");
  assert.deepEqual(kept.Assignee.value.map((e) => e.code), ["admin"]);
});
