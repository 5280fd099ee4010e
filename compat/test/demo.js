// Starts `kgate demo` for the tests that run the official client through
// kgate: the demo world's simulator, the demo OpenID Provider and Caddy with
// kgate, all on loopback ports chosen at run time. KGATE_BIN names a built
// kgate binary, as for sim.js.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KintoneRestAPIClient, KintoneRestAPIError } from "@kintone/rest-api-client";
import { compatDir, kgateBinary } from "./sim.js";

const repo = join(compatDir, "..");

// seed is the demo world's data as the simulator starts with it: the apps,
// their API tokens and their records.
export const seed = JSON.parse(readFileSync(join(repo, "examples", "partner-portal", "seed.json"), "utf8"));

// The demo provider's machine client (printed by `kgate demo`): with
// client_credentials and a scope "user:<sub>" it gets a bearer token for
// that demo user.
const machine = { id: "kgate-demo-cli", secret: "demo-cli-secret" };

// freePort asks the system for a loopback port that is free right now.
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// startDemo runs `kgate demo` and resolves, once it serves, to
//   { url, issuer, kintone, token(sub), client(sub, options), upstream(appId), stop }.
// tokenLifetime (e.g. "2s") shortens the provider's access tokens;
// policies names the policy directory (default: policies/ of this checkout).
// A port taken between choosing and binding it is retried with another.
export async function startDemo({ tokenLifetime, policies = join(repo, "policies") } = {}) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(await freePort(), tokenLifetime, policies);
    } catch (err) {
      if (attempt >= 3 || !/address already in use/.test(err.message)) throw err;
    }
  }
}

function launch(port, tokenLifetime, policies) {
  const args = ["demo", "--listen", `localhost:${port}`, "--json", "--policies", policies];
  if (tokenLifetime) args.push("--token-lifetime", tokenLifetime);
  const child = spawn(kgateBinary(), args, { cwd: repo, stdio: ["ignore", "pipe", "pipe"] });
  // A test run that ends early must not leave a demo behind.
  const orphan = () => child.kill("SIGKILL");
  process.once("exit", orphan);
  child.once("exit", () => process.removeListener("exit", orphan));
  let out = "";
  let errs = "";
  const seen = { race: false };
  child.stderr.on("data", (chunk) => {
    errs = (errs + chunk).slice(-16384);
    // A kgate built with -race reports data races on stderr and runs on.
    if (errs.includes("WARNING: DATA RACE")) seen.race = true;
  });
  return new Promise((resolve, reject) => {
    const exited = (code) => fail(`exited with ${code}`);
    const fail = (why) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new Error(`kgate demo ${why}\nstdout: ${out}\nstderr: ${errs}`));
    };
    const timer = setTimeout(() => fail("did not start in 60s"), 60000);
    child.on("exit", exited);
    const ready = (chunk) => {
      out += chunk;
      // The first whole line that is JSON: --json's announcement.
      const line = out.split("\n").slice(0, -1).find((l) => l.startsWith("{"));
      if (!line) return;
      clearTimeout(timer);
      child.removeListener("exit", exited);
      child.stdout.removeListener("data", ready);
      child.stdout.resume(); // the rest ("stopping…") is not needed
      resolve(handle(child, JSON.parse(line), () => (seen.race ? errs : "")));
    };
    child.stdout.on("data", ready);
  });
}

// handle is a running demo; raceReport returns the demo's stderr once the
// race detector has spoken in it, else "".
function handle(child, { url, issuer, kintone }, raceReport) {
  const tokens = new Map();
  return {
    url,
    issuer,
    kintone,
    // token resolves to a bearer token for the demo user sub (one per sub).
    token(sub) {
      if (!tokens.has(sub)) tokens.set(sub, fetchToken(issuer, sub));
      return tokens.get(sub);
    },
    // client is the official client through kgate as the demo user sub.
    async client(sub, options = {}) {
      return new KintoneRestAPIClient({ baseUrl: url, auth: { oAuthToken: await this.token(sub) }, ...options });
    },
    // upstream is the official client straight to the simulated kintone
    // with the app's own API token: what kintone really holds.
    upstream(appId) {
      const app = seed.apps.find((a) => a.id === appId);
      return new KintoneRestAPIClient({
        baseUrl: kintone,
        auth: { apiToken: app.tokens[0].token },
        guestSpaceId: app.spaceId,
      });
    },
    // stop ends the demo; it fails if the race detector spoke meanwhile.
    async stop() {
      await new Promise((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.on("exit", done);
        child.kill("SIGTERM");
      });
      const report = raceReport();
      if (report) throw new Error(`kgate demo reported a data race:\n${report}`);
    },
  };
}

// policyCopy writes a policy directory for one test file: policies/'s
// kgate.rego and its data.json changed by edit (which changes the parsed
// object in place), with tests (a Rego file's text) of its own in place of
// kgate_test.rego, whose expectations are those of the unchanged data. It
// returns the directory and a function that removes it.
export function policyCopy(edit, tests) {
  const dir = mkdtempSync(join(tmpdir(), "kgate-compat-policies-"));
  copyFileSync(join(repo, "policies", "kgate.rego"), join(dir, "kgate.rego"));
  const data = JSON.parse(readFileSync(join(repo, "policies", "data.json"), "utf8"));
  edit(data);
  writeFileSync(join(dir, "data.json"), JSON.stringify(data, null, 2));
  writeFileSync(join(dir, "compat_test.rego"), tests);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

// refused asserts that fn fails with kintone's error of status and code,
// as the official client reports it (KintoneRestAPIError). It returns the
// error for further checks.
export async function refused(fn, status, code) {
  let caught;
  await assert.rejects(fn, (err) => {
    assert.ok(err instanceof KintoneRestAPIError, `not a KintoneRestAPIError: ${err}`);
    assert.equal(err.status, status, err.message);
    if (code !== undefined) assert.equal(err.code, code, err.message);
    caught = err;
    return true;
  });
  return caught;
}

// fetchToken gets an access token for the demo user sub with the
// client_credentials grant.
export async function fetchToken(issuer, sub) {
  const res = await fetch(issuer + "oauth/token", {
    method: "POST",
    headers: {
      Authorization: "Basic " + Buffer.from(`${machine.id}:${machine.secret}`).toString("base64"),
      "Content-Type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ grant_type: "client_credentials", scope: `openid user:${sub}` }),
  });
  const body = await res.json();
  if (!res.ok || !body.access_token) throw new Error(`token for ${sub}: ${res.status} ${JSON.stringify(body)}`);
  return body.access_token;
}
