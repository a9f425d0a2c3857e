"""JSON values as the result format and the engine's records hold them."""

from __future__ import annotations

JSONScalar = None | bool | int | float | str
JSON = JSONScalar | list["JSON"] | dict[str, "JSON"]
JSONObject = dict[str, JSON]

__all__ = ["JSON", "JSONObject", "JSONScalar"]
