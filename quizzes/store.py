"""The learner's progress: every answer, the spaced-repetition card of every question,
flags, and finished exams, in one SQLite file in the data directory.

Safe against a killed process: the database runs in WAL mode, and each answer (its
attempt row and its updated FSRS card) is written in one transaction, so after a crash
the file holds every answer committed before it and none half-written.  A file SQLite
cannot read is never deleted: it is moved aside to ``<name>.corrupt-<timestamp>`` and a
message naming both paths is given before a fresh database is started.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 2  # 2: attempts.seconds (time spent on the question, for pacing)
SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY,
    qid TEXT NOT NULL,
    at TEXT NOT NULL,            -- ISO 8601, UTC
    mode TEXT NOT NULL,          -- practice | exam | review | srs | widget
    chosen TEXT NOT NULL,        -- e.g. "A,C"
    correct INTEGER NOT NULL,
    session INTEGER,
    seconds REAL                 -- time from showing the question to the answer; NULL if unknown
);
CREATE INDEX IF NOT EXISTS attempts_qid ON attempts(qid);
CREATE TABLE IF NOT EXISTS cards (
    qid TEXT PRIMARY KEY,
    card TEXT NOT NULL,          -- fsrs.Card.to_json()
    due TEXT NOT NULL,
    reviews INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS flags (
    qid TEXT PRIMARY KEY,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY,
    mode TEXT NOT NULL,
    started TEXT NOT NULL,
    finished TEXT,
    status TEXT NOT NULL,        -- open | finished | interrupted
    score INTEGER,
    correct INTEGER,
    total INTEGER,
    detail TEXT                  -- JSON
);
"""


def utcnow() -> datetime:
    return datetime.now(UTC)


def default_path() -> Path:
    from quizzes.paths import data_dir

    return data_dir() / "progress.sqlite"


@dataclass
class DayStats:
    day: str
    attempts: int
    correct: int


