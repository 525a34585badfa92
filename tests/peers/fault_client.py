"""Real-peer client for wsecho's fault and broadcast paths: Python `websockets` reports what it observed as JSON.

Usage:
  python fault_client.py probe URL [--send N] [--offer PROTOCOL ...] [--wait SECS] [--ca CA.pem]
  python fault_client.py broadcast URL_ROOM_A URL_ROOM_B

probe connects (offering the subprotocols given), sends N text messages one at a time, each awaiting its echo,
(over wss trusting only --ca), then waits up to --wait seconds for the server to end the connection; if it does not, one more echo is tried and
the client closes with 1000. It prints one JSON object: the handshake error (type, message, HTTP status and body)
or the subprotocol, each echo's round trip, the close code and reason the client saw, when it came, and how many
pings the server sent (which websockets answered by itself).

broadcast opens two members of room A and one of room B, lets each send one message and prints, per member,
the messages it received within a second.
"""

import argparse
import asyncio
import json
import logging
import ssl
import time

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

TIMEOUT_S = 10
ROOM_LISTEN_S = 1.0


class PingCounter(logging.Handler):
    """Counts the pings websockets received; it logs each frame it reads at debug level as `< PING ...`."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.pings = 0

    def emit(self, record):
        if record.getMessage().startswith("< PING"):
            self.pings += 1


async def probe(args):
    report = {}
    counter = PingCounter()
    logger = logging.getLogger("websockets.client")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    try:
        tls = None
        if args.ca:
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies the chain and the host name
            tls.load_verify_locations(cafile=args.ca)
        ws = await connect(args.url, ssl=tls, subprotocols=args.offer or None, open_timeout=TIMEOUT_S,
                           ping_interval=None)
    except InvalidStatus as error:
        response = error.response
        report.update(error_type="InvalidStatus", error=str(error), status=response.status_code,
                      body=response.body.decode("utf-8", "replace"))
        return report
    except Exception as error:  # the handshake itself was refused by this client, e.g. NegotiationError
        report.update(error_type=type(error).__name__, error=str(error))
        return report
    opened = time.monotonic()
    report["subprotocol"] = ws.subprotocol
    echoes = []
    try:
        for i in range(args.send):
            message = f"message {i}"
            sent = time.monotonic()
            await ws.send(message)
            reply = await asyncio.wait_for(ws.recv(), TIMEOUT_S)
            echoes.append({"same": reply == message, "rtt_s": time.monotonic() - sent})
    except ConnectionClosed:
        pass
    report["echoes"] = echoes
    try:
        await asyncio.wait_for(ws.wait_closed(), args.wait)
        report["server_ended"] = True
    except asyncio.TimeoutError:
        report["server_ended"] = False
        await ws.send("still there?")
        report["echo_after_wait"] = await asyncio.wait_for(ws.recv(), TIMEOUT_S) == "still there?"
        await asyncio.wait_for(ws.close(1000, "probe done"), TIMEOUT_S)
    report.update(close_code=ws.close_code, close_reason=ws.close_reason,
                  closed_after_s=time.monotonic() - opened, pings_received=counter.pings)
    return report


async def broadcast(args):
    members = {"a1": args.room_a, "a2": args.room_a, "b1": args.room_b}
    sockets = {name: await connect(url, open_timeout=TIMEOUT_S) for name, url in members.items()}
    for name, ws in sockets.items():
        await ws.send(f"from {name}")

    async def listen(ws):
        heard = []
        try:
            while True:
                heard.append(await asyncio.wait_for(ws.recv(), ROOM_LISTEN_S))
        except asyncio.TimeoutError:
            return heard

    heard = await asyncio.gather(*(listen(ws) for ws in sockets.values()))
    for ws in sockets.values():
        await asyncio.wait_for(ws.close(), TIMEOUT_S)
    return {name: sorted(messages) for name, messages in zip(sockets, heard)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    modes = parser.add_subparsers(dest="mode", required=True)
    probe_args = modes.add_parser("probe")
    probe_args.add_argument("url")
    probe_args.add_argument("--send", type=int, default=0)
    probe_args.add_argument("--offer", action="append", default=[])
    probe_args.add_argument("--wait", type=float, default=5.0)
    probe_args.add_argument("--ca", help="PEM file of the only CA to trust (wss)")
    room_args = modes.add_parser("broadcast")
    room_args.add_argument("room_a")
    room_args.add_argument("room_b")
    args = parser.parse_args()
    run = probe if args.mode == "probe" else broadcast
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
