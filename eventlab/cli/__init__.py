"""The one console script, ``eventlab``: a thin dispatcher to the parts below it.

Each subcommand is one module of this package (``eventlab/cli/<name>.py``), imported
only when that subcommand runs, so that ``eventlab quiz`` does not pay for importing moto
and ``eventlab serve`` does not pay for the quiz bank.  Every one has the same shape::

    def add_arguments(parser) -> None          # its own options
    def run(args) -> int                       # the exit code

and its one-line help is in :data:`SUBCOMMANDS` (so that ``eventlab --help`` imports none).

A command that hands its arguments on to another tool (``eventlab aws``) also exposes
``split_passthrough(argv) -> (its own options, the rest)``; the rest reaches ``run`` as
``args.passthrough``, untouched by argparse.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from eventlab import __version__

# name -> (module, one-line help): the help lives here so that ``eventlab --help`` imports
# no subcommand.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("eventlab.cli.serve", "serve the local AWS over HTTP for the AWS CLI and SDKs"),
    "aws": ("eventlab.cli.aws", "run the AWS CLI against the local sandbox only (every service, whatever your profile)"),
    "quiz": ("eventlab.cli.quiz", "scenario quizzes: practice, exam, review, spaced repetition"),
    "notes": ("eventlab.cli.notes", "read the study notes in the terminal or build them as HTML"),
    "kafka": ("eventlab.cli.kafka", "Kafka topic, group, lag, produce and consume tools"),
    "grade": ("eventlab.cli.grade", "grade lab notebooks and print a per-criterion report"),
    "lab": ("eventlab.cli.lab", "open JupyterLab on your copies of the labs"),
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eventlab",
        description="Offline labs, autograders and scenario quizzes for AWS integration and streaming.",
    )
    parser.add_argument("--version", action="version", version=f"eventlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == only:
            module = importlib.import_module(module_name)
            module.add_arguments(p)
            p.set_defaults(run_command=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    if command not in SUBCOMMANDS:
        command = None
    try:
        parser = build_parser(only=command)
    except ModuleNotFoundError as exc:
        print(f"eventlab {command}: this part is not installed yet ({exc.name}).", file=sys.stderr)
        return 2
    passthrough = None
    if command is not None:
        split = getattr(importlib.import_module(SUBCOMMANDS[command][0]), "split_passthrough", None)
        if split is not None:
            at = argv.index(command) + 1
            own, passthrough = split(argv[at:])
            argv = argv[:at] + own
    args = parser.parse_args(argv)
    if passthrough is not None:
        args.passthrough = passthrough
    if not getattr(args, "run_command", None):
        parser.print_help()
        return 0 if not argv else 2
    try:
        return int(args.run_command(args) or 0)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
