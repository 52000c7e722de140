"""Regenerate ``botapi.json``: the subset of the Bot API spec that the sandbox serves.

Run from the repository root::

    python bot/sandbox/make_subset.py [path/to/telegram-bot-api-X.min.json]

The source is the scrape published by PaulSonOfLars/telegram-bot-api-spec (MIT License,
Copyright (c) 2020 Paul Larsen); the notice travels with the subset in ``NOTICE``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

DEFAULT_SOURCE = Path("../shared/reference/telegram-bot-api-10.1.min.json")
TARGET = Path(__file__).with_name("botapi.json")

# The methods docs/sandbox.md promises; keep both lists in step.
METHODS = (
    "getMe",
    "logOut",
    "close",
    "getUpdates",
    "setWebhook",
    "deleteWebhook",
    "getWebhookInfo",
    "sendMessage",
    "editMessageText",
    "editMessageReplyMarkup",
    "editMessageCaption",
    "deleteMessage",
    "deleteMessages",
    "answerCallbackQuery",
    "sendPhoto",
    "sendDocument",
    "sendVoice",
    "sendAudio",
    "sendVideo",
    "sendAnimation",
    "sendVideoNote",
    "sendSticker",
    "copyMessage",
    "forwardMessage",
    "getFile",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "getChat",
    "sendChatAction",
    "createForumTopic",
    "editForumTopic",
    "closeForumTopic",
    "reopenForumTopic",
    "deleteForumTopic",
    "getChatMember",
    "setMessageReaction",
    "getBusinessConnection",
)

# Types the sandbox sends in updates and results beyond the parameters' own, so tests
# can check its payloads against the spec.
RESULT_TYPES = ("BusinessConnection", "BusinessMessagesDeleted")


def _base_type(name: str) -> str:
    while name.startswith("Array of "):
        name = name.removeprefix("Array of ")
    return name


def _needed_types(methods: dict[str, Any], types: dict[str, Any]) -> set[str]:
    """Every type a parameter of ``methods`` can carry, followed through fields and subtypes."""
    pending = [
        _base_type(type_name)
        for method in methods.values()
        for field in method.get("fields", [])
        for type_name in field["types"]
    ]
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen or name not in types:
            continue
        seen.add(name)
        spec = types[name]
        pending.extend(spec.get("subtypes", []))
        pending.extend(
            _base_type(type_name)
            for field in spec.get("fields", [])
            for type_name in field["types"]
        )
    return seen


def make_subset(source: dict[str, Any]) -> dict[str, Any]:
    """Return the trimmed spec: the sandbox's methods and the types their parameters use."""
    methods = {name: source["methods"][name] for name in METHODS}
    type_names = _needed_types(
        {**methods, "results": {"fields": [{"types": list(RESULT_TYPES)}]}}, source["types"]
    )
    return {
        "version": source["version"],
        "release_date": source["release_date"],
        "source": "https://github.com/PaulSonOfLars/telegram-bot-api-spec (MIT, see NOTICE)",
        "methods": methods,
        "types": {name: source["types"][name] for name in sorted(type_names)},
    }


def main(argv: list[str]) -> None:
    source_path = Path(argv[1]) if len(argv) > 1 else DEFAULT_SOURCE
    source = json.loads(source_path.read_text(encoding="utf-8"))
    subset = make_subset(source)
    TARGET.write_text(json.dumps(subset, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{TARGET}: {len(subset['methods'])} methods, {len(subset['types'])} types")


if __name__ == "__main__":
    main(sys.argv)
