// Real-peer check for wsecho's WebSockets over HTTP/2 (RFC 8441): Node's built-in `http2` client waits for the
// server's SETTINGS_ENABLE_CONNECT_PROTOCOL, then opens one extended CONNECT stream (`:protocol: websocket`) per
// case on the same connection; the WebSocket frames on each stream are written and read by the `ws` package's own
// Sender and Receiver (masked, as a client must).
//
// Usage: node h2_websocket.js https://localhost:PORT CA.pem CASES.json   (NODE_PATH must reach the `ws` package)
//
// CASES.json is a list of `{ "path", "protocol", "headers": {...}, "send": [STEP...] }` (`protocol` defaults to
// `websocket`, `path` to `/`), where a STEP is one of
// `{ "text": "..." }`, `{ "binary_hex": "..." }`, `{ "raw_hex": "..." }` (bytes written as they are) and
// `{ "close": [CODE, "reason"] }` and `{ "await_close": true }` (send nothing more; wait for the server to close).
// Each step is sent after the previous one's answer arrived (a close or raw step
// waits for nothing); after the last one the client closes with 1000 unless a step closed already. Prints one JSON document: the server's settings and, per case, the response status and
// headers, the messages received (binary as hex) and the close frame received; exits 0, or 1 on any failure.
"use strict";

const fs = require("fs");
const http2 = require("http2");
const { Receiver, Sender } = require("ws");

const TIMEOUT_MS = 20000;

function fail(message) {
  console.log(JSON.stringify({ error: message }));
  process.exit(1);
}

/** Runs one case on its own stream; resolves with what the server answered. */
function runCase(session, authority, testCase) {
  return new Promise((resolve) => {
    const result = { status: null, headers: {}, messages: [], close: null, reset: null };
    const stream = session.request({
      ":method": "CONNECT",
      ":protocol": testCase.protocol || "websocket",
      ":scheme": "https",
      ":authority": authority,
      ":path": testCase.path || "/",
      "sec-websocket-version": "13",
      ...(testCase.headers || {}),
    });
    const sender = new Sender(stream);
    const receiver = new Receiver({ isServer: false });
    const steps = (testCase.send || []).slice();
    let closeSent = false;
    const sendNext = () => {
      const step = steps.shift();
      if (!step) {
        if (!closeSent) {
          closeSent = true;
          sender.close(1000, "done", true);
        }
        return;
      }
      if (step.text !== undefined) {
        sender.send(step.text, { binary: false, fin: true, mask: true });
      } else if (step.binary_hex !== undefined) {
        sender.send(Buffer.from(step.binary_hex, "hex"), { binary: true, fin: true, mask: true });
      } else if (step.raw_hex !== undefined) {
        stream.write(Buffer.from(step.raw_hex, "hex"));
        sendNext();
      } else if (step.await_close) {
        closeSent = true;
      } else if (step.close !== undefined) {
        closeSent = true;
        sender.close(step.close[0], step.close[1], true);
      }
    };
    receiver.on("message", (data, isBinary) => {
      result.messages.push(isBinary ? { binary_hex: data.toString("hex") } : { text: data.toString() });
      sendNext();
    });
    receiver.on("conclude", (code, reason) => {
      result.close = { code, reason: reason.toString() };
      // A client answers a server's close with its own, then ends its side.
      if (!closeSent) sender.close(code === 1005 ? undefined : code, "", true);
      stream.end();
    });
    receiver.on("error", (error) => {
      result.receive_error = error.message;
      stream.close();
    });
    stream.on("response", (headers) => {
      result.status = headers[":status"];
      for (const [name, value] of Object.entries(headers)) if (!name.startsWith(":")) result.headers[name] = value;
      if (result.status === 200) sendNext();
    });
    stream.on("data", (chunk) => {
      if (result.status === 200) receiver.write(chunk);
    });
    stream.on("error", (error) => { result.reset = error.code || error.message; });
    stream.on("close", () => {
      if (stream.rstCode && !result.reset) result.reset = stream.rstCode;
      resolve(result);
    });
  });
}

async function main() {
  const [url, caFile, casesFile] = process.argv.slice(2);
  if (!url || !caFile || !casesFile) {
    console.log("usage: node h2_websocket.js https://HOST:PORT CA.pem CASES.json");
    process.exit(2);
  }
  const cases = JSON.parse(fs.readFileSync(casesFile, "utf8"));
  setTimeout(() => fail("no result within " + TIMEOUT_MS + " ms"), TIMEOUT_MS).unref();
  const session = http2.connect(url, { ca: fs.readFileSync(caFile) });
  session.on("error", (error) => fail("session: " + error.message));
  const settings = await new Promise((resolve) => session.once("remoteSettings", resolve));
  // Node refuses `:protocol` until the server has enabled it, so this is also what makes the cases possible.
  const results = await Promise.all(cases.map((testCase) => runCase(session, new URL(url).host, testCase)));
  console.log(JSON.stringify({
    alpn: session.alpnProtocol,
    enable_connect_protocol: settings.enableConnectProtocol === true,
    cases: results,
  }));
  session.close();
}

main().catch((error) => fail(error.stack || String(error)));
