"""Typed records of the question bank: a question, its options, and a problem found in a file.

Kept free of heavy imports: the runner unpickles these from the bank cache before it
has imported markdown-it or PyYAML.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

# How a learner runs one of the notes' examples (eventlab notes --run, eventlab/notes.py).
RUN_EXAMPLE = "eventlab notes --run {id}"


@dataclass(frozen=True)
class Problem:
    """Something wrong in a question file, with the 1-based line it was found on."""

    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True)
class Option:
    letter: str
    text: str  # Markdown
    explanation: str  # Markdown, the blockquote without its '>' markers
    line: int  # line of the '## X' heading


@dataclass
class Question:
    id: str
    path: Path
    services: list[str]
    domain: str
    difficulty: int
    type: str  # "single" | "multi"
    answer: list[str]
    links: list[str]
    stem: str  # Markdown
    options: list[Option]
    decision: str | None = None
    topics: list[str] = field(default_factory=list)
    # AWS pages the key and explanations were checked against, and the date of that check
    sources: list[str] = field(default_factory=list)
    checked: str | None = None
    # runnable examples in the notes that show the fact the key rests on, each
    # "content/FILE.md#example-id" (the id of a ```python sandbox id=...``` block)
    examples: list[str] = field(default_factory=list)
    # lab steps that demonstrate the fact, each "labNN#step-anchor" (a "## Step ..." heading
    # of the lab's source notebook)
    labs: list[str] = field(default_factory=list)
    # front-matter key (or "key[i]" for a list item) -> 1-based line in the file
    lines: dict[str, int] = field(default_factory=dict)

    @property
    def letters(self) -> list[str]:
        return [o.letter for o in self.options]

    @property
    def is_multi(self) -> bool:
        return self.type == "multi"

    def option(self, letter: str) -> Option:
        for o in self.options:
            if o.letter == letter:
                return o
        raise KeyError(letter)

    @property
    def example_runs(self) -> list[tuple[str, str]]:
        """Each example with the command that prints and runs it: ``(ref, command)``."""
        return [(e, RUN_EXAMPLE.format(id=e.partition("#")[2] or e)) for e in self.examples]

    def line_of(self, key: str) -> int:
        return self.lines.get(key, self.lines.get(key.split("[")[0], 1))

    def is_correct(self, chosen: Iterable[str]) -> bool:
        """All-or-nothing, as on the exam: every key chosen and nothing else."""
        return set(chosen) == set(self.answer)
