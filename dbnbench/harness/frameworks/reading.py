"""Reading a library's facts so that one unreadable fact never hides the rest."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any


def why(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:200]


def attempt(facts: dict[str, Any], reasons: dict[str, str], key: str,
            read: Callable[[], Any]) -> None:
    """facts[key] = read(), or None and a reason: one unreadable fact never hides the rest."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. torch's deprecated TF32 switches warn on read
            facts[key] = read()
    except Exception as exc:
        facts[key] = None
        reasons[key] = why(exc)
