"""A load balancer in front of several carebot instances, for the whole-process webhook
tests and ``bench/inbound.py --webhook``: Debian's nginx when it is installed (``make
balancer-deps`` installs ``nginx-light``; CI does), else a small round-robin proxy.

nginx runs as whoever runs the tests, from a configuration written into a folder of its
own (``daemon off``, its error log, pid file and temporary files there), listening on a
free port of 127.0.0.1 with the instances as one upstream. It behaves as nginx does in
front of carebot in production (docs/deploy.md): it spreads the POSTs over the
instances, passes a request on to the next one when an instance refuses the connection
(``proxy_next_upstream error timeout``, the default), and sets an instance aside for a
few seconds after it failed. A request an instance took and then dropped (it was
killed) is answered 502 and not passed on, nginx's rule for a POST: Telegram (the
sandbox) delivers it again.

The round-robin proxy is for machines without nginx; it does the same, except for
setting a failed instance aside.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import socket
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

HEADERS_PASSED = ("Content-Type", "X-Telegram-Bot-Api-Secret-Token")
NGINX_START_SECONDS = 20


def nginx_path() -> str | None:
    """Where nginx is (Debian puts it in /usr/sbin, outside a user's PATH), or None."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def balancer(backends: list[str]) -> AsyncIterator[str]:
    """Balance over ``backends`` (base URLs such as ``http://127.0.0.1:8443``) with nginx
    if there is one, else the round-robin proxy; yields the balancer's base URL."""
    found = nginx_path()
    if found is None:
        async with round_robin(backends) as url:
            yield url
    else:
        async with nginx(backends, found) as url:
            yield url


def nginx_config(folder: Path, port: int, backends: list[str]) -> str:
    servers = "\n".join(f"        server {urlsplit(b).netloc};" for b in backends)
    # Started as root (CI containers), the master would hand the worker to "nobody", who
    # may not read the folder: keep the worker as whoever started it.
    user = "user root;\n" if os.geteuid() == 0 else ""
    return f"""{user}daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;

events {{
    worker_connections 1024;
}}

http {{
    access_log off;
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;

    upstream carebot {{
{servers}
        keepalive 32;
    }}

    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://carebot;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_next_upstream error timeout;
            proxy_connect_timeout 2s;
            proxy_read_timeout 15s;
        }}
    }}
}}
"""


@asynccontextmanager
async def nginx(backends: list[str], executable: str) -> AsyncIterator[str]:
    """nginx (``executable``) in front of ``backends``; yields its base URL."""
    with tempfile.TemporaryDirectory(prefix="carebot-nginx-") as name:
        folder = Path(name)
        port = free_port()
        config = folder / "nginx.conf"
        config.write_text(nginx_config(folder, port, backends))
        error_log = folder / "error.log"
        process = await asyncio.create_subprocess_exec(
            executable,
            "-p",
            str(folder),
            "-c",
            str(config),
            "-e",
            str(error_log),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await _until_listening(process, port, error_log)
            yield f"http://127.0.0.1:{port}"
        finally:
            if process.returncode is None:
                process.terminate()  # SIGTERM: nginx's fast shutdown
                try:
                    await asyncio.wait_for(process.wait(), timeout=10)
                except TimeoutError:
                    process.kill()
                    await process.wait()


async def _until_listening(process: asyncio.subprocess.Process, port: int, log: Path) -> None:
    deadline = time.monotonic() + NGINX_START_SECONDS
    while True:
        if process.returncode is not None:
            assert process.stderr is not None
            said = (await process.stderr.read()).decode(errors="replace")
            raise AssertionError(f"nginx stopped at start:\n{said}\n{_read(log)}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.monotonic() > deadline:
                message = f"nginx did not listen within {NGINX_START_SECONDS} s"
                raise AssertionError(f"{message}:\n{_read(log)}") from None
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return


def _read(log: Path) -> str:
    return log.read_text(errors="replace") if log.exists() else ""


@asynccontextmanager
async def round_robin(backends: list[str]) -> AsyncIterator[str]:
    """A round-robin proxy over ``backends``; yields its base URL."""
    turns = itertools.cycle(range(len(backends)))
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))

    async def forward(request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k in HEADERS_PASSED}
        first = next(turns)
        for step in range(len(backends)):
            backend = backends[(first + step) % len(backends)]
            try:
                async with session.request(
                    request.method, backend + request.path_qs, data=body, headers=headers
                ) as answer:
                    return web.Response(status=answer.status, body=await answer.read())
            except aiohttp.ClientConnectorError:
                continue  # not listening (stopped, or not started yet): the next one
            except (aiohttp.ClientError, TimeoutError):
                return web.Response(status=502)
        return web.Response(status=502)

    app = web.Application()
    app.router.add_route("*", "/{path:.*}", forward)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
        await session.close()
