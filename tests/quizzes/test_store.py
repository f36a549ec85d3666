from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from quizzes.store import ProgressStore

ROOT = Path(__file__).resolve().parents[2]

WRITER = r"""
import sys
from quizzes.store import ProgressStore
store = ProgressStore(sys.argv[1])
i = 0
while True:
    qid = f"q{i % 7}"
    store.record_answer(qid, ["A"], i % 3 != 0, "practice")
    i += 1
    print(i, flush=True)
"""


def test_records_answers_flags_and_cards(tmp_path):
    with ProgressStore(tmp_path / "p.sqlite") as s:
        s.record_answer("a", ["B"], True, "practice")
        s.record_answer("b", ["A", "C"], False, "exam")
        s.record_answer("a", ["C"], False, "review")
        s.set_flag("b")
        s.set_flag("b")
        assert s.attempts() == [
            ("a", "practice", "B", True),
            ("b", "exam", "A,C", False),
            ("a", "review", "C", False),
        ]
        assert s.missed() == {"a", "b"}
        assert s.flagged() == {"b"}
        s.set_flag("b", False)
        assert s.flagged() == set()
        assert s.seen() == {"a", "b"}
        assert s.conn.execute("SELECT reviews FROM cards WHERE qid='a'").fetchone()[0] == 2
        assert s.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_progress_survives_a_process_killed_mid_write(tmp_path):
    db = tmp_path / "progress.sqlite"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        committed = 0
        for line in proc.stdout:  # each line is printed after its transaction committed
            committed = int(line)
            if committed >= 150:
                break
        proc.send_signal(signal.SIGKILL)  # while it is in the middle of further writes
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    messages: list[str] = []
    with ProgressStore(db, warn=messages.append) as s:
        assert messages == [] and s.set_aside is None  # nothing was corrupt
        assert s.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        n = s.attempt_count()
        assert n >= committed
        # each answer and its card were written together: counts agree question by question
        per_q = dict(s.conn.execute("SELECT qid, COUNT(*) FROM attempts GROUP BY qid"))
        cards = dict(s.conn.execute("SELECT qid, reviews FROM cards"))
        assert per_q == cards
        s.record_answer("after", ["A"], True, "practice")  # and it is writable again
        assert s.attempt_count() == n + 1


def test_a_corrupt_database_is_set_aside_with_a_message(tmp_path):
    db = tmp_path / "progress.sqlite"
    garbage = b"this is not an SQLite database\x00" * 100
    db.write_bytes(garbage)
    messages: list[str] = []
    fixed = datetime(2026, 11, 28, 9, 30, 0, tzinfo=UTC)
    with ProgressStore(db, warn=messages.append, clock=lambda: fixed) as s:
        aside = tmp_path / "progress.sqlite.corrupt-20261128T093000Z"
        assert s.set_aside == aside
        assert aside.read_bytes() == garbage  # kept byte for byte
        assert len(messages) == 1
        assert str(db) in messages[0] and str(aside) in messages[0]
        assert "Nothing was deleted" in messages[0]
        s.record_answer("a", ["A"], True, "practice")
        assert s.attempt_count() == 1


def test_a_damaged_page_is_set_aside_too(tmp_path):
    db = tmp_path / "progress.sqlite"
    with ProgressStore(db) as s:
        for i in range(200):
            s.record_answer(f"q{i}", ["A"], True, "practice")
        s.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(db.read_bytes())
    for i in range(4096, min(len(data), 4096 * 3)):
        data[i] = 0x5A  # scribble over the pages after the header
    db.write_bytes(bytes(data))
    messages: list[str] = []
    with ProgressStore(db, warn=messages.append) as s:
        assert s.set_aside is not None and s.set_aside.exists()
        assert s.attempt_count() == 0
    assert "could not be read" in messages[0]


def test_cli_reports_the_set_aside(capsys, data_dir):
    from eventlab.cli import main
    from tests.quizzes.conftest import BANK

    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "progress.sqlite").write_text("garbage")
    assert main(["quiz", str(BANK), "-n", "1", "--answers", os.devnull]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "progress.sqlite.corrupt-" in out and "was moved aside" in out
    assert sorted(p.name for p in data_dir.iterdir() if "corrupt" in p.name)
    assert sqlite3.connect(data_dir / "progress.sqlite").execute(
        "SELECT COUNT(*) FROM attempts"
    ).fetchone() == (0,)
