// The official kintone client (@kintone/rest-api-client) writing through
// kgate with bearer tokens from the demo provider (`kgate demo`): adds,
// updates, upserts, deletes, comments, files, process actions and bulk
// requests obey policies/ for the demo world (examples/partner-portal), and every
// refusal is kintone's error and writes nothing. Each test makes its own
// records; what kintone really holds is read straight from the simulator.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { KintoneAllRecordsError, KintoneRestAPIError } from "@kintone/rest-api-client";
import { startDemo, seed, refused } from "./demo.js";

const BUDGET = 2;

// Demo users (the members app of the demo world).
const alice = { sub: "u-alice", email: "alice@acme.example", org: "acme", level: "gold" };
const bob = { sub: "u-bob", email: "bob@acme.example", org: "acme", level: "silver" };
const carol = { sub: "u-carol", email: "carol@bluebird.example", org: "bluebird", level: "gold" };
const sam = { sub: "u-sam", email: "sam@operator.example", level: "staff" };

let demo;
let kintone; // the simulator itself, with the budget app's API token

before(async () => {
  demo = await startDemo();
  kintone = demo.upstream(BUDGET).record;
});

after(async () => {
  await demo?.stop();
});

const as = (m, options) => demo.client(m.sub, options);

// draft creates a budget request as alice (gold, acme) and returns its id.
async function draft(title, fields = {}) {
  const { id } = await (await as(alice)).record.addRecord({
    app: BUDGET,
    record: { title: { value: title }, amount: { value: 1000 }, category: { value: "other" }, ...fields },
  });
  return id;
}

// stored is the record as kintone holds it.
const stored = async (id) => (await kintone.getRecord({ app: BUDGET, id })).record;

// titled lists the ids of the records kintone holds with one of titles.
async function titled(...titles) {
  const query = `title in (${titles.map((t) => JSON.stringify(t)).join(", ")})`;
  return (await kintone.getRecords({ app: BUDGET, query, fields: ["$id"] })).records.map((r) => r.$id.value);
}

// memberName is the member's name in the members app, which kgate shows.
const memberName = (m) => seed.apps.find((a) => a.code === "members").records.find((r) => r.email.value === m.email).name.value;

test("addRecord: presets set org and requested_by, whatever the client sends; the record reads back", async () => {
  const client = await as(alice);
  const { id, revision } = await client.record.addRecord({
    app: BUDGET,
    record: {
      title: { value: "w presets" },
      amount: { value: 120000 },
      org: { value: "bluebird" },
      requested_by: { value: "mallory@example.invalid" },
    },
  });
  assert.equal(revision, "1");
  const { record } = await client.record.getRecord({ app: BUDGET, id });
  assert.equal(record.title.value, "w presets");
  assert.equal(record.amount.value, "120000");
  assert.equal(record.org.value, "acme");
  assert.equal(record.requested_by.value, alice.email);
  assert.equal(record.Status.value, "Draft");
  const kept = await stored(id);
  assert.equal(kept.org.value, "acme");
  assert.equal(kept.requested_by.value, alice.email);

  // The organization's silver member reads it; another organization's gold member does not.
  assert.equal((await (await as(bob)).record.getRecord({ app: BUDGET, id })).record.title.value, "w presets");
  await refused(async () => (await as(carol)).record.getRecord({ app: BUDGET, id }), 404, "GAIA_RE01");
});

test("addRecord is refused to silver, and for a field outside writable; nothing is written", async () => {
  await refused(
    async () => (await as(bob)).record.addRecord({ app: BUDGET, record: { title: { value: "w silver add" }, amount: { value: 1 } } }),
    403,
    "CB_NO02",
  );
  const err = await refused(
    async () =>
      (await as(alice)).record.addRecord({
        app: BUDGET,
        record: { title: { value: "w approved add" }, amount: { value: 1 }, approved_amount: { value: 1 } },
      }),
    403,
    "CB_NO02",
  );
  assert.deepEqual(Object.keys(err.errors), ["record.approved_amount.value"]);
  // A field the member may not even read is unknown to them.
  await refused(
    async () =>
      (await as(alice)).record.addRecord({
        app: BUDGET,
        record: { title: { value: "w hidden add" }, amount: { value: 1 }, internal_note: { value: "x" } },
      }),
    400,
    "CB_VA01",
  );
  assert.deepEqual(await titled("w silver add", "w approved add", "w hidden add"), []);
});

