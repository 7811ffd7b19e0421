"""How the report writes into HTML: every text escaped, figures short, times local."""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from typing import Any


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, header: bool = True) -> str:
    """A ``<table>`` of ``rows`` (every cell escaped) under ``headers``, or with no header
    row when ``header`` is false."""
    head = "<tr>" + "".join(f"<th>{escape(h)}</th>" for h in headers) + "</tr>" if header else ""
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table>{head}{body}</table>"


def escape(text: Any) -> str:
    """``text`` as HTML text or attribute value: archive texts are hostile."""
    return html.escape(str(text), quote=True)


def figure(v: float | None) -> str:
    """A metric value to 4 significant digits; "–" for none."""
    return "–" if v is None else f"{v:.4g}"


def when(t: float | None) -> str:
    """A timestamp as local date and time; "–" for none."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else "–"
