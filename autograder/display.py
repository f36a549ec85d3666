"""How a report looks: an ipywidgets checklist in JupyterLab, a table in plain text.

The checklist's plain-text form is the table, so feedback HTML, ``nbconvert --to
markdown`` and terminals that cannot show widgets still say what passed and what failed.
"""

from __future__ import annotations

import html
import textwrap
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:   # checks.Report.table() imports this module: no cycle at run time
    from autograder.checks import Report, Result


def _fmt(x: float) -> str:
    return f"{x:g}"


def text_table(report: Report) -> str:
    """A fixed-width table: one row per criterion, then the total."""
    rows = [("", "criterion", "points")]
    for r in report.results:
        rows.append(("PASS" if r.ok else "FAIL", r.title + (" (hidden)" if r.hidden else ""),
                     f"{_fmt(r.earned)}/{_fmt(r.points)}"))
    width = max(len(t) for _, t, _ in rows)
    lines = [f"{report.lab} {report.title}".rstrip()]
    for mark, title, pts in rows:
        lines.append(f"{mark:4}  {title:<{width}}  {pts:>7}")
    lines.append(f"{'':4}  {'total':<{width}}  {_fmt(report.score) + '/' + _fmt(report.points):>7}")
    for r in report.results:
        if not r.ok:
            lines.append("")
            lines.append(f"FAIL {r.title}:")
            lines.extend("  " + line for line in textwrap.wrap(r.message, 92))
            lines.extend("  " + line for line in textwrap.wrap("hint: " + r.hint, 92))
    return "\n".join(lines)


def html_table(report: Report) -> str:
    """The report as static HTML (nbgrader feedback and nbconvert show this form)."""
    rows = []
    for r in report.results:
        mark = "PASS" if r.ok else "FAIL"
        hint = "" if r.ok else f"<details><summary>Hint</summary>{html.escape(r.hint)}</details>"
        rows.append(f"<tr><td>{mark}</td><td><b>{html.escape(r.title)}</b>"
                    f"{' (hidden)' if r.hidden else ''}<br>{html.escape(r.message)}{hint}</td>"
                    f"<td>{_fmt(r.earned)}/{_fmt(r.points)}</td></tr>")
    return (f"<table class='eventlab-report'><caption>{html.escape(report.lab)} "
            f"{html.escape(report.title)}: {_fmt(report.score)} of {_fmt(report.points)} points"
            f"</caption><tr><th></th><th>criterion</th><th>points</th></tr>{''.join(rows)}</table>")


def in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def show(report: Report) -> Any:
    """Display a report: the checklist widget in a kernel, the table otherwise."""
    if not in_notebook():
        print(text_table(report))
        return None
    from IPython.display import display

    view = checklist(report)
    report.attach(view)
    display(view)
    return view


def checklist(report: Report) -> Any:
    import ipywidgets as w

    class Checklist(w.VBox):
        """Pass/fail per criterion with an expandable hint; its text form is the table."""

        def refresh(self, rep: Report) -> None:
            self._report = rep
            header = w.HTML(
                f"<b>{html.escape(rep.lab)} {html.escape(rep.title)}</b>: "
                f"{_fmt(rep.score)} of {_fmt(rep.points)} points")
            self.children = [header, *(_row(r) for r in rep.results)]

        def _repr_mimebundle_(self, **kwargs: Any) -> Any:
            bundle = super()._repr_mimebundle_(**kwargs)
            if isinstance(bundle, dict):
                bundle["text/plain"] = text_table(self._report)
                bundle["text/html"] = html_table(self._report)
            return bundle

    view = Checklist(layout=w.Layout(border="1px solid #ccc", padding="4px"))
    view.add_class("eventlab-checklist")
    view.refresh(report)
    return view


def _row(r: Result) -> Any:
    import ipywidgets as w

    mark = ("<span style='color:#1a7f37;font-weight:bold'>PASS</span>" if r.ok
            else "<span style='color:#cf222e;font-weight:bold'>FAIL</span>")
    label = w.HTML(
        f"{mark} <b>{html.escape(r.title)}</b> ({_fmt(r.earned)}/{_fmt(r.points)})"
        f"{' <i>hidden test</i>' if r.hidden else ''}<br><span>{html.escape(r.message)}</span>")
    items: list[Any] = [label]
    if not r.ok:
        hint = w.Accordion(children=[w.HTML(html.escape(r.hint))], titles=("Hint",))
        hint.selected_index = None
        items.append(hint)
    box = w.VBox(items)
    box.add_class("eventlab-check-" + ("pass" if r.ok else "fail"))
    return box