test("updateRecord changes writable fields of a Draft request only", async () => {
  const id = await draft("w update");
  const client = await as(alice);
  const { revision } = await client.record.updateRecord({ app: BUDGET, id, record: { title: { value: "w updated" }, amount: { value: 2000 } } });
  assert.equal(revision, "2");
  let kept = await stored(id);
  assert.equal(kept.title.value, "w updated");
  assert.equal(kept.amount.value, "2000");

  // A field outside writable: 403 naming it.
  const err = await refused(() => client.record.updateRecord({ app: BUDGET, id, record: { approved_amount: { value: 1 } } }), 403, "CB_NO02");
  assert.deepEqual(Object.keys(err.errors), ["record.approved_amount.value"]);
  // A stale revision: kintone's conflict.
  await refused(() => client.record.updateRecord({ app: BUDGET, id, revision: 1, record: { title: { value: "w stale" } } }), 409, "GAIA_CO02");
  // Silver may not update at all.
  await refused(async () => (await as(bob)).record.updateRecord({ app: BUDGET, id, record: { title: { value: "w bob" } } }), 403, "CB_NO02");
  // Another organization's record is not found.
  await refused(async () => (await as(carol)).record.updateRecord({ app: BUDGET, id, record: { title: { value: "w carol" } } }), 404, "GAIA_RE01");

  // Once submitted, it is no longer editable (writable_when Status Draft).
  await client.record.updateRecordStatus({ app: BUDGET, id, action: "Submit" });
  const late = await refused(() => client.record.updateRecord({ app: BUDGET, id, record: { title: { value: "w too late" } } }), 403, "CB_NO02");
  assert.deepEqual(Object.keys(late.errors), ["record.title.value"]);
  kept = await stored(id);
  assert.equal(kept.title.value, "w updated");
  assert.equal(kept.approved_amount.value, "");
  assert.equal(kept.Status.value, "Submitted");
});

test("upsertRecord adds by a new key and updates by the record number", async () => {
  const client = await as(alice);
  const added = await client.record.upsertRecord({
    app: BUDGET,
    updateKey: { field: "title", value: "w upsert" },
    record: { amount: { value: 3000 } },
  });
  let kept = await stored(added.id);
  assert.equal(kept.title.value, "w upsert");
  assert.equal(kept.org.value, "acme");
  assert.equal(kept.requested_by.value, alice.email);

  const updated = await client.record.upsertRecord({
    app: BUDGET,
    updateKey: { field: "Record_number", value: kept.Record_number.value },
    record: { amount: { value: 4000 } },
  });
  assert.deepEqual(updated, { id: added.id, revision: "2" });
  kept = await stored(added.id);
  assert.equal(kept.amount.value, "4000");

  // For carol, alice's record number names no record, as a number nobody has.
  const other = await as(carol);
  for (const value of [kept.Record_number.value, "budget-99999"]) {
    await refused(
      () => other.record.updateRecord({ app: BUDGET, updateKey: { field: "Record_number", value }, record: { amount: { value: 1 } } }),
      404,
      "GAIA_RE20",
    );
  }
  assert.equal((await stored(added.id)).amount.value, "4000");
});

test("deleteRecords is refused: no member level may delete", async () => {
  const id = await draft("w delete");
  for (const m of [alice, bob, sam]) {
    const err = await refused(async () => (await as(m)).record.deleteRecords({ app: BUDGET, ids: [id] }), 403, "CB_NO02");
    assert.match(err.errors.policy.messages[0], /may not delete|削除できません/); // in the member's language
  }
  assert.deepEqual(await titled("w delete"), [id]);
});

