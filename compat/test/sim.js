// Starts `kgate sim` for the compat tests. KGATE_BIN names a built kgate
// binary; without it the binary is built once with `go build` into a
// temporary directory.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const compatDir = join(here, "..");
const repo = join(compatDir, "..");

let built;
// kgateBinary returns KGATE_BIN or a kgate built once for this process.
export function kgateBinary() {
  if (process.env.KGATE_BIN) return process.env.KGATE_BIN;
  if (!built) {
    built = join(mkdtempSync(join(tmpdir(), "kgate-compat-")), "kgate");
    execFileSync("go", ["build", "-o", built, "./cmd/kgate"], { cwd: repo, stdio: "inherit" });
  }
  return built;
}

// startSim runs the simulator on a free loopback port and resolves to
// { baseUrl, control, stop } once it serves. baseUrl uses localhost: the
// official client accepts plain HTTP only there.
export function startSim(seed = join(compatDir, "seed.json")) {
  const bin = kgateBinary();
  const child = spawn(bin, ["sim", "--data", seed, "--listen", "127.0.0.1:0", "--control"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error("kgate sim did not start: " + out)), 30000);
    child.on("exit", (code) => reject(new Error(`kgate sim exited with ${code}: ${out}`)));
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const m = out.match(/kintone on (http:\/\/localhost:\d+)/);
      if (m) {
        clearTimeout(timer);
        const baseUrl = m[1];
        resolve({
          baseUrl,
          // control sends a request to the simulator's /_sim/ endpoints.
          control: (method, path, body) =>
            fetch(baseUrl + "/_sim/" + path, {
              method,
              headers: { "Content-Type": "application/json" },
              body: body === undefined ? undefined : JSON.stringify(body),
            }).then((r) => r.json()),
          stop: () =>
            new Promise((done) => {
              child.removeAllListeners("exit");
              child.on("exit", done);
              child.kill("SIGTERM");
            }),
        });
      }
    });
  });
}