class ProgressStore:
    """One learner's progress database.  Use as a context manager or call :meth:`close`."""

    def __init__(
        self,
        path: Path | None = None,
        *,
        warn: Callable[[str], None] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._warn = warn or (lambda msg: print(msg, file=sys.stderr))
        self._clock = clock
        self._scheduler: Any = None   # fsrs.Scheduler, imported on first use
        self.set_aside: Path | None = None
        try:
            self.conn = self._open()
        except sqlite3.DatabaseError as exc:
            self.set_aside = self._move_aside(exc)
            self.conn = self._open()

    # -- opening and recovery -------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(
                "PRAGMA synchronous=NORMAL"
            )  # durable against a killed process in WAL mode
            row = conn.execute("PRAGMA quick_check").fetchone()
            if not row or row[0] != "ok":
                raise sqlite3.DatabaseError(
                    f"integrity check failed: {row[0] if row else 'no answer'}"
                )
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise sqlite3.DatabaseError(
                    f"schema version {version} is newer than this eventlab understands ({SCHEMA_VERSION})"
                )
            conn.executescript(SCHEMA)
            columns = {r[1] for r in conn.execute("PRAGMA table_info(attempts)")}
            if "seconds" not in columns:  # a version-1 store: keep every answer, add the column
                conn.execute("ALTER TABLE attempts ADD COLUMN seconds REAL")
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.DatabaseError:
            conn.close()
            raise
        return conn

    def _move_aside(self, exc: Exception) -> Path:
        stamp = self._clock().strftime("%Y%m%dT%H%M%SZ")
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        n = 1
        while target.exists():
            target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
            n += 1
        os.replace(self.path, target)
        for suffix in ("-wal", "-shm"):
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                os.replace(side, target.with_name(target.name + suffix))
        self._warn(
            f"eventlab quiz: the progress database {self.path} could not be read ({exc}).\n"
            f"It was moved aside, unchanged, to {target}; a fresh progress database was started "
            f"at {self.path}. Nothing was deleted: keep the old file if you want to try to recover it."
        )
        return target

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> ProgressStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ----------------------------------------------------------------------

    def _fsrs(self):
        if self._scheduler is None:
            from fsrs import Scheduler

            self._scheduler = Scheduler(enable_fuzzing=False)
        return self._scheduler

    def record_answer(
        self,
        qid: str,
        chosen: Iterable[str],
        correct: bool,
        mode: str,
        session: int | None = None,
        when: datetime | None = None,
        seconds: float | None = None,
    ) -> None:
        """One answer: the attempt and the question's FSRS card, in one transaction.

        ``seconds`` is how long the learner spent on the question, when it is known.
        """
        from fsrs import Card, Rating

        when = when or self._clock()
        chosen_text = ",".join(chosen)
        with self._transaction() as cur:
            row = cur.execute("SELECT card, reviews FROM cards WHERE qid=?", (qid,)).fetchone()
            card = Card.from_json(row[0]) if row else Card()
            reviews = (row[1] if row else 0) + 1
            card, _log = self._fsrs().review_card(
                card, Rating.Good if correct else Rating.Again, when
            )
            cur.execute(
                "INSERT INTO attempts(qid, at, mode, chosen, correct, session, seconds) "
                "VALUES (?,?,?,?,?,?,?)",
                (qid, when.isoformat(), mode, chosen_text, int(correct), session, seconds),
            )
            cur.execute(
                "INSERT INTO cards(qid, card, due, reviews) VALUES (?,?,?,?) "
                "ON CONFLICT(qid) DO UPDATE SET card=excluded.card, due=excluded.due, reviews=excluded.reviews",
                (qid, card.to_json(), card.due.isoformat(), reviews),
            )

    def set_flag(self, qid: str, flagged: bool = True) -> None:
        with self._transaction() as cur:
            if flagged:
                cur.execute(
                    "INSERT OR IGNORE INTO flags(qid, at) VALUES (?,?)",
                    (qid, self._clock().isoformat()),
                )
            else:
                cur.execute("DELETE FROM flags WHERE qid=?", (qid,))

    def start_session(self, mode: str, detail: dict | None = None) -> int:
        with self._transaction() as cur:
            cur.execute(
                "INSERT INTO sessions(mode, started, status, detail) VALUES (?,?, 'open', ?)",
                (mode, self._clock().isoformat(), json.dumps(detail or {})),
            )
            assert cur.lastrowid is not None   # an INSERT always has one
            return int(cur.lastrowid)

    def finish_session(
        self,
        session: int,
        status: str,
        *,
        score: int | None = None,
        correct: int | None = None,
        total: int | None = None,
        detail: dict | None = None,
    ) -> None:
        with self._transaction() as cur:
            cur.execute(
                "UPDATE sessions SET finished=?, status=?, score=?, correct=?, total=?, detail=COALESCE(?, detail) "
                "WHERE id=?",
                (
                    self._clock().isoformat(),
                    status,
                    score,
                    correct,
                    total,
                    json.dumps(detail) if detail is not None else None,
                    session,
                ),
            )

    def reopen_session(self, session: int) -> None:
        with self._transaction() as cur:
            cur.execute("UPDATE sessions SET status='open', finished=NULL WHERE id=?", (session,))

    def last_interrupted_exam(self) -> tuple[int, dict] | None:
        """The most recent exam stopped with Ctrl-C: its id and saved state."""
        row = self.conn.execute(
            "SELECT id, detail FROM sessions WHERE mode='exam' AND status='interrupted' ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return (row[0], json.loads(row[1])) if row else None

    class _Tx:
        def __init__(self, conn: sqlite3.Connection) -> None:
            self.conn = conn

        def __enter__(self) -> sqlite3.Cursor:
            self.conn.execute("BEGIN IMMEDIATE")
            return self.conn.cursor()

        def __exit__(self, exc_type, exc, tb) -> None:
            self.conn.execute("ROLLBACK" if exc_type else "COMMIT")

    def _transaction(self) -> ProgressStore._Tx:
        return ProgressStore._Tx(self.conn)

    # -- reading ----------------------------------------------------------------------

    def attempt_count(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM attempts").fetchone()[0]

    def attempts(self, qid: str | None = None) -> list[tuple[str, str, str, bool]]:
        """(qid, mode, chosen, correct) in the order answered."""
        sql = "SELECT qid, mode, chosen, correct FROM attempts"
        rows = self.conn.execute(
            sql + (" WHERE qid=?" if qid else "") + " ORDER BY id", (qid,) if qid else ()
        )
        return [(r[0], r[1], r[2], bool(r[3])) for r in rows]

    def timed_answers(self) -> list[tuple[str, str, float]]:
        """(qid, mode, seconds) of every answer whose time was recorded, in the order answered."""
        rows = self.conn.execute(
            "SELECT qid, mode, seconds FROM attempts WHERE seconds IS NOT NULL ORDER BY id"
        )
        return [(r[0], r[1], float(r[2])) for r in rows]

    def flagged(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT qid FROM flags")}

    def missed(self) -> set[str]:
        """Questions whose latest answer was wrong."""
        rows = self.conn.execute(
            "SELECT a.qid FROM attempts a JOIN (SELECT qid, MAX(id) AS last FROM attempts GROUP BY qid) l "
            "ON a.id = l.last WHERE a.correct = 0"
        )
        return {r[0] for r in rows}

    def seen(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT qid FROM cards")}

    def due(self, now: datetime | None = None) -> list[str]:
        """Questions whose card is due, the longest overdue first."""
        now = now or self._clock()
        rows = self.conn.execute("SELECT qid, due FROM cards")
        due = [(datetime.fromisoformat(d), q) for q, d in rows if datetime.fromisoformat(d) <= now]
        return [q for _d, q in sorted(due)]

    def days(self) -> list[DayStats]:
        rows = self.conn.execute(
            "SELECT substr(at, 1, 10) AS day, COUNT(*), SUM(correct) FROM attempts GROUP BY day ORDER BY day"
        )
        return [DayStats(r[0], r[1], r[2] or 0) for r in rows]

    def exams(self) -> list[dict]:
        rows = self.conn.execute(
            "SELECT id, started, status, score, correct, total, detail FROM sessions "
            "WHERE mode='exam' AND status='finished' ORDER BY id"
        )
        keys = ("id", "started", "status", "score", "correct", "total")
        out = []
        for r in rows:
            exam = dict(zip(keys, r[:6], strict=True))
            try:
                elapsed = json.loads(r[6] or "{}").get("elapsed")
            except (ValueError, AttributeError):
                elapsed = None
            exam["elapsed"] = float(elapsed) if isinstance(elapsed, int | float) else None
            out.append(exam)
        return out
