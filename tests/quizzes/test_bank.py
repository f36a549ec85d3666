import os
import shutil

from quizzes.bank import load_bank
from tests.quizzes.conftest import BANK, BROKEN


def test_cache_is_used_until_a_file_changes(tmp_path, monkeypatch):
    bank = tmp_path / "bank"
    shutil.copytree(BANK, bank)
    cache = tmp_path / "cache"
    cache.mkdir()
    first = load_bank(bank, cache_dir=cache)
    assert len(first.questions) == 8
    assert len(list(cache.glob("bank-cache-*.pickle"))) == 1

    calls = []
    import quizzes.bank as mod

    real = mod.parse_bank
    monkeypatch.setattr(mod, "parse_bank", lambda d: calls.append(d) or real(d))
    assert [q.id for q in load_bank(bank, cache_dir=cache).questions] == [
        q.id for q in first.questions
    ]
    assert calls == []  # served from the cache

    path = bank / "sqs-vs-sns-001.md"
    path.write_text(path.read_text().replace("difficulty: 1", "difficulty: 3"))
    os.utime(path, ns=(1, 1))
    again = load_bank(bank, cache_dir=cache)
    assert len(calls) == 1
    assert next(q for q in again.questions if q.id == "sqs-vs-sns-001").difficulty == 3

    (bank / "sync-vs-async-001.md").unlink()
    assert len(load_bank(bank, cache_dir=cache).questions) == 7


def test_a_damaged_cache_is_rebuilt(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    load_bank(BANK, cache_dir=cache)
    for p in cache.glob("*.pickle"):
        p.write_bytes(b"not a pickle")
    assert len(load_bank(BANK, cache_dir=cache).questions) == 8


def test_unusable_files_are_skipped_not_fatal():
    bank = load_bank(BROKEN)
    skipped = {p.name for p in bank.skipped}
    assert {"no-front-matter.md", "answer-not-option.md", "single-two-keys.md"} <= skipped
    assert "unknown-topic.md" not in skipped  # askable; only the validator minds
