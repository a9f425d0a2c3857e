"""Strings from outside (result files, the history database, the environment, a library's
error text) are shown, never obeyed: every control character, and the Unicode controls that
reorder or hide text, become visible escapes (ESC as the four characters `\\x1b`) before
anything lays them out. Line feeds and tabs stay: they obey nothing but layout."""

from __future__ import annotations

import re
from typing import TypeVar

# C0 but tab and line feed, DEL, C1; zero-width and direction marks, bidi embeddings,
# overrides and isolates, the word joiner family and the byte-order mark.
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069"
                     "\ufeff]")
T = TypeVar("T")


def escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """`text` with its control characters written out."""
    return CONTROL.sub(escape, text)


def visible_all(value: T) -> T:
    """Every string in parsed JSON (keys too) made visible; other values kept as they are."""
    if isinstance(value, str):
        return visible(value)  # type: ignore[return-value]
    if isinstance(value, dict):
        return {visible(k) if isinstance(k, str) else k: visible_all(v)  # type: ignore[return-value]
                for k, v in value.items()}
    if isinstance(value, list):
        return [visible_all(v) for v in value]  # type: ignore[return-value]
    return value
