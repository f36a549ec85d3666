"""Executable claims: runnable examples in the notes that the sandbox must agree with.

A note shows a behaviour, not only states it, with a fenced block whose info string is
``python sandbox id=<claim-id>``::

    ```python sandbox id=sqs-fifo-dedup
    sqs = sb.client("sqs")
    ...
    assert len(messages) == 1
    ```

The first word keeps the block ordinary Python to every renderer (GitHub, JupyterLab,
``eventlab notes``); the rest marks it as a claim and gives it a stable id that quiz
questions can cite (``content/queues-and-notifications.md`` + ``sqs-fifo-dedup``).

Each block runs on its own fresh :class:`eventlab.sandbox.Sandbox`, bound to the name
``sb``; nothing else is predefined, so a reader can paste a block under
``with Sandbox() as sb:`` and run it.  A block states its claim with plain ``assert``:
when the note and the sandbox disagree the run fails, naming the file, the line and the
id.  Time passes only on the virtual clock (``sb.clock.advance(...)``).

Public API::

    claims(root=None)              -> [Claim] every marked block under content/
    differences_claims()           -> [Claim] every marked block in docs/differences.md
    parse(text, path)              -> [Claim] the marked blocks of one Markdown text
    run_claim(claim, sandbox=None) -> None, or raises ClaimFailed
    run_all(claim_list)            -> [ClaimFailed] (empty when every claim holds)
"""

from __future__ import annotations

import re
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eventlab import content
from eventlab.errors import EventlabError, InputError

__all__ = ["MARKER", "Claim", "ClaimError", "ClaimFailed", "claims", "differences_claims", "parse", "run_all",
           "run_claim"]

MARKER = "sandbox"
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class ClaimError(InputError, ValueError):
    """A marked block that cannot be a claim (no id, a bad id, a repeated id)."""


@dataclass(frozen=True)
class Claim:
    """One marked block: the note it is in, its id, the line its code starts on, the code."""

    path: Path
    id: str
    line: int
    code: str

    @property
    def where(self) -> str:
        return f"{content.display_path(self.path)}:{self.line}"

    def __str__(self) -> str:
        return f"{self.where} [{self.id}]"


class ClaimFailed(EventlabError, AssertionError):
    """A claim the sandbox does not bear out: names file, line and id, with the traceback."""

    def __init__(self, claim: Claim, detail: str) -> None:
        super().__init__(f"{claim} does not hold in the sandbox:\n{detail}")
        self.claim = claim
        self.detail = detail


def _info_words(info: str) -> list[str]:
    return info.strip().split()


def _is_claim(info: str) -> bool:
    words = _info_words(info)
    return len(words) >= 2 and words[0].lower() == "python" and words[1] == MARKER


def parse(text: str, path: Path | str) -> list[Claim]:
    """The marked blocks of one Markdown text, in order; ClaimError for a malformed marker."""
    found: list[Claim] = []
    for tok in content.markdown_parser().parse(text):
        if tok.type != "fence" or not _is_claim(tok.info):
            continue
        first_line = (tok.map or [0])[0] + 1
        ids = [w.removeprefix("id=") for w in _info_words(tok.info)[2:] if w.startswith("id=")]
        if len(ids) != 1 or not _ID.match(ids[0]):
            raise ClaimError(
                f"{content.display_path(Path(path))}:{first_line}: a 'python {MARKER}' block needs "
                f"one id=<lowercase-words-with-hyphens>, got {tok.info.strip()!r}")
        found.append(Claim(Path(path), ids[0], first_line + 1, tok.content))
    return found


def claims(root: Path | None = None) -> list[Claim]:
    """Every marked block in every note; ClaimError when two blocks share an id."""
    out: list[Claim] = []
    seen: dict[str, Claim] = {}
    for path in content.content_files(root):
        for claim in parse(path.read_text(encoding="utf-8"), path):
            if claim.id in seen:
                raise ClaimError(f"{claim}: id already used at {seen[claim.id]}")
            seen[claim.id] = claim
            out.append(claim)
    return out


def differences_claims() -> list[Claim]:
    """The marked blocks of docs/differences.md: the page that says where the sandbox and
    AWS differ shows each difference, so it cannot drift from the sandbox unnoticed."""
    from eventlab.paths import project_root

    path = project_root() / "docs" / "differences.md"
    return parse(path.read_text(encoding="utf-8"), path)


def run_claim(claim: Claim, sandbox: Any = None) -> None:
    """Run one claim on ``sandbox`` (a fresh one when None); raise ClaimFailed if it fails.

    The code is compiled with the note's path and line numbers, so a traceback points at
    the line of the note that failed.
    """
    if sandbox is None:
        from eventlab.sandbox import Sandbox

        with Sandbox() as sb:
            run_claim(claim, sb)
        return
    source = "\n" * (claim.line - 1) + claim.code
    filename = str(claim.path)
    try:
        code = compile(source, filename, "exec")
        exec(code, {"__name__": f"claim_{claim.id.replace('-', '_')}", "sb": sandbox})
    except Exception as exc:  # noqa: BLE001 - every failure of the example is reported
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
        line = (frames[-1].lineno if frames else None) or claim.line
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        lines = claim.code.splitlines()
        offset = line - claim.line
        statement = lines[offset].strip() if 0 <= offset < len(lines) else ""
        raise ClaimFailed(claim, f"  line {line}: {statement}\n  {text}") from exc


def run_all(claim_list: list[Claim]) -> list[ClaimFailed]:
    """Run each claim on its own fresh sandbox; the failures, in order."""
    failures: list[ClaimFailed] = []
    for claim in claim_list:
        try:
            run_claim(claim)
        except ClaimFailed as failed:
            failures.append(failed)
    return failures
