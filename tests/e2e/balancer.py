"""A round-robin HTTP load balancer for the whole-process webhook tests.

Written here rather than taking nginx or HAProxy: they are Debian packages that neither
the development machines nor CI have, and the tests need only what a balancer does in
front of carebot: spread POSTs over the instances, and pass a request to the next
instance when one refuses the connection (nginx's ``proxy_next_upstream error``). A
request an instance took and then dropped (it was killed) is answered 502 and not
passed on, as nginx does for a POST: Telegram (the sandbox) delivers it again.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from aiohttp import web

HEADERS_PASSED = ("Content-Type", "X-Telegram-Bot-Api-Secret-Token")


@asynccontextmanager
async def balancer(backends: list[str]) -> AsyncIterator[str]:
    """Balance over ``backends`` (base URLs); yields the balancer's base URL."""
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
