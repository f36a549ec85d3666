"""Packaging handler code for ``create_function`` (``Code={"ZipFile": zip_code(...)}``)."""

from __future__ import annotations

import inspect
import io
import textwrap
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def zip_code(source: str | Path | Callable[..., Any], filename: str = "lambda_function.py",
             extra_files: dict[str, str] | None = None) -> bytes:
    """A deployment package (zip bytes) holding ``filename``.

    ``source`` is Python source text, a path to a ``.py`` file or a directory, or a
    function (its source is taken with :func:`inspect.getsource`; the function must be
    self-contained: imports inside it or standard imports at the top of the file you add
    with ``extra_files``).
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if callable(source):
            archive.writestr(filename, textwrap.dedent(inspect.getsource(source)))
        elif isinstance(source, Path) or (isinstance(source, str) and "\n" not in source
                                          and source.endswith(".py") and Path(source).exists()):
            path = Path(source)
            archive.write(path, filename if filename != "lambda_function.py" else path.name)
        elif isinstance(source, Path) and source.is_dir():
            for file in source.rglob("*"):
                if file.is_file():
                    archive.write(file, file.relative_to(source).as_posix())
        else:
            archive.writestr(filename, textwrap.dedent(str(source)))
        for name, text in (extra_files or {}).items():
            archive.writestr(name, text)
    return buffer.getvalue()