test("addRecordComment stores kgate's 【Name / Org】 line; getRecordComments reads it back", async () => {
  const id = await draft("w comments");
  const client = await as(bob);
  const { id: commentId } = await client.record.addRecordComment({ app: BUDGET, record: id, comment: { text: "Looks good." } });
  const want = `【${memberName(bob)} / acme】\nLooks good.`;

  const { comments } = await client.record.getRecordComments({ app: BUDGET, record: id });
  assert.deepEqual(comments.map((c) => [c.id, c.text]), [[commentId, want]]);
  const upstream = await demo.upstream(BUDGET).record.getRecordComments({ app: BUDGET, record: id });
  assert.equal(upstream.comments[0].text, want, "what kintone stores");

  // An attribution typed by the member cannot pass for another person's.
  await client.record.addRecordComment({ app: BUDGET, record: id, comment: { text: "ok\n\n【Sam Yamada / operator】\napproved" } });
  const latest = (await client.record.getRecordComments({ app: BUDGET, record: id, order: "desc", limit: 1 })).comments[0];
  assert.equal(latest.text, `【${memberName(bob)} / acme】\nok\n\n〔Sam Yamada / operator〕\napproved`);

  // Another organization's member neither reads nor comments.
  const other = await as(carol);
  await refused(() => other.record.getRecordComments({ app: BUDGET, record: id }), 404, "GAIA_RE01");
  await refused(() => other.record.addRecordComment({ app: BUDGET, record: id, comment: { text: "hi" } }), 404, "GAIA_RE01");
  assert.equal((await demo.upstream(BUDGET).record.getRecordComments({ app: BUDGET, record: id })).comments.length, 2);
});

test("uploadFile, attach to a record, downloadFile: file keys are kgate's tokens", async () => {
  const client = await as(alice);
  const content = "quote: 12,000 JPY\n見積: 12,000円\n";
  const { fileKey: upload } = await client.file.uploadFile({ file: { name: "quote.txt", data: content } });
  const id = await draft("w file", { attachment: { value: [{ fileKey: upload }] } });

  const kintoneKey = (await stored(id)).attachment.value[0].fileKey;
  const { record } = await client.record.getRecord({ app: BUDGET, id });
  const [file] = record.attachment.value;
  assert.equal(file.name, "quote.txt");
  assert.notEqual(file.fileKey, kintoneKey, "kintone's own file key reached the member");
  assert.notEqual(file.fileKey, upload);
  assert.equal(Buffer.from(await client.file.downloadFile({ fileKey: file.fileKey })).toString(), content);

  // bob (silver, file.read) downloads it with the token he is given, not with alice's.
  const reader = await as(bob);
  const bobs = (await reader.record.getRecord({ app: BUDGET, id })).record.attachment.value[0].fileKey;
  assert.equal(Buffer.from(await reader.file.downloadFile({ fileKey: bobs })).toString(), content);
  await refused(() => reader.file.downloadFile({ fileKey: file.fileKey }), 404);
  await refused(() => reader.file.downloadFile({ fileKey: kintoneKey }), 404);

  // Silver may not upload; an upload token is alice's alone.
  await refused(() => reader.file.uploadFile({ file: { name: "b.txt", data: "b" } }), 403, "CB_NO02");
  const { fileKey: second } = await client.file.uploadFile({ file: { name: "second.txt", data: "2" } });
  await refused(
    async () =>
      (await as(carol)).record.addRecord({
        app: BUDGET,
        record: { title: { value: "w stolen upload" }, amount: { value: 1 }, attachment: { value: [{ fileKey: second }] } },
      }),
    400,
    "CB_VA01",
  ).then((err) => assert.deepEqual(Object.keys(err.errors), ["record.attachment.value"]));
  assert.deepEqual(await titled("w stolen upload"), []);
});

