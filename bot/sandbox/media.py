"""Small media helpers: image dimensions and generated sample files."""

from __future__ import annotations

import struct
import zlib

DEFAULT_IMAGE_SIZE = (320, 240)


def image_size(data: bytes) -> tuple[int, int]:
    """Return ``(width, height)`` of a PNG or JPEG, or a plausible default for anything else."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data[:2] == b"\xff\xd8":
        index = 2
        while index + 9 < len(data):
            if data[index] != 0xFF:
                index += 1
                continue
            marker = data[index + 1]
            (length,) = struct.unpack(">H", data[index + 2 : index + 4])
            if marker in (0xC0, 0xC1, 0xC2):
                height, width = struct.unpack(">HH", data[index + 5 : index + 9])
                return width, height
            index += 2 + length
    return DEFAULT_IMAGE_SIZE


def make_png(width: int, height: int, rgb: tuple[int, int, int] = (66, 133, 244)) -> bytes:
    """Return a valid PNG of one colour (used for sample photos and stickers)."""
    row = b"\x00" + bytes(rgb) * width
    raw = row * height

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def sample_voice(duration: int) -> bytes:
    """Return bytes that start like an Ogg/Opus voice note (content is silence-ish)."""
    return b"OggS\x00\x02" + b"\x00" * (64 + 32 * max(1, duration))
