"""The two consoles every command writes to."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable

from rich.console import Console
from rich.segment import Segment

from ..format.shown import visible

# The width is a terminal's own, or COLUMNS wherever it is set (rich reads it); piped
# output without COLUMNS (CI logs, files) gets the wide layout rather than rich's 80.
PIPED_WIDTH = 160
# No markup and no emoji codes: every string printed is shown as written, so a reason such
# as "pip install 'dbnbench[torch]'" or a case label "[base]" is never eaten as a style tag.
# Styled output is built from rich Text objects.
# COLUMNS outside these bounds is a broken environment, not a request: rich would print
# nothing at all at 0, and lay out gigabytes of blanks at 10⁹.
MIN_WIDTH, MAX_WIDTH = 40, 1000


def width_of(columns: str | None, tty: bool) -> int | None:
    """The width to lay out at: COLUMNS where it is a number (held within MIN_WIDTH to
    MAX_WIDTH), else the terminal's own (None: rich asks it), else PIPED_WIDTH."""
    if columns is not None and columns.strip().isdigit():
        return min(max(int(columns), MIN_WIDTH), MAX_WIDTH)
    return None if tty else PIPED_WIDTH


class ShownConsole(Console):
    """The last guard: text that reaches the terminal with a control character in it (a
    string no reader made visible first) has it written out; only rich's own styling, which
    it keeps apart as styles and control segments, reaches the terminal as escapes."""

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        return super()._render_buffer(
            Segment(visible(s.text), s.style, s.control) if not s.control else s
            for s in buffer)


_columns = os.environ.get("COLUMNS")
out = ShownConsole(width=width_of(_columns, sys.stdout.isatty()), markup=False, emoji=False)
err = ShownConsole(stderr=True, width=width_of(_columns, True), markup=False, emoji=False)
