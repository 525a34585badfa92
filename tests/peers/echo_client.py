"""Real-peer check for wsecho: a Python `websockets` client echoes text, binary and 1 MiB over ws/wss.

It keeps websockets' defaults, which offer permessage-deflate; the ok line names the extensions the server
answered (`extensions permessage-deflate; ...` or `extensions none`).

Usage: python echo_client.py URL [--ca CA.pem]

With --ca the TLS context trusts only that CA (no system roots), so success proves the chain leads to it.
Without --ca it uses Python's default trust, as a program that was not told about the CA would.
Prints one `ok ...` line and exits 0, or prints `FAIL <error type>: <message>` and exits 1.
"""

import argparse
import asyncio
import ssl
import sys

from websockets.asyncio.client import connect

TIMEOUT_S = 10
CLOSE_CODE = 4000
CLOSE_REASON = "python peer done"


def tls_context(url, ca):
    if not url.startswith("wss:"):
        return None
    if ca is None:
        return ssl.create_default_context()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies the chain and the host name
    context.load_verify_locations(cafile=ca)
    return context


async def echo(ws, message):
    await ws.send(message)
    reply = await asyncio.wait_for(ws.recv(), TIMEOUT_S)
    if type(reply) is not type(message) or reply != message:
        raise AssertionError(f"echo differs: sent {type(message).__name__} of {len(message)}, got {reply[:64]!r}")


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--ca", help="PEM file of the only CA to trust")
    args = parser.parse_args()

    async with connect(
        args.url, ssl=tls_context(args.url, args.ca), open_timeout=TIMEOUT_S, max_size=2 * 1024 * 1024
    ) as ws:
        await echo(ws, "héllo from python ✓")
        await echo(ws, bytes(range(256)))
        await echo(ws, bytes(i * 7 % 251 for i in range(1024 * 1024)))
        await asyncio.wait_for(ws.close(CLOSE_CODE, CLOSE_REASON), TIMEOUT_S)
        returned = (ws.close_code, ws.close_reason)
        if returned != (CLOSE_CODE, CLOSE_REASON):
            raise AssertionError(f"server answered the close {CLOSE_CODE} {CLOSE_REASON!r} with {returned}")
    tls = ws.transport.get_extra_info("ssl_object")
    extensions = ws.response.headers.get("Sec-WebSocket-Extensions", "none")
    print(f"ok python websockets: text, binary, 1 MiB echoed; close {CLOSE_CODE} returned; "
          f"{tls.version() if tls else 'plain'}; extensions {extensions}")


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Exception as error:  # one line the Rust test can match, e.g. CERTIFICATE_VERIFY_FAILED
        print(f"FAIL {type(error).__name__}: {error}")
        sys.exit(1)
