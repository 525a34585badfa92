"""A plain Python `websockets` echo server: one of the peers `cargo xtask bench` measures `wsecho serve` against.

Usage: python echo_server.py [PORT [CERT.pem KEY.pem]] [--deflate] [--ping SECS]   (PORT 0 or absent: any free port)
With a certificate and key it serves wss (an `ssl` server context), else ws. With --deflate it accepts
permessage-deflate with websockets' defaults (for the memory comparison in the wsecho tests). With --ping it
pings every client every SECS seconds and drops one whose pong is more than SECS late (websockets' default is 20).
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


async def main(port, tls, deflate, ping):
    # compression=None unless asked: the other servers `cargo xtask bench` measures have no permessage-deflate.
    compression = "deflate" if deflate else None
    keepalive = {"ping_interval": ping, "ping_timeout": ping} if ping else {}
    async with serve(
        echo, "127.0.0.1", port, compression=compression, max_size=None, ssl=tls, **keepalive
    ) as server:
        bound = server.sockets[0].getsockname()[1]
        scheme = "wss" if tls else "ws"
        print(f"listening {scheme}://127.0.0.1:{bound}", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    deflate = "--deflate" in sys.argv[1:]
    args = [arg for arg in sys.argv[1:] if arg != "--deflate"]
    ping = None
    if "--ping" in args:
        at = args.index("--ping")
        ping = float(args[at + 1])
        del args[at : at + 2]
    if len(args) not in (0, 1, 3):
        sys.exit("usage: python echo_server.py [PORT [CERT.pem KEY.pem]] [--deflate] [--ping SECS]")
    tls = tls_context(*args[1:]) if len(args) == 3 else None
    asyncio.run(main(int(args[0]) if args else 0, tls, deflate, ping))
