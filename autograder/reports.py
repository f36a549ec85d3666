"""What ``eventlab grade`` writes for a class: ``results.csv``, ``results.json``,
``results.junit.xml`` and ``feedback/<student>.html``.

Feedback is built from the outcome alone: each criterion's title, points and message
(and a hint when it failed), the flags about the submission, and the errors its cells
raised with server paths removed.  It never contains check code, hidden tests' source,
the grader's paths or anything about another student.
"""

from __future__ import annotations

import csv
import html
import json
import xml.etree.ElementTree as ET
from pathlib import Path

from autograder.batch import Outcome, _safe


def _fmt(x: float) -> str:
    return f"{x:g}"


def write_all(outcomes: list[Outcome], out: Path, lab: str) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "results.csv", "json": out / "results.json",
             "junit": out / "results.junit.xml", "feedback": out / "feedback"}
    write_csv(outcomes, paths["csv"])
    paths["json"].write_text(json.dumps([o.as_dict() for o in outcomes], indent=2) + "\n")
    write_junit(outcomes, paths["junit"], lab)
    paths["feedback"].mkdir(exist_ok=True)
    for o in outcomes:
        (paths["feedback"] / f"{_safe(o.student)}.html").write_text(feedback_html(o))
    return paths


def write_csv(outcomes: list[Outcome], path: Path) -> None:
    ids: list[str] = []
    for o in outcomes:
        for r in o.results:
            if r["id"] not in ids:
                ids.append(r["id"])
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student", "notebook", "lab", "score", "points", "status", "flags",
                    "seconds", "peak_mb", *ids])
        for o in outcomes:
            earned = {r["id"]: _fmt(r["earned"]) for r in o.results}
            w.writerow([o.student, o.notebook, o.lab, _fmt(o.score), _fmt(o.points), o.status,
                        " | ".join(o.flags), o.seconds, o.peak_mb, *(earned.get(i, "") for i in ids)])


def write_junit(outcomes: list[Outcome], path: Path, lab: str) -> None:
    """One test suite per student, one test case per criterion; flags as a failing
    ``integrity`` case, so that a CI dashboard shows them."""
    root = ET.Element("testsuites", name=f"eventlab grade {lab}")
    total = failures = 0
    for o in outcomes:
        cases = [r for r in o.results]
        suite = ET.SubElement(root, "testsuite", name=o.student, tests=str(len(cases) + (1 if o.flags else 0)),
                              failures="0", errors="0", time=f"{o.seconds:.2f}")
        props = ET.SubElement(suite, "properties")
        for key, value in (("score", _fmt(o.score)), ("points", _fmt(o.points)),
                           ("status", o.status), ("notebook", o.notebook)):
            ET.SubElement(props, "property", name=key, value=value)
        failed = 0
        for r in cases:
            case = ET.SubElement(suite, "testcase", classname=f"{lab}.{o.student}.{r['step']}",
                                 name=f"{r['title']} ({_fmt(r['earned'])}/{_fmt(r['points'])})",
                                 time="0")
            if not r["ok"]:
                failed += 1
                ET.SubElement(case, "failure", message=r["message"]).text = f"Hint: {r['hint']}"
        if o.flags:
            case = ET.SubElement(suite, "testcase", classname=f"{lab}.{o.student}", name="integrity",
                                 time="0")
            ET.SubElement(case, "failure", message=f"{o.status}: {len(o.flags)} flag(s)").text = \
                "\n".join(o.flags)
            failed += 1
        suite.set("failures", str(failed))
        total += len(cases) + (1 if o.flags else 0)
        failures += failed
    root.set("tests", str(total))
    root.set("failures", str(failures))
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


_STATUS_TEXT = {
    "graded": "graded",
    "graded-with-flags": "graded, with notes below",
    "time-limit": "stopped at the time limit; what it had built was graded",
    "memory-limit": "stopped at the memory limit; what it had built was graded",
    "kernel-died": "the kernel died; what it had built was graded",
    "invalid-notebook": "not graded: the file is not a readable notebook",
    "missing": "not graded: no notebook was found",
    "grader-error": "not graded: the grader failed (your instructor has the details)",
}


def feedback_html(o: Outcome) -> str:
    e = html.escape
    rows = []
    for r in o.results:
        mark = "PASS" if r["ok"] else "FAIL"
        hint = "" if r["ok"] else f"<div class='hint'>Hint: {e(r['hint'])}</div>"
        rows.append(f"<tr class='{mark.lower()}'><td>{e(r['step'])}</td><td>{e(r['title'])}"
                    f"{' <i>(hidden test)</i>' if r.get('hidden') else ''}</td>"
                    f"<td class='n'>{_fmt(r['earned'])} / {_fmt(r['points'])}</td><td>{mark}</td>"
                    f"<td>{e(r['message'])}{hint}</td></tr>")
    notes = "".join(f"<li>{e(_public_flag(f))}</li>" for f in o.flags)
    errors = "".join(f"<li><code>{e(x)}</code></li>" for x in o.cell_errors)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(o.lab)} feedback: {e(o.student)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; max-width: 70em; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border: 1px solid #ccc; padding: 4px 8px; vertical-align: top; text-align: left; }}
td.n {{ text-align: right; white-space: nowrap; }}
tr.pass td:nth-child(4) {{ color: #1a7f37; font-weight: bold; }}
tr.fail td:nth-child(4) {{ color: #cf222e; font-weight: bold; }}
.hint {{ color: #555; margin-top: 4px; }}
</style></head><body>
<h1>{e(o.lab)}: {_fmt(o.score)} of {_fmt(o.points)} points</h1>
<p>Student: <b>{e(o.student)}</b>. Status: {e(_STATUS_TEXT.get(o.status, o.status))}.</p>
{f"<h2>Notes on your submission</h2><ul>{notes}</ul>" if notes else ""}
<h2>Criteria</h2>
<table><tr><th>Step</th><th>Criterion</th><th>Points</th><th>Result</th><th>What the grader found</th></tr>
{''.join(rows)}
</table>
{f"<h2>Cells that raised an error</h2><ul>{errors}</ul>" if errors else ""}
</body></html>
"""


def _public_flag(flag: str) -> str:
    """Flags name files by their place in the learner's own folder only."""
    from autograder.batch import _PATHISH

    return _PATHISH.sub("<path>", flag)
