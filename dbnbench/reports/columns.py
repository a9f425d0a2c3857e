"""Tables that fit the terminal: each column has forms from the richest to the most compact,
and a table gives up detail, step by step in a stated order, until one row is one line.

rich folds a cell that does not fit, which turns a 12-column row into six lines at 80
columns; here a column is shortened or dropped instead, and the legend says what is shown."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text

R = TypeVar("R")
GAP = 2  # spaces between columns


@dataclass(frozen=True)
class Form(Generic[R]):
    header: str
    cell: Callable[[R], str | Text]
    legend: str = ""  # what a reader needs to read this form (an abbreviation, a unit)


@dataclass(frozen=True)
class Column(Generic[R]):
    key: str
    forms: tuple[Form[R], ...]  # richest first
    justify: str = "left"


def as_text(value: str | Text) -> Text:
    """A cell as Text: library and user strings are never read as rich markup."""
    return value if isinstance(value, Text) else Text(value)


@dataclass(frozen=True)
class Layout(Generic[R]):
    """The chosen form of each column that is kept, and their widths."""

    columns: tuple[tuple[Column[R], Form[R], int], ...]

    @property
    def width(self) -> int:
        return sum(w for _, _, w in self.columns) + GAP * max(len(self.columns) - 1, 0)

    def legend(self) -> list[str]:
        return [f.legend for _, f, _ in self.columns if f.legend]

    def table(self, rows: Sequence[R], show_header: bool = True) -> Table:
        """A borderless table of these rows, every column at its fitted width, so tables of
        one layout (one per group of rows) line up under each other."""
        table = Table(box=None, show_header=show_header, pad_edge=False, padding=(0, GAP // 2),
                      header_style="bold", show_edge=False, expand=False)
        for column, form, width in self.columns:
            table.add_column(Text(form.header), justify=column.justify,  # type: ignore[arg-type]
                             width=width, overflow="fold")
        for row in rows:
            table.add_row(*(as_text(form.cell(row)) for _, form, _ in self.columns))
        return table


def measure(form: Form[R], rows: Sequence[R]) -> int:
    return max([cell_len(form.header), *(as_text(form.cell(r)).cell_len for r in rows)])


def fit(columns: Sequence[Column[R]], rows: Sequence[R], width: int,
        steps: Sequence[tuple[str, str]]) -> Layout[R]:
    """The richest layout of `rows` no wider than `width`: from every column's first form,
    apply `steps` in order — (key, "next") takes a column's next form, (key, "drop") drops
    it — until the table fits, or the steps run out (then rich folds what is left)."""
    chosen: dict[str, int | None] = {c.key: 0 for c in columns}

    def layout() -> Layout[R]:
        kept = []
        for c in columns:
            index = chosen[c.key]
            if index is not None:
                form = c.forms[index]
                kept.append((c, form, measure(form, rows)))
        return Layout(tuple(kept))

    current = layout()
    for key, action in steps:
        if current.width <= width:
            break
        index = chosen.get(key)
        if index is None:
            continue
        forms = next(c.forms for c in columns if c.key == key)
        chosen[key] = None if action == "drop" else min(index + 1, len(forms) - 1)
        current = layout()
    return current
