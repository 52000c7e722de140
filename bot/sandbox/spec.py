"""Check Bot API calls against the vendored method list and Telegram's documented limits.

``botapi.json`` (see ``NOTICE``) says which parameters each method takes, their types and
which are required. :class:`BotApiSpec` compiles it once into small lookup tables so a
call costs a handful of dictionary look-ups. Values arrive either natively typed (JSON
bodies) or as strings (query strings and forms, where python-telegram-bot sends nested
objects as JSON text); :meth:`BotApiSpec.validate` turns both into plain Python values or
raises :class:`ApiError` with Telegram's wording.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SPEC_PATH = Path(__file__).with_name("botapi.json")

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_BUTTONS = 100
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_COMMANDS = 100
MAX_COMMAND_LENGTH = 32
MAX_COMMAND_DESCRIPTION_LENGTH = 256

# Telegram's own words for a missing required parameter, where they differ from
# "<name> is empty".
_MISSING_WORDING = {
    "text": "message text is empty",
    "photo": "there is no photo in the request",
    "document": "there is no document in the request",
    "voice": "there is no voice in the request",
    "audio": "there is no audio in the request",
    "video": "there is no video in the request",
    "animation": "there is no animation in the request",
    "video_note": "there is no video note in the request",
    "sticker": "there is no sticker in the request",
    "message_id": "message identifier is not specified",
    "callback_query_id": "query_id is empty",
    "file_id": "file_id is empty",
}

# Fields of InlineKeyboardButton that are decoration, not the button's action.
_BUTTON_DECORATION = frozenset({"text", "icon_custom_emoji_id", "style"})
_BUTTON_URL_SCHEMES = ("http://", "https://", "tg://")
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_INTEGER = re.compile(r"[+-]?\d+")
_SCALAR_TYPES = frozenset({"String", "Integer", "Float", "Boolean", "InputFile"})
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})


class ApiError(Exception):
    """A Bot API failure, rendered by the server as Telegram's error envelope."""

    def __init__(
        self, error_code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def envelope(self) -> dict[str, Any]:
        """Return the ``{"ok": false, ...}`` body Telegram answers with."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(reason: str) -> ApiError:
    """Return a 400 ``ApiError`` worded like Telegram's ("Bad Request: ...")."""
    return ApiError(400, f"Bad Request: {reason}")


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """One file part of a multipart request."""

    name: str
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    types: tuple[str, ...]
    required: bool


@dataclass(slots=True)
class _Type:
    name: str
    fields: dict[str, _Field] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    # For abstract types (BotCommandScope): value of the "type" field -> concrete type.
    subtypes: dict[str, str] = field(default_factory=dict)


class _Invalid(Exception):
    """A value does not fit a type; carries the reason without the "Bad Request" prefix."""


class BotApiSpec:
    """The compiled method and type tables of ``botapi.json``.

    Load it once per process (:meth:`load`) and share it: it is immutable.
    """

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.version: str = raw.get("version", "")
        self._methods: dict[str, dict[str, _Field]] = {}
        self._required: dict[str, tuple[str, ...]] = {}
        self._canonical: dict[str, str] = {}
        for name, method in raw["methods"].items():
            fields = {f["name"]: _compile_field(f) for f in method.get("fields", [])}
            self._methods[name] = fields
            self._required[name] = tuple(n for n, f in fields.items() if f.required)
            self._canonical[name.lower()] = name
        self._types: dict[str, _Type] = {}
        for name, spec in raw["types"].items():
            fields = {f["name"]: _compile_field(f) for f in spec.get("fields", [])}
            self._types[name] = _Type(
                name=name,
                fields=fields,
                required=tuple(n for n, f in fields.items() if f.required),
            )
        self.reaction_emoji = _reaction_emoji(raw["types"])
        for name, spec in raw["types"].items():
            for subtype in spec.get("subtypes", []):
                discriminator = _discriminator(raw["types"].get(subtype, {}))
                if discriminator is not None:
                    self._types[name].subtypes[discriminator] = subtype

    @classmethod
    def load(cls, path: Path = SPEC_PATH) -> BotApiSpec:
        """Read and compile a spec file (``botapi.json`` by default)."""
        return cls(json.loads(path.read_text(encoding="utf-8")))

    @property
    def methods(self) -> tuple[str, ...]:
        """The method names, as Telegram spells them."""
        return tuple(self._methods)

    def canonical_method(self, name: str) -> str | None:
        """Return the method's canonical spelling (Telegram ignores case), or ``None``."""
        return self._canonical.get(name.lower())

    def validate(
        self,
        method: str,
        params: Mapping[str, Any],
        files: Mapping[str, UploadedFile] | None = None,
    ) -> dict[str, Any]:
        """Return ``params`` decoded to Python values, or raise :class:`ApiError`.

        ``method`` must be canonical (see :meth:`canonical_method`). File parts named after
        a parameter, or referenced by ``attach://<name>``, become :class:`UploadedFile`.
        Parameters the method does not know are dropped, as Telegram ignores them.
        """
        fields = self._methods[method]
        files = files or {}
        decoded: dict[str, Any] = {}
        for name, spec in fields.items():
            value = params.get(name)
            if value is None and name in files:
                value = files[name]
            if value is None or value == "":
                continue
            try:
                decoded[name] = self._coerce(value, spec.types, files)
            except _Invalid as exc:
                raise bad_request(_top_level_reason(name, spec, str(exc))) from None
        for name in self._required[method]:
            if name not in decoded:
                raise bad_request(_MISSING_WORDING.get(name, f"{name} is empty"))
        _check_limits(method, decoded)
        return decoded

    # -- decoding ---------------------------------------------------------------------

    def _coerce(self, value: Any, types: tuple[str, ...], files: Mapping[str, UploadedFile]) -> Any:
        if len(types) == 1:
            return self._coerce_one(value, types[0], files)
        object_types = [t for t in types if t in self._types and t != "InputFile"]
        if len(object_types) > 1:
            return self._coerce_object_union(value, object_types, files)
        first_error: _Invalid | None = None
        for type_name in types:
            try:
                return self._coerce_one(value, type_name, files)
            except _Invalid as exc:
                first_error = first_error or exc
        assert first_error is not None
        raise first_error

    def _coerce_one(self, value: Any, type_name: str, files: Mapping[str, UploadedFile]) -> Any:
        if type_name.startswith("Array of "):
            value = _decode_json(value, list)
            if not isinstance(value, list):
                raise _Invalid("must be an Array")
            item_type = (type_name.removeprefix("Array of "),)
            return [self._coerce(item, item_type, files) for item in value]
        match type_name:
            case "String":
                return _to_string(value)
            case "Integer":
                return _to_integer(value)
            case "Float":
                return _to_float(value)
            case "Boolean" | "True":
                return _to_boolean(value)
            case "InputFile":
                return _to_file(value, files)
        spec = self._types.get(type_name)
        if spec is None:
            return value
        if type_name == "KeyboardButton" and isinstance(value, str):
            return {"text": value}
        return self._coerce_object(_decode_json(value, dict), spec, files)

    def _coerce_object(
        self, value: Any, spec: _Type, files: Mapping[str, UploadedFile]
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise _Invalid(f"{spec.name} must be an Object")
        if spec.subtypes:
            concrete = spec.subtypes.get(str(value.get("type", "")))
            if concrete is None:
                raise _Invalid(f"unsupported {spec.name} type")
            spec = self._types[concrete]
        decoded = dict(value)
        for name, field_spec in spec.fields.items():
            if name in value and value[name] is not None:
                try:
                    decoded[name] = self._coerce(value[name], field_spec.types, files)
                except _Invalid as exc:
                    raise _Invalid(f'field "{name}" {exc}') from None
        for name in spec.required:
            if decoded.get(name) is None:
                raise _Invalid(f'field "{name}" of the {spec.name} is missing')
        return decoded

    def _coerce_object_union(
        self, value: Any, type_names: list[str], files: Mapping[str, UploadedFile]
    ) -> dict[str, Any]:
        value = _decode_json(value, dict)
        if not isinstance(value, dict):
            raise _Invalid("must be an Object")
        # The variants differ by their required fields (inline_keyboard, keyboard,
        # remove_keyboard, force_reply): the first whose required fields are all present
        # is the one meant, and its own errors are the useful ones.
        for type_name in type_names:
            spec = self._types[type_name]
            if spec.required and all(name in value for name in spec.required):
                return self._coerce_object(value, spec, files)
        raise _Invalid("object does not match " + " or ".join(type_names))


def _reaction_emoji(types: Mapping[str, Any]) -> frozenset[str]:
    """The emoji a ReactionTypeEmoji may carry, as its field description lists them."""
    for raw_field in types.get("ReactionTypeEmoji", {}).get("fields", []):
        if raw_field["name"] == "emoji":
            return frozenset(re.findall(r'"([^"]+)"', raw_field.get("description", "")))
    return frozenset()


def _compile_field(raw: Mapping[str, Any]) -> _Field:
    return _Field(name=raw["name"], types=tuple(raw["types"]), required=bool(raw["required"]))


def _discriminator(spec: Mapping[str, Any]) -> str | None:
    for raw_field in spec.get("fields", []):
        if raw_field["name"] == "type":
            found = re.search(r'(?:must be|always) "?(\w+)', raw_field.get("description", ""))
            return found.group(1) if found else None
    return None


def _top_level_reason(name: str, spec: _Field, reason: str) -> str:
    if any(t in ("InlineKeyboardMarkup", "ReplyKeyboardMarkup") for t in spec.types):
        return f"can't parse reply keyboard markup JSON object: {reason}"
    if all(t in _SCALAR_TYPES for t in spec.types):
        return f'parameter "{name}" {reason}'
    return f"can't parse {name} JSON object: {reason}"


def _decode_json(value: Any, expected: type) -> Any:
    """Decode a JSON string (how forms carry nested values); leave other values alone."""
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
        except ValueError:
            raise _Invalid(f"must be a JSON-serialized {expected.__name__}") from None
        return decoded
    return value


def _to_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Invalid("must be of type String")
    return str(value)


def _to_integer(value: Any) -> int:
    if isinstance(value, bool):
        raise _Invalid("must be of type Integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value)
    raise _Invalid("must be of type Integer")


def _to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise _Invalid("must be of type Float")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise _Invalid("must be of type Float")


def _to_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    raise _Invalid("must be of type Boolean")


def _to_file(value: Any, files: Mapping[str, UploadedFile]) -> UploadedFile:
    if isinstance(value, UploadedFile):
        return value
    if isinstance(value, str) and value.startswith("attach://"):
        attached = files.get(value.removeprefix("attach://"))
        if attached is None:
            raise _Invalid("refers to a file part that is not in the request")
        return attached
    raise _Invalid("must be an uploaded file")


# -- Telegram's limits ------------------------------------------------------------------


def _check_limits(method: str, params: dict[str, Any]) -> None:
    parse_mode = params.get("parse_mode")
    if parse_mode is not None and parse_mode.lower() not in ("html", "markdownv2", "markdown"):
        raise bad_request("unsupported parse_mode")
    if "text" in params and method in ("sendMessage", "editMessageText"):
        length = visible_length(params["text"], parse_mode)
        if length == 0:
            raise bad_request("message text is empty")
        if length > MAX_TEXT_LENGTH:
            raise bad_request("message is too long")
    if method == "editMessageText" and "text" not in params and "rich_message" not in params:
        raise bad_request("message text is empty")
    if "caption" in params:
        if visible_length(params["caption"], parse_mode) > MAX_CAPTION_LENGTH:
            raise bad_request("message caption is too long")
    markup = params.get("reply_markup")
    if markup is not None:
        check_reply_markup(markup)
    if method == "answerCallbackQuery" and len(params.get("text", "")) > MAX_CALLBACK_ANSWER_LENGTH:
        raise bad_request("MESSAGE_TOO_LONG")
    if method == "setMyCommands":
        _check_commands(params["commands"])


def check_reply_markup(markup: dict[str, Any]) -> None:
    """Raise :class:`ApiError` unless ``markup`` is a keyboard Telegram would accept."""
    if "inline_keyboard" in markup:
        _check_inline_keyboard(markup["inline_keyboard"])
    elif "keyboard" in markup:
        _check_reply_keyboard(markup["keyboard"])


def _check_inline_keyboard(rows: Any) -> None:
    if not isinstance(rows, list):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    count = 0
    for row in rows:
        if not isinstance(row, list):
            raise bad_request(
                'can\'t parse inline keyboard button: field "inline_keyboard" '
                "must be an Array of Arrays"
            )
        for button in row:
            count += 1
            _check_inline_button(button)
    if count > MAX_INLINE_BUTTONS:
        raise bad_request("too many inline keyboard buttons")


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise bad_request(
            "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
        )
    text = button.get("text")
    if not isinstance(text, str) or not text.strip():
        raise bad_request("can't parse inline keyboard button: Text must be non-empty")
    actions = [k for k, v in button.items() if k not in _BUTTON_DECORATION and v is not None]
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if len(actions) > 1:
        raise bad_request(
            "can't parse inline keyboard button: exactly one of the optional fields "
            f"must be used, got {', '.join(sorted(actions))}"
        )
    if "callback_data" in button:
        size = len(str(button["callback_data"]).encode("utf-8"))
        if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button and not str(button["url"]).startswith(_BUTTON_URL_SCHEMES):
        raise bad_request("BUTTON_URL_INVALID")


def _check_reply_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
    for row in rows:
        for button in row:
            text = button.get("text") if isinstance(button, dict) else None
            if not isinstance(text, str) or not text.strip():
                raise bad_request("can't parse keyboard button: Text must be non-empty")


def _check_commands(commands: list[dict[str, Any]]) -> None:
    if len(commands) > MAX_COMMANDS:
        raise bad_request("too many commands")
    for command in commands:
        name = str(command.get("command", ""))
        if not _COMMAND_NAME.fullmatch(name):
            raise bad_request("BOT_COMMAND_INVALID")
        description = str(command.get("description", ""))
        if not 1 <= len(description.strip()) <= MAX_COMMAND_DESCRIPTION_LENGTH:
            raise bad_request("command description is empty or too long")


# -- entity parsing ---------------------------------------------------------------------

_HTML_TAGS = frozenset(
    {
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
        "a", "tg-emoji", "code", "pre", "blockquote", "tg-time",
    }
)  # fmt: skip
_HTML_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)?([^<>]*)>")
_MARKDOWN_V2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")


def visible_length(text: str, parse_mode: str | None) -> int:
    """Return the length of ``text`` once entities are parsed, checking the markup.

    Raises :class:`ApiError` ("can't parse entities: ...") for markup Telegram rejects.
    """
    if parse_mode is None:
        return len(text.strip())
    mode = parse_mode.lower()
    if mode == "html":
        return len(_strip_html(text).strip())
    if mode == "markdownv2":
        return len(_strip_markdown_v2(text).strip())
    return len(re.sub(r"[*_`\[\]]", "", text).strip())


def _strip_html(text: str) -> str:
    open_tags: list[str] = []
    plain: list[str] = []
    position = 0
    while True:
        start = text.find("<", position)
        if start < 0:
            plain.append(text[position:])
            break
        plain.append(text[position:start])
        match = _HTML_TAG.match(text, start)
        if match is None or match.group(2) is None:
            raise bad_request(
                f"can't parse entities: Unexpected end of name token at byte offset "
                f"{len(text[:start].encode())}"
            )
        closing, name = match.group(1) == "/", match.group(2).lower()
        if name not in _HTML_TAGS:
            raise bad_request(
                f'can\'t parse entities: Unsupported start tag "{name}" at byte offset '
                f"{len(text[:start].encode())}"
            )
        if closing:
            if not open_tags or open_tags[-1] != name:
                raise bad_request(
                    f"can't parse entities: Unmatched end tag at byte offset "
                    f'{len(text[:start].encode())}, expected "</{open_tags[-1]}>", found '
                    f'"</{name}>"'
                    if open_tags
                    else f"can't parse entities: Unexpected end tag at byte offset "
                    f"{len(text[:start].encode())}"
                )
            open_tags.pop()
        else:
            open_tags.append(name)
        position = match.end()
    if open_tags:
        raise bad_request(
            "can't parse entities: Can't find end tag corresponding to start tag "
            f'"{open_tags[-1]}"'
        )
    return html.unescape("".join(plain))


def _strip_markdown_v2(text: str) -> str:
    """Drop MarkdownV2 markup, enforcing Telegram's escaping rules for reserved characters."""
    plain: list[str] = []
    open_marks: list[str] = []
    index, size = 0, len(text)
    in_code = in_url = False
    while index < size:
        char = text[index]
        if char == "\\":
            if index + 1 < size:
                plain.append(text[index + 1])
            index += 2
            continue
        if in_url:
            if char == ")":
                in_url = False
            index += 1
            continue
        if char == "`":
            fence = text.startswith("```", index)
            in_code = not in_code
            index += 3 if fence else 1
            continue
        if in_code:
            plain.append(char)
            index += 1
            continue
        if char in "*_~|":
            mark = (
                "__"
                if text.startswith("__", index)
                else "||"
                if text.startswith("||", index)
                else char
            )
            if mark == "|":
                _raise_reserved(text, index)
            if open_marks and open_marks[-1] == mark:
                open_marks.pop()
            else:
                open_marks.append(mark)
            index += len(mark)
            continue
        if char == "[":
            open_marks.append("[")
            index += 1
            continue
        if char == "]":
            if not open_marks or open_marks[-1] != "[":
                _raise_reserved(text, index)
            open_marks.pop()
            if text.startswith("(", index + 1):
                in_url = True
                index += 2
            else:
                index += 1
            continue
        if char == ">" and (index == 0 or text[index - 1] == "\n"):
            index += 1
            continue
        if char in _MARKDOWN_V2_RESERVED:
            _raise_reserved(text, index)
        plain.append(char)
        index += 1
    if in_code:
        raise bad_request("can't parse entities: Can't find end of Code entity")
    if open_marks:
        raise bad_request(
            f"can't parse entities: Can't find end of the entity starting with {open_marks[-1]!r}"
        )
    return "".join(plain)


def _raise_reserved(text: str, index: int) -> None:
    raise bad_request(
        f"can't parse entities: Character '{text[index]}' is reserved and must be escaped "
        "with the preceding '\\'"
    )
