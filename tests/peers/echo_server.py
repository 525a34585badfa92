"""A plain Python `websockets` echo server: one of the peers `cargo xtask bench` measures `wsecho serve` against.

Usage: python echo_server.py [PORT]   (PORT 0 or absent: any free port)
Prints `listening ws://127.0.0.1:PORT` once it accepts connections.
"""

import asyncio
import sys

from websockets.asyncio.server import serve


async def echo(websocket):
    async for message in websocket:
        await websocket.send(message)


async def main(port):
    # compression=None: the other servers measured have no permessage-deflate either.
    async with serve(echo, "127.0.0.1", port, compression=None, max_size=None) as server:
        bound = server.sockets[0].getsockname()[1]
        print(f"listening ws://127.0.0.1:{bound}", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
