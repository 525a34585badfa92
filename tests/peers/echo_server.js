// A plain Node `ws` echo server: one of the peers `cargo xtask bench` measures `wsecho serve` against.
//
// Usage: node echo_server.js PORT [CERT.pem KEY.pem] [--deflate]   (PORT 0: any free port; NODE_PATH must reach
// `ws`)
//
// With a certificate and key it serves wss on an `https` server, else ws on an `http` one. With --deflate it
// accepts permessage-deflate with ws' defaults (`perMessageDeflate: true`). Prints
// `listening ws://127.0.0.1:PORT` (or wss://) once it accepts connections.
"use strict";

const fs = require("fs");
const http = require("http");
const https = require("https");
const { WebSocketServer } = require("ws");

const args = process.argv.slice(2);
const deflate = args.includes("--deflate");
const [port, cert, key, ...rest] = args.filter((arg) => arg !== "--deflate");
if (port === undefined || (cert === undefined) !== (key === undefined) || rest.length > 0) {
  console.log("usage: node echo_server.js PORT [CERT.pem KEY.pem] [--deflate]");
  process.exit(2);
}
const tls = cert !== undefined;
const server = tls
  ? https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) })
  : http.createServer();
// perMessageDeflate off unless asked: the baseline and websocat, measured alongside, have no permessage-deflate.
const wss = new WebSocketServer({ server, perMessageDeflate: deflate, maxPayload: 0 });
wss.on("connection", (socket) => {
  socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary }));
});
server.listen(Number(port), "127.0.0.1", () => {
  console.log(`listening ${tls ? "wss" : "ws"}://127.0.0.1:${server.address().port}`);
});
