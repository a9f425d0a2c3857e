"""The engine's errors: a case that cannot run here (Skip), and the one-line user error of
the format package, re-exported for the engine's modules."""

from ..format.errors import UserError


class Skip(Exception):
    """A case cannot run in this mode here; the message is the reason shown to the user."""


__all__ = ["Skip", "UserError"]
