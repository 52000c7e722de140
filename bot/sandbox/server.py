"""The sandbox HTTP server: Bot API, file downloads, control API and the playground page."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

from bot.sandbox.business_control import BusinessControl
from bot.sandbox.control import ControlApi, guarded, json_response
from bot.sandbox.forum import admin_rights
from bot.sandbox.limits import Clock, RateLimits
from bot.sandbox.methods import BotApi
from bot.sandbox.spec import ApiError, BotApiSpec, UploadedFile
from bot.sandbox.state import BOT_USERNAME, World

PLAYGROUND = Path(__file__).with_name("playground")
MAX_UPLOAD_BYTES = 64 * 1024 * 1024
# Names the playground page uses for the staff side (see playground/app.js).
STAFF_GROUP_TITLE = "Care staff"
STAFF_NAME = "Staff Agent"
STAFF_BOT_RIGHTS = {
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_pin_messages": True,
    "can_manage_topics": True,
}
_TOKEN = re.compile(r"(\d{1,20}):[A-Za-z0-9_-]{1,100}")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class Sandbox:
    """A local Telegram Bot API server with its own users, chats and updates.

    Use ``await sandbox.start()`` / ``await sandbox.stop()`` or ``async with Sandbox() as
    sandbox``; then point python-telegram-bot at ``bot_base_url`` and ``file_base_url``,
    and act as users through ``url + "/sandbox/..."`` (see :mod:`bot.sandbox.client`).
    """

    def __init__(
        self,
        limits: RateLimits | None = None,
        *,
        clock: Clock = time.time,
        bot_username: str = BOT_USERNAME,
        spec: BotApiSpec | None = None,
    ) -> None:
        self.spec = spec or BotApiSpec.load()
        self.world = World(limits or RateLimits.off(), clock=clock, bot_username=bot_username)
        self.api = BotApi(self.world, self.spec)
        self.app = self._make_app()
        self._runner: web.AppRunner | None = None
        self._host = ""
        self._port = 0

    # -- lifecycle --------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> Sandbox:
        """Listen on ``host:port`` (0 picks a free port) and return ``self``."""
        if self._runner is not None:
            raise RuntimeError("the sandbox is already running")
        runner = web.AppRunner(
            self.app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        self._host = host
        self._port = runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        """Wake every long poll and stop listening."""
        if self._runner is None:
            return
        self.world.close()
        await self.api.stop_webhook()
        runner, self._runner = self._runner, None
        await runner.cleanup()

    async def __aenter__(self) -> Sandbox:
        if self._runner is None:
            await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    def ensure_staff_group(
        self, title: str = STAFF_GROUP_TITLE, staff_name: str = STAFF_NAME
    ) -> int:
        """Return the id of the playground's staff group, creating it and its staff user.

        The playground page looks for the same names, so a bot started with this id as
        its staff chat and the page share one group.
        """
        world = self.world
        staff = next((u for u in world.users.values() if u.first_name == staff_name), None)
        if staff is None:
            staff = world.create_user(staff_name, language_code="en")
        for chat in world.chats.values():
            if chat.is_group and chat.title == title:
                return chat.id
        group = world.create_group(title, [staff.id])
        # Set up as an operator would: the bot may manage topics once it becomes a forum.
        group.bot_rights = admin_rights(STAFF_BOT_RIGHTS)
        return group.id

    def staff_user_id(self, staff_name: str = STAFF_NAME) -> int | None:
        """The playground's staff user (made by ``ensure_staff_group``), if it exists."""
        return next((u.id for u in self.world.users.values() if u.first_name == staff_name), None)

    # -- addresses --------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port the sandbox listens on."""
        return self._port

    @property
    def url(self) -> str:
        """``http://host:port``: the playground and the control API live under it."""
        if self._runner is None:
            raise RuntimeError("the sandbox is not running")
        return f"http://{self._host}:{self._port}"

    @property
    def bot_base_url(self) -> str:
        """What ``ApplicationBuilder.base_url`` wants: the token is appended to it."""
        return f"{self.url}/bot"

    @property
    def file_base_url(self) -> str:
        """What ``ApplicationBuilder.base_file_url`` wants."""
        return f"{self.url}/file/bot"

    # -- routes -----------------------------------------------------------------------

    def _make_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES)
        app.router.add_route("*", "/bot{token}/{method}", self._bot_call)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._download)
        ControlApi(self.world).add_routes(app)
        BusinessControl(self.world).add_routes(app, guarded)
        app.router.add_get("/", self._playground)
        app.router.add_static("/playground/", PLAYGROUND)
        # Anything else (a wrong base path, say) gets the Bot API's JSON 404, as from Telegram.
        app.router.add_route("*", "/{anything:.*}", self._not_found)
        return app

    async def _not_found(self, request: web.Request) -> web.Response:
        return json_response(ApiError(404, "Not Found").envelope(), status=404)

    async def _bot_call(self, request: web.Request) -> web.Response:
        world = self.world
        started = time.time()
        method = self.spec.canonical_method(request.match_info["method"])
        chat_id: int | str | None = None
        try:
            if request.method not in ("GET", "POST"):
                raise ApiError(405, "Method Not Allowed")
            bot_id = _bot_id(request.match_info["token"])
            if method is None:
                raise ApiError(404, "Not Found")
            params, files = await _read_params(request)
            chat_id = _chat_id_of(params)
            delay, error = world.faults.take(method, chat_id if isinstance(chat_id, int) else None)
            if delay:
                await asyncio.sleep(delay)
            if error is not None:
                raise error
            decoded = self.spec.validate(method, params, files)
            result = await self.api.call(bot_id, method, decoded)
            late = world.faults.take_late(method, chat_id if isinstance(chat_id, int) else None)
            if late:
                # Done, but answered late: the client may time out on a call that worked.
                await asyncio.sleep(late)
        except ApiError as exc:
            world.log_request(method or request.match_info["method"], chat_id, exc, started)
            return json_response(exc.envelope(), status=exc.error_code)
        world.log_request(method, chat_id, None, started)
        return json_response({"ok": True, "result": result})

    async def _download(self, request: web.Request) -> web.Response:
        try:
            _bot_id(request.match_info["token"])
        except ApiError as exc:
            return json_response(exc.envelope(), status=exc.error_code)
        stored = self.world.files_by_path.get(request.match_info["file_path"])
        if stored is None:
            return json_response(ApiError(404, "Not Found").envelope(), status=404)
        return web.Response(body=stored.data, content_type="application/octet-stream")

    async def _playground(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(PLAYGROUND / "index.html")


def _bot_id(token: str) -> int:
    match = _TOKEN.fullmatch(token)
    if match is None:
        raise ApiError(401, "Unauthorized")
    return int(match.group(1))


def _chat_id_of(params: dict[str, Any]) -> int | str | None:
    value = params.get("chat_id")
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        return text


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Merge query string and body (JSON, urlencoded or multipart) into one dict."""
    params: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if request.method != "POST" or not request.body_exists:
        return params, files
    content_type = request.content_type
    if content_type in _FORM_TYPES:
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = UploadedFile(
                    name=key,
                    filename=value.filename or key,
                    content_type=value.content_type or "",
                    data=value.file.read(),
                )
            else:
                params[key] = value
        return params, files
    raw = await request.read()
    if not raw.strip():
        return params, files
    try:
        body = json.loads(raw)
    except ValueError:
        raise ApiError(400, "Bad Request: can't parse JSON request body") from None
    if not isinstance(body, dict):
        raise ApiError(400, "Bad Request: the JSON request body must be an object")
    params.update(body)
    return params, files
