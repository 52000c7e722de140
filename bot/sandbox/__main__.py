"""Run a standalone sandbox: ``python -m bot.sandbox --port 8081``.

Handy for manual checks: open the printed address for the playground, point a bot at
``<address>/bot`` (any ``123:abc``-shaped token works) and use ``/sandbox/...`` by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from bot.sandbox.limits import RateLimits
from bot.sandbox.server import Sandbox


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog="python -m bot.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8081, help="port (0 picks a free one)")
    parser.add_argument(
        "--limits",
        choices=("off", "telegram"),
        default="telegram",
        help="rate limits: Telegram's (default) or none",
    )
    return parser.parse_args(argv)


async def serve(host: str, port: int, limits: RateLimits) -> None:
    """Run the sandbox until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    sandbox = Sandbox(limits=limits)
    await sandbox.start(host=host, port=port)
    print(f"sandbox playground: {sandbox.url}/", flush=True)
    print(f"bot API base_url:   {sandbox.bot_base_url}", flush=True)
    print(f"file base_url:      {sandbox.file_base_url}", flush=True)
    try:
        await stop.wait()
    finally:
        await sandbox.stop()


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m bot.sandbox``."""
    args = parse_args(argv)
    limits = RateLimits.telegram() if args.limits == "telegram" else RateLimits.off()
    asyncio.run(serve(args.host, args.port, limits))


if __name__ == "__main__":
    main()
