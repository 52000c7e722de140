"""A local Telegram Bot API sandbox for tests, benchmarks and the playground page.

See docs/sandbox.md. ``Sandbox`` is the server, ``RateLimits`` its rate-limit settings and
``bot.sandbox.client.SandboxClient`` the control API wrapper that tests use.
"""

from bot.sandbox.limits import RateLimits
from bot.sandbox.server import Sandbox

__all__ = ["RateLimits", "Sandbox"]