test("updateRecordStatus: gold submits, silver may not, approval is staff's", async () => {
  const id = await draft("w status");
  await refused(async () => (await as(bob)).record.updateRecordStatus({ app: BUDGET, id, action: "Submit" }), 403, "CB_NO02");
  assert.equal((await stored(id)).Status.value, "Draft");

  const client = await as(alice);
  await client.record.updateRecordStatus({ app: BUDGET, id, action: "Submit" });
  assert.equal((await client.record.getRecord({ app: BUDGET, id })).record.Status.value, "Submitted");
  await refused(() => client.record.updateRecordStatus({ app: BUDGET, id, action: "Approve" }), 403, "CB_NO02");
  assert.equal((await stored(id)).Status.value, "Submitted");

  await (await as(sam)).record.updateRecordStatus({ app: BUDGET, id, action: "Approve" });
  assert.equal((await stored(id)).Status.value, "Approved");
  // carol cannot move another organization's request.
  await refused(async () => (await as(carol)).record.updateRecordStatus({ app: BUDGET, id, action: "Withdraw" }), 404, "GAIA_RE01");
});

test("a bulkRequest with one forbidden sub-request is refused whole; nothing is written", async () => {
  const id = await draft("w bulk base");
  const client = await as(alice);
  const err = await refused(
    () =>
      client.bulkRequest({
        requests: [
          { method: "POST", api: "/k/v1/record.json", payload: { app: BUDGET, record: { title: { value: "w bulk new" }, amount: { value: 1 } } } },
          { method: "PUT", api: "/k/v1/record.json", payload: { app: BUDGET, id, record: { title: { value: "w bulk renamed" } } } },
          { method: "PUT", api: "/k/v1/record.json", payload: { app: BUDGET, id, record: { approved_amount: { value: 1 } } } },
        ],
      }),
    403,
    "CB_NO02",
  );
  assert.equal(err.bulkRequestIndex, 2);
  assert.deepEqual(await titled("w bulk new", "w bulk renamed"), []);
  const kept = await stored(id);
  assert.equal(kept.title.value, "w bulk base");
  assert.equal(kept.$revision.value, "1");

  // The same requests without the forbidden one go through together.
  const ok = await client.bulkRequest({
    requests: [
      { method: "POST", api: "/k/v1/record.json", payload: { app: BUDGET, record: { title: { value: "w bulk new" }, amount: { value: 1 } } } },
      { method: "PUT", api: "/k/v1/record.json", payload: { app: BUDGET, id, record: { title: { value: "w bulk renamed" } } } },
    ],
  });
  assert.equal(ok.results.length, 2);
  assert.equal((await titled("w bulk new", "w bulk renamed")).length, 2);
});

test("addAllRecords with one forbidden record writes none of them", async () => {
  const client = await as(alice);
  const records = [
    { title: { value: "w all 1" }, amount: { value: 1 } },
    { title: { value: "w all 2" }, amount: { value: 2 }, approved_amount: { value: 2 } },
    { title: { value: "w all 3" }, amount: { value: 3 } },
  ];
  await assert.rejects(client.record.addAllRecords({ app: BUDGET, records }), (err) => {
    assert.ok(err instanceof KintoneAllRecordsError, String(err));
    assert.equal(err.numOfProcessedRecords, 0);
    assert.ok(err.error instanceof KintoneRestAPIError);
    assert.equal(err.error.status, 403);
    assert.equal(err.error.code, "CB_NO02");
    assert.equal(err.errorIndex, 1);
    return true;
  });
  assert.deepEqual(await titled("w all 1", "w all 2", "w all 3"), []);

  const { records: added } = await client.record.addAllRecords({ app: BUDGET, records: [records[0], records[2]] });
  assert.equal(added.length, 2);
  for (const { id } of added) assert.equal((await stored(id)).requested_by.value, alice.email);
});
