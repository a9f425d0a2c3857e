"""The two consoles every command writes to."""

from __future__ import annotations

import os
import sys

from rich.console import Console

# The width is a terminal's own, or COLUMNS wherever it is set (rich reads it); piped
# output without COLUMNS (CI logs, files) gets the wide layout rather than rich's 80.
PIPED_WIDTH = 160
# No markup and no emoji codes: every string printed is shown as written, so a reason such
# as "pip install 'dbnbench[torch]'" or a case label "[base]" is never eaten as a style tag.
# Styled output is built from rich Text objects.
_width = None if sys.stdout.isatty() or os.environ.get("COLUMNS", "").isdigit() else PIPED_WIDTH
out = Console(width=_width, markup=False, emoji=False)
err = Console(stderr=True, markup=False, emoji=False)
