"""The two consoles every command writes to."""

from __future__ import annotations

import sys

from rich.console import Console

# Piped output (CI logs, files) gets a wide table rather than rich's 80-column default.
out = Console() if sys.stdout.isatty() else Console(width=160)
err = Console(stderr=True)
