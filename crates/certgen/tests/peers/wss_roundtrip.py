"""Serve wss with CERT/KEY on loopback and connect a Python `websockets` client that trusts only ROOT and checks
NAME (the certificate must verify for it); prints `echo ok` after one message round trip.

usage: wss_roundtrip.py FULLCHAIN KEY ROOT NAME CONNECT_IP
"""

import asyncio
import ssl
import sys

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve


async def echo(ws):
    async for message in ws:
        await ws.send(message)


async def main(fullchain, key, root, name, ip):
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(fullchain, key)
    client_tls = ssl.create_default_context(cafile=root)
    async with serve(echo, ip, 0, ssl=server_tls) as server:
        port = server.sockets[0].getsockname()[1]
        host = f"[{name}]" if ":" in name else name
        async with connect(f"wss://{host}:{port}/", ssl=client_tls, host=ip, port=port,
                           server_hostname=name, open_timeout=10) as ws:
            await ws.send("hello through the ACME certificate")
            reply = await asyncio.wait_for(ws.recv(), 10)
            assert reply == "hello through the ACME certificate", reply
    print("echo ok")


asyncio.run(main(*sys.argv[1:6]))
