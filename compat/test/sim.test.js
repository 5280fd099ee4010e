// The official kintone client (@kintone/rest-api-client) against kgate's
// simulator: if the client works here, the simulator speaks kintone's wire
// format the way the client expects it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { KintoneRestAPIClient, KintoneRestAPIError } from "@kintone/rest-api-client";
import { startSim } from "./sim.js";

let sim;
let client;
const APP = 1;
const BULK = 2;

before(async () => {
  sim = await startSim();
  client = new KintoneRestAPIClient({
    baseUrl: sim.baseUrl,
    auth: { apiToken: ["compat-token", "bulk-token"] },
  });
});

after(async () => {
  await sim?.stop();
});

// rejects asserts that fn fails with a KintoneRestAPIError of code and status.
async function rejects(fn, code, status) {
  await assert.rejects(fn, (err) => {
    assert.ok(err instanceof KintoneRestAPIError, `not a KintoneRestAPIError: ${err}`);
    assert.equal(err.code, code);
    assert.equal(err.status, status);
    return true;
  });
}

test("getRecord returns a record with string ids and revisions", async () => {
  const { record } = await client.record.getRecord({ app: APP, id: 1 });
  assert.equal(record.$id.value, "1");
  assert.equal(record.$revision.value, "1");
  assert.equal(record.title.value, "first");
  assert.equal(record.num.type, "NUMBER");
  assert.equal(record.Record_number.value, "COMPAT-1");
});

test("getRecords with totalCount", async () => {
  const res = await client.record.getRecords({ app: APP, query: "num >= 2 order by num asc", fields: ["$id", "num"], totalCount: true });
  assert.equal(res.totalCount, "2");
  assert.deepEqual(res.records.map((r) => r.num.value), ["2", "3"]);
  assert.deepEqual(Object.keys(res.records[0]).sort(), ["$id", "num"]);
});

test("getAllRecords seeks by $id without orderBy and uses a cursor with it", async () => {
  const seek = await client.record.getAllRecords({ app: APP, condition: "num > 0" });
  assert.deepEqual(seek.map((r) => r.$id.value), ["1", "2", "3"]);
  const byCursor = await client.record.getAllRecords({ app: APP, condition: "num > 0", orderBy: "num desc" });
  assert.deepEqual(byCursor.map((r) => r.num.value), ["3", "2", "1"]);
  const cursor = await client.record.getAllRecordsWithCursor({ app: APP, query: "order by $id asc" });
  assert.equal(cursor.length, 3);
});

test("addRecords, updateRecords and deleteRecords", async () => {
  const { ids, revisions } = await client.record.addRecords({
    app: APP,
    records: [{ title: { value: "a" } }, { title: { value: "b" }, num: { value: 7 } }],
  });
  assert.equal(ids.length, 2);
  assert.deepEqual(revisions, ["1", "1"]);
  const upd = await client.record.updateRecords({
    app: APP,
    records: ids.map((id) => ({ id, revision: 1, record: { title: { value: "changed" } } })),
  });
  assert.deepEqual(upd.records.map((r) => r.revision), ["2", "2"]);
  await client.record.deleteRecords({ app: APP, ids, revisions: [2, 2] });
  await rejects(() => client.record.getRecord({ app: APP, id: ids[0] }), "GAIA_RE01", 404);
});

test("addAllRecords of 2,500 records goes through bulkRequest chunks", async () => {
  const records = Array.from({ length: 2500 }, (_, i) => ({ title: { value: `r${i}` }, n: { value: i } }));
  const res = await client.record.addAllRecords({ app: BULK, records });
  assert.equal(res.records.length, 2500);
  const { totalCount } = await client.record.getRecords({ app: BULK, query: "n >= 0 limit 1", totalCount: true });
  assert.equal(totalCount, "2500");
  const all = await client.record.getAllRecords({ app: BULK, condition: "n >= 2000" });
  assert.equal(all.length, 500);
});

test("upsertRecord updates by a unique key and inserts when it matches nothing", async () => {
  const up = await client.record.upsertRecord({ app: APP, updateKey: { field: "key", value: "k2" }, record: { num: { value: 22 } } });
  assert.equal(up.id, "2");
  const ins = await client.record.upsertRecord({ app: APP, updateKey: { field: "key", value: "k9" }, record: { title: { value: "new" } } });
  const { record } = await client.record.getRecord({ app: APP, id: ins.id });
  assert.equal(record.key.value, "k9");
});

