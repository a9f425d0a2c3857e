"""Errors that reach the user as one line and exit code 2."""


class UserError(Exception):
    """Bad input: an unknown name, a malformed file, an unusable directory."""


class Skip(Exception):
    """A case cannot run in this mode here; the message is the reason shown to the user."""
