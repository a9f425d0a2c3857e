"""The error that reaches the user as one line and exit code 2."""


class UserError(Exception):
    """Bad input: an unknown name, a malformed file, an unusable directory."""


__all__ = ["UserError"]