test("uploadFile then downloadFile through a record", async () => {
  const { fileKey } = await client.file.uploadFile({ file: { name: "hello.txt", data: "Hello, kintone!" } });
  // An upload key is not a download key. The client reads downloads as an
  // ArrayBuffer, so it cannot decode the error body: only the status shows.
  await assert.rejects(() => client.file.downloadFile({ fileKey }), (err) => err.status === 404);
  const { id } = await client.record.addRecord({ app: APP, record: { title: { value: "with file" }, attachment: { value: [{ fileKey }] } } });
  const { record } = await client.record.getRecord({ app: APP, id });
  const [file] = record.attachment.value;
  assert.equal(file.name, "hello.txt");
  assert.equal(file.size, "15");
  assert.notEqual(file.fileKey, fileKey);
  const data = await client.file.downloadFile({ fileKey: file.fileKey });
  assert.equal(Buffer.from(data).toString(), "Hello, kintone!");
});

test("comments: add, list with order and limit, delete", async () => {
  const first = await client.record.addRecordComment({ app: APP, record: 1, comment: { text: "one" } });
  await client.record.addRecordComment({ app: APP, record: 1, comment: { text: "two", mentions: [{ code: "compat-user", type: "USER" }] } });
  const desc = await client.record.getRecordComments({ app: APP, record: 1, limit: 1 });
  assert.equal(desc.comments.length, 1);
  assert.match(desc.comments[0].text, /Compat User[\s\S]*two/);
  assert.deepEqual(desc.comments[0].mentions, [{ code: "compat-user", type: "USER" }]);
  assert.equal(desc.older, true);
  assert.equal(desc.newer, false);
  const asc = await client.record.getRecordComments({ app: APP, record: 1, order: "asc" });
  assert.equal(asc.comments[0].text, "one");
  await client.record.deleteRecordComment({ app: APP, record: 1, comment: first.id });
  await rejects(() => client.record.deleteRecordComment({ app: APP, record: 1, comment: first.id }), "GAIA_RE02", 400);
});

test("updateRecordStatus moves the record and adds 2 to its revision", async () => {
  const { record } = await client.record.getRecord({ app: APP, id: 3 });
  const rev = Number(record.$revision.value);
  const res = await client.record.updateRecordStatus({ app: APP, id: 3, action: "Finish", revision: rev });
  assert.equal(res.revision, String(rev + 2));
  const after = await client.record.getRecord({ app: APP, id: 3 });
  assert.equal(after.record.Status.value, "Done");
});

test("a query longer than 4,096 characters goes as POST with X-HTTP-Method-Override", async () => {
  const query = `title != "${"x".repeat(4200)}" order by $id asc`;
  // Prove the transport: a fault armed for POST only answers this request.
  await sim.control("POST", "faults", { path: "/k/v1/records.json", method: "POST", status: 200, body: '{"records":[],"totalCount":"-42"}' });
  const probe = await client.record.getRecords({ app: APP, query, totalCount: true });
  assert.equal(probe.totalCount, "-42");
  const res = await client.record.getRecords({ app: APP, query, fields: ["$id"] });
  assert.equal(res.records[0].$id.value, "1");
});

test("KintoneRestAPIError carries kintone's code and status", async () => {
  await rejects(() => client.record.getRecords({ app: APP, query: 'title = "x" oops' }), "CB_VA01", 400);
  await rejects(() => client.record.getRecords({ app: APP, query: 'nope = "x"' }), "GAIA_IQ11", 400);
  await rejects(() => client.record.updateRecord({ app: APP, id: 1, revision: 99, record: {} }), "GAIA_CO02", 409);
  await rejects(() => client.record.getRecord({ app: APP, id: 9999 }), "GAIA_RE01", 404);
  const bad = new KintoneRestAPIClient({ baseUrl: sim.baseUrl, auth: { apiToken: "not-a-token" } });
  await rejects(() => bad.record.getRecord({ app: APP, id: 1 }), "GAIA_IA02", 400);
});

test("a failing bulkRequest reports the failing index and changes nothing", async () => {
  const before = await client.record.getRecords({ app: APP, totalCount: true });
  await assert.rejects(
    () =>
      client.bulkRequest({
        requests: [
          { method: "POST", api: "/k/v1/record.json", payload: { app: APP, record: { title: { value: "ok" } } } },
          { method: "PUT", api: "/k/v1/record.json", payload: { app: APP, id: 1, revision: 99, record: {} } },
        ],
      }),
    (err) => {
      assert.ok(err instanceof KintoneRestAPIError);
      assert.equal(err.bulkRequestIndex, 1);
      assert.equal(err.code, "GAIA_CO02");
      assert.equal(err.status, 409);
      return true;
    },
  );
  const after = await client.record.getRecords({ app: APP, totalCount: true });
  assert.equal(after.totalCount, before.totalCount);
});
