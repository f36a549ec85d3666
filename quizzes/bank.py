"""Load the question bank for the runner, through a cache keyed by the files' mtimes.

Parsing ~200 Markdown files costs more than the rest of start-up, so the parsed bank is
pickled in the data directory, keyed by every file's name, size and mtime; any change to
the bank (a file added, edited, removed) misses the cache and re-parses.  The cache
holds only what we wrote ourselves; a cache that fails to load is ignored and rebuilt.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
from dataclasses import dataclass, field
from pathlib import Path

from quizzes.model import Question
from quizzes.tags import OPTION_LETTERS, QUESTION_TYPES

CACHE_VERSION = 4  # 2: Question.sources and Question.checked; 3: Question.examples; 4: Question.labs


@dataclass
class Bank:
    directory: Path
    questions: list[Question]
    skipped: list[Path] = field(default_factory=list)  # files the runner cannot ask

    def by_id(self) -> dict[str, Question]:
        return {q.id: q for q in self.questions}


def question_files(directory: Path) -> list[Path]:
    return sorted(p for p in Path(directory).glob("*.md") if p.is_file())


def usable(question: Question) -> bool:
    """Enough to be asked and marked (the validator is stricter)."""
    letters = question.letters
    return (
        question.type in QUESTION_TYPES
        and 2 <= len(letters) <= len(OPTION_LETTERS)
        and bool(question.answer)
        and set(question.answer) <= set(letters)
        and (len(question.answer) == 1) == (question.type == "single")
    )


def _fingerprint(files: list[Path]) -> str:
    h = hashlib.sha256(str(CACHE_VERSION).encode())
    for p in files:
        st = p.stat()
        h.update(f"{p.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _cache_path(directory: Path, cache_dir: Path) -> Path:
    tag = hashlib.sha256(str(Path(directory).resolve()).encode()).hexdigest()[:16]
    return cache_dir / f"bank-cache-{tag}.pickle"


def parse_bank(directory: Path) -> Bank:
    from quizzes.parser import parse_file

    questions: list[Question] = []
    skipped: list[Path] = []
    for path in question_files(directory):
        q, _problems = parse_file(path)
        if q is not None and usable(q):
            questions.append(q)
        else:
            skipped.append(path)
    return Bank(Path(directory), questions, skipped)


def load_bank(directory: Path, cache_dir: Path | None = None) -> Bank:
    """The parsed bank, from the cache when no file changed since it was written."""
    directory = Path(directory)
    files = question_files(directory)
    if cache_dir is None:
        return parse_bank(directory)
    key = _fingerprint(files)
    cache = _cache_path(directory, cache_dir)
    try:
        with cache.open("rb") as f:
            stored = pickle.load(f)
        if stored.get("key") == key:
            return Bank(directory, stored["questions"], stored["skipped"])
    except FileNotFoundError:
        pass
    except Exception:  # noqa: BLE001 - a damaged cache is only a cache: rebuild it
        pass
    bank = parse_bank(directory)
    tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as f:
            pickle.dump({"key": key, "questions": bank.questions, "skipped": bank.skipped}, f)
        os.replace(tmp, cache)
    except OSError as exc:
        print(f"note: could not write the bank cache {cache}: {exc}", file=sys.stderr)
        tmp.unlink(missing_ok=True)
    return bank
