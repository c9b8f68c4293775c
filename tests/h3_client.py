#!/usr/bin/env python3
"""HTTP/3 client for tests/http3.rs, built on aioquic.

    h3_client.py [--sequential] PORT OUT_DIR METHOD:PATH [METHOD:PATH ...]

Sends every request at once (or one after the other with --sequential) on
ONE QUIC connection to 127.0.0.1:PORT
(certificate not verified: the test made it), and for request i writes the
response head to OUT_DIR/h<i> ("HTTP/3 <status>" then "name: value" lines)
and the body to OUT_DIR/b<i>. Prints "<i> <status> <seconds>" per request
and "connections 1" at the end. Exit status 0 unless the connection failed.
"""

import asyncio
import os
import ssl
import sys
import time

from aioquic.asyncio.client import connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import StreamDataReceived


class H3Client(QuicConnectionProtocol):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.h3 = H3Connection(self._quic)
        self.streams = {}

    def quic_event_received(self, event):
        for ev in self.h3.handle_event(event):
            stream = self.streams.get(getattr(ev, "stream_id", None))
            if stream is None:
                continue
            if isinstance(ev, HeadersReceived) and stream["headers"] is None:
                stream["headers"] = ev.headers
            elif isinstance(ev, DataReceived):
                stream["body"] += ev.data
            if getattr(ev, "stream_ended", False):
                self._finish(stream)
        # aioquic reports no H3 event for a FIN that arrives alone after the
        # headers (nginx ends a HEAD response that way): watch QUIC too.
        if isinstance(event, StreamDataReceived) and event.end_stream:
            stream = self.streams.get(event.stream_id)
            if stream is not None and stream["headers"] is not None:
                self._finish(stream)

    @staticmethod
    def _finish(stream):
        if not stream["done"].done():
            stream["done"].set_result(time.monotonic())

    async def request(self, method, authority, path):
        stream_id = self._quic.get_next_available_stream_id()
        stream = {
            "headers": None,
            "body": b"",
            "done": asyncio.get_running_loop().create_future(),
        }
        self.streams[stream_id] = stream
        started = time.monotonic()
        self.h3.send_headers(
            stream_id,
            [
                (b":method", method.encode()),
                (b":scheme", b"https"),
                (b":authority", authority.encode()),
                (b":path", path.encode()),
                (b"user-agent", b"h3-test"),
            ],
            end_stream=True,
        )
        self.transmit()
        ended = await asyncio.wait_for(stream["done"], 60)
        return stream, ended - started


async def main(port, out_dir, requests, sequential):
    config = QuicConfiguration(is_client=True, alpn_protocols=H3_ALPN)
    config.verify_mode = ssl.CERT_NONE
    authority = f"127.0.0.1:{port}"
    async with connect("127.0.0.1", port, configuration=config, create_protocol=H3Client) as client:
        if sequential:
            results = [await client.request(m, authority, p) for m, p in requests]
        else:
            results = await asyncio.gather(
                *(client.request(m, authority, p) for m, p in requests)
            )
    for i, (stream, seconds) in enumerate(results):
        headers = stream["headers"] or []
        status = "0"
        lines = []
        for name, value in headers:
            if name == b":status":
                status = value.decode()
            else:
                lines.append(f"{name.decode()}: {value.decode()}")
        with open(os.path.join(out_dir, f"h{i}"), "w") as f:
            f.write("\n".join([f"HTTP/3 {status}"] + lines) + "\n")
        with open(os.path.join(out_dir, f"b{i}"), "wb") as f:
            f.write(stream["body"])
        print(i, status, f"{seconds:.3f}")
    print("connections 1")


if __name__ == "__main__":
    args = sys.argv[1:]
    sequential = "--sequential" in args
    args = [a for a in args if a != "--sequential"]
    if len(args) < 3:
        sys.exit(__doc__)
    reqs = [arg.split(":", 1) for arg in args[2:]]
    asyncio.run(main(int(args[0]), args[1], reqs, sequential))
