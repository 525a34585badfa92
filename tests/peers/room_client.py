"""Real-peer members of a wsecho broadcast room: Python `websockets` reports what they received as JSON.

Usage:
  python room_client.py flood URL_ROOM COUNT [--members N] [--size BYTES]
  python room_client.py stall URL_ROOM SECS

flood opens N members (default 2) of the room, then the first sends COUNT text messages one at a time, each
`await ws.send(...)` returning once websockets has handed it to the socket, while every member reads. The
sender does not offer compression (so that it sends as fast as the socket takes it); the others keep websockets'
defaults, which offer permessage-deflate. Message i is `i` followed by spaces up to --size bytes. Prints one
JSON object: per member, how many messages it received, whether they were 0..COUNT-1 in order, the first one
that was not, and the close code and reason if the server closed it; plus the extensions the server answered
the last member.

stall opens one member that reads nothing for SECS seconds (websockets stops reading its socket once 16 messages
wait unread), having printed `connected` once the handshake is done; then it reads whatever still comes and prints
one JSON object: how many messages it received, whether the connection ended, and the close code if a close frame
came.
"""

import argparse
import asyncio
import json

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

TIMEOUT_S = 10


def message(i, size):
    return str(i).ljust(size)


async def receive(ws, count, size):
    report = {"received": 0, "in_order": True, "first_wrong": None, "close_code": None, "close_reason": None}
    try:
        while report["received"] < count:
            got = await asyncio.wait_for(ws.recv(), TIMEOUT_S)
            if report["in_order"] and got != message(report["received"], size):
                report["in_order"] = False
                report["first_wrong"] = got[:40]
            report["received"] += 1
    except ConnectionClosed as closed:
        report["close_code"] = closed.rcvd.code if closed.rcvd else None
        report["close_reason"] = closed.rcvd.reason if closed.rcvd else None
    except asyncio.TimeoutError:
        report["timed_out"] = True
    return report


async def stall(args):
    ws = await connect(args.url, open_timeout=TIMEOUT_S, max_size=None)
    print("connected", flush=True)
    await asyncio.sleep(args.secs)
    report = {"received": 0, "ended": False, "close_code": None}
    try:
        while True:
            await asyncio.wait_for(ws.recv(), TIMEOUT_S)
            report["received"] += 1
    except ConnectionClosed as closed:
        report["ended"] = True
        report["close_code"] = closed.rcvd.code if closed.rcvd else None
    except asyncio.TimeoutError:
        await ws.close()
    return report


async def flood(args):
    members = [await connect(args.url, open_timeout=TIMEOUT_S, max_size=None, compression=None)]
    for _ in range(args.members - 1):
        members.append(await connect(args.url, open_timeout=TIMEOUT_S, max_size=None))
    readers = [asyncio.create_task(receive(ws, args.count, args.size)) for ws in members]

    async def send():
        try:
            for i in range(args.count):
                await asyncio.wait_for(members[0].send(message(i, args.size)), TIMEOUT_S)
        except ConnectionClosed:
            pass

    await send()
    reports = await asyncio.gather(*readers)
    extensions = members[-1].response.headers.get("Sec-WebSocket-Extensions", "none")
    for ws in members:
        await asyncio.wait_for(ws.close(), TIMEOUT_S)
    return {"extensions": extensions, "members": reports}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    modes = parser.add_subparsers(dest="mode", required=True)
    flood_args = modes.add_parser("flood")
    flood_args.add_argument("url")
    flood_args.add_argument("count", type=int)
    flood_args.add_argument("--members", type=int, default=2)
    flood_args.add_argument("--size", type=int, default=16)
    stall_args = modes.add_parser("stall")
    stall_args.add_argument("url")
    stall_args.add_argument("secs", type=float)
    args = parser.parse_args()
    run = flood if args.mode == "flood" else stall
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
