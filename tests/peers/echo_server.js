// A plain Node `ws` echo server: one of the peers `cargo xtask bench` measures `wsecho serve` against.
//
// Usage: node echo_server.js PORT [CERT.pem KEY.pem]   (PORT 0: any free port; NODE_PATH must reach `ws`)
//
// With a certificate and key it serves wss on an `https` server, else ws on an `http` one. Prints
// `listening ws://127.0.0.1:PORT` (or wss://) once it accepts connections.
"use strict";

const fs = require("fs");
const http = require("http");
const https = require("https");
const { WebSocketServer } = require("ws");

const [port, cert, key] = process.argv.slice(2);
if (port === undefined || (cert === undefined) !== (key === undefined)) {
  console.log("usage: node echo_server.js PORT [CERT.pem KEY.pem]");
  process.exit(2);
}
const tls = cert !== undefined;
const server = tls
  ? https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) })
  : http.createServer();
// perMessageDeflate off: the other servers measured have no permessage-deflate either.
const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 0 });
wss.on("connection", (socket) => {
  socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary }));
});
server.listen(Number(port), "127.0.0.1", () => {
  console.log(`listening ${tls ? "wss" : "ws"}://127.0.0.1:${server.address().port}`);
});
