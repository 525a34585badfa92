"""A plain Python `websockets` echo server: one of the peers `cargo xtask bench` measures `wsecho serve` against.

Usage: python echo_server.py [PORT [CERT.pem KEY.pem]]   (PORT 0 or absent: any free port)
With a certificate and key it serves wss (an `ssl` server context), else ws.
Prints `listening ws://127.0.0.1:PORT` (or wss://) once it accepts connections.
"""

import asyncio
import ssl
import sys

from websockets.asyncio.server import serve


async def echo(websocket):
    async for message in websocket:
        await websocket.send(message)


def tls_context(cert, key):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


async def main(port, tls):
    # compression=None: the other servers measured have no permessage-deflate either.
    async with serve(echo, "127.0.0.1", port, compression=None, max_size=None, ssl=tls) as server:
        bound = server.sockets[0].getsockname()[1]
        scheme = "wss" if tls else "ws"
        print(f"listening {scheme}://127.0.0.1:{bound}", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) not in (0, 1, 3):
        sys.exit("usage: python echo_server.py [PORT [CERT.pem KEY.pem]]")
    asyncio.run(main(int(args[0]) if args else 0, tls_context(*args[1:]) if len(args) == 3 else None))
