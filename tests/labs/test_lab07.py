"""Lab 7 (backpressure) beyond the shared tests of test_grading.py and test_notebooks.py:
the chart of the backlog (our own SVG) as a notebook shows it, the correct variants keep
full marks, and the arithmetic the checks grade against."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import nbformat
import pytest

from autograder.golden import MUTATIONS, TOTALS
from autograder.labs import lab07
from autograder.plot import BOTTOM, HEIGHT, LEFT, RIGHT, WIDTH, line_chart

LAB = "lab07"
SVG = "{http://www.w3.org/2000/svg}"


def _points(polyline: ET.Element) -> list[tuple[float, float]]:
    return [tuple(map(float, p.split(","))) for p in polyline.get("points", "").split()]


def test_the_chart_draws_each_series_and_mark_where_its_numbers_are() -> None:
    backlog = [(0, 0), (30, 480), (150, 0)]
    chart = line_chart([("in the queue", backlog), ("per minute", [(60, 400), (120, 120)])],
                       title="orders-queue", x_label="seconds", y_label="messages",
                       marks=[(30, "burst ends"), (150, "predicted drain")])
    root = ET.fromstring(chart._repr_svg_())
    assert root.tag == f"{SVG}svg" and root.get("viewBox") == f"0 0 {WIDTH} {HEIGHT}"
    lines = root.findall(f"{SVG}polyline")
    assert [p.get("data-label") for p in lines] == ["in the queue", "per minute"]
    first = _points(lines[0])
    # x from 0 to 150 spans the plot's width; y 480 is under the axis top (500, a round number)
    assert first[0][0] == LEFT and first[-1][0] == WIDTH - RIGHT
    assert first[0][1] == first[-1][1] > first[1][1]          # starts and ends at 0, peaks between
    marks = root.findall(f"{SVG}line[@class='mark']")
    assert [float(m.get("x1")) for m in marks] == [LEFT + 30 / 150 * (WIDTH - LEFT - RIGHT), WIDTH - RIGHT]
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert {"orders-queue", "burst ends", "predicted drain", "500"} <= set(texts)
    assert "in the queue: 3 points, peak 480 at 30, last 0 at 150" in repr(chart)


def test_the_chart_escapes_labels_and_refuses_points_that_are_not_numbers() -> None:
    svg = line_chart([("a <b> & c", [(0, 1)])], title="<script>").svg()
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "a &lt;b&gt; &amp; c" in svg
    ET.fromstring(svg)
    with pytest.raises(ValueError, match="series 'bad' has points that are not two finite numbers"):
        line_chart([("bad", [(0, float("nan"))])])


def test_the_warehouse_rate_is_measured_over_sliding_windows() -> None:
    steady = [i * 0.25 for i in range(400)]               # 4 a second for 100 s
    assert lab07.peak_rate(steady)[0] == 40
    burst = steady + [50.0 + i / 100 for i in range(30)]   # 30 more inside one second
    peak, at = lab07.peak_rate(burst)
    assert peak == 70 and 40.0 < at <= 51.0
    assert lab07.tolerance(120) == 18 and lab07.tolerance(40) == 10


def test_the_workers_rate_spans_at_least_a_window_between_uneven_samples() -> None:
    from autograder.labs.lab07_workers import WorkersOutcome, acceptable_backlog

    # 1 task (0.5/s) for 180 s, then 8 tasks (4/s), sampled every 1 s and then every 10 s
    taken = [(float(t), t * 0.5) for t in range(31)] + [(30.0 + 10 * i, 15 + 5.0 * i) for i in range(1, 16)]
    taken += [(190.0 + 10 * i, 95 + 40.0 * i) for i in range(1, 10)]
    assert WorkersOutcome(taken=taken).peak_rate(10.0) == 4.0
    assert acceptable_backlog() == 30.0     # 0.5 orders a second x 60 s


def test_the_graded_notebook_shows_the_backlog_rising_and_draining(lab_course) -> None:
    """The chart as nbgrader's executed copy of the solution holds it (image/svg+xml)."""
    nb = nbformat.read(lab_course.autograded(LAB, "solution"), as_version=4)
    [cell] = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "lab07-burst"]
    [svg] = [o["data"]["image/svg+xml"] for o in cell.outputs if "image/svg+xml" in o.get("data", {})]
    root = ET.fromstring(svg)
    backlog, per_minute = root.findall(f"{SVG}polyline")
    assert backlog.get("data-label") == "orders in the queue (visible + in flight)"
    ys = [y for _, y in _points(backlog)]          # pixels: a bigger backlog is higher up
    empty = HEIGHT - BOTTOM                         # the x axis, where the queue is empty
    peak = ys.index(min(ys))
    assert ys[-1] == empty and ys[0] < empty and min(ys) < empty - 100   # 20 after 1 s; ends empty
    rising, draining = ys[:peak + 1], ys[peak:]
    assert rising == sorted(rising, reverse=True) and draining == sorted(draining)
    assert len(_points(per_minute)) >= 3
    printed = "".join(o.get("text", "") for o in cell.outputs if o["output_type"] == "stream")
    predicted, measured = map(float, re.search(r"predicted (\S+) s, measured (\S+) s", printed).groups())
    assert predicted == 120 and abs(measured - predicted) <= lab07.tolerance(predicted)


@pytest.mark.parametrize("variant", ["maximum-concurrency-only", "small-batches"])
def test_the_correct_variants_keep_full_marks(variant: str, lab_course) -> None:
    assert not next(m for m in MUTATIONS[LAB] if m.name == variant).fails
    assert lab_course.grade(LAB, variant)["score"] == TOTALS[LAB]
    assert lab_course.nbgrader_score(LAB, variant) == TOTALS[LAB]
