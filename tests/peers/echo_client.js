// Real-peer check for wsecho: a Node `ws` client echoes text, binary and 1 MiB over ws/wss.
// It offers permessage-deflate (`perMessageDeflate`, compressing messages of 1 KiB and more); the ok line names
// the extensions the server answered (`extensions permessage-deflate; ...` or `extensions none`).
//
// Usage: node echo_client.js URL [--ca CA.pem]   (NODE_PATH must reach the `ws` package)
//
// With --ca the TLS options trust only that CA (`ca` replaces Node's bundled roots), so success proves the chain
// leads to it. Without --ca Node's default trust applies, as for a program that was not told about the CA.
// Prints one `ok ...` line and exits 0, or prints `FAIL <error code>: <message>` and exits 1.
"use strict";

const fs = require("fs");
const WebSocket = require("ws");

const TIMEOUT_MS = 10000;
const CLOSE_CODE = 4001;
const CLOSE_REASON = "node peer done";

function fail(error) {
  console.log(`FAIL ${error.code || error.name}: ${error.message}`);
  process.exit(1);
}

function parseArgs(argv) {
  const [url, flag, ca] = argv;
  if (!url || (flag !== undefined && (flag !== "--ca" || !ca))) {
    console.log("usage: node echo_client.js URL [--ca CA.pem]");
    process.exit(2);
  }
  return { url, ca };
}

/** Resolves with the next message as `{ data, isBinary }`, rejecting on close, error or timeout. */
function nextMessage(ws) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no echo within " + TIMEOUT_MS + " ms")), TIMEOUT_MS);
    ws.once("message", (data, isBinary) => {
      clearTimeout(timer);
      resolve({ data, isBinary });
    });
  });
}

async function echo(ws, message) {
  const reply = nextMessage(ws);
  ws.send(message);
  const { data, isBinary } = await reply;
  const expectBinary = typeof message !== "string";
  const expected = expectBinary ? message : Buffer.from(message, "utf8");
  if (isBinary !== expectBinary || !expected.equals(data)) {
    throw new Error(`echo differs: sent ${expectBinary ? "binary" : "text"} of ${expected.length} bytes, ` +
      `got ${isBinary ? "binary" : "text"} of ${data.length}`);
  }
}

async function main() {
  const { url, ca } = parseArgs(process.argv.slice(2));
  const ws = new WebSocket(url, {
    handshakeTimeout: TIMEOUT_MS,
    perMessageDeflate: { threshold: 1024 },
    ...(ca ? { ca: fs.readFileSync(ca) } : {}),
  });
  let extensions = "none";
  ws.once("upgrade", (response) => { extensions = response.headers["sec-websocket-extensions"] || "none"; });
  const closed = new Promise((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  ws.on("error", fail);
  await echo(ws, "héllo from node ✓");
  await echo(ws, Buffer.from(Array.from({ length: 256 }, (_, i) => i)));
  await echo(ws, Buffer.from(Array.from({ length: 1024 * 1024 }, (_, i) => (i * 7) % 251)));
  const tls = ws._socket.getProtocol ? ws._socket.getProtocol() : "plain";
  ws.close(CLOSE_CODE, CLOSE_REASON);
  // unref: a pending timer must not keep the process alive after the close arrived.
  const returned = await Promise.race([closed, new Promise((r) => setTimeout(() => r(null), TIMEOUT_MS).unref())]);
  if (!returned || returned.code !== CLOSE_CODE || returned.reason !== CLOSE_REASON) {
    throw new Error(`server answered the close ${CLOSE_CODE} "${CLOSE_REASON}" with ${JSON.stringify(returned)}`);
  }
  console.log(`ok node ws: text, binary, 1 MiB echoed; close ${CLOSE_CODE} returned; ${tls}; extensions ${extensions}`);
}

main().catch(fail);
