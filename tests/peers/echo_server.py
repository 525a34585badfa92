"""A plain Python `websockets` echo server: one of the peers `cargo xtask bench` measures `wsecho serve` against.

Usage: python echo_server.py [PORT] [--deflate]   (PORT 0 or absent: any free port)
Prints `listening ws://127.0.0.1:PORT` once it accepts connections. With --deflate it accepts permessage-deflate
with websockets' defaults (for the memory comparison in the wsecho tests).
"""

import asyncio
import sys

from websockets.asyncio.server import serve


async def echo(websocket):
    async for message in websocket:
        await websocket.send(message)


async def main(port, deflate):
    # compression=None unless asked: the servers `cargo xtask bench` measures have no permessage-deflate either.
    compression = "deflate" if deflate else None
    async with serve(echo, "127.0.0.1", port, compression=compression, max_size=None) as server:
        bound = server.sockets[0].getsockname()[1]
        print(f"listening ws://127.0.0.1:{bound}", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    args = [arg for arg in sys.argv[1:] if arg != "--deflate"]
    asyncio.run(main(int(args[0]) if args else 0, "--deflate" in sys.argv[1:]))
