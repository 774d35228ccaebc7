"""Terminal output helpers: one-line errors, atomic file writes, consoles on stderr/stdout."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from greta_core.errors import InvalidConfigError

REPORT_FORMATS = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md", ".txt": "text",
                  ".json": "json"}


def report_format(path: str, fmt: str | None = None) -> str:
    if fmt:
        return fmt
    ext = Path(path).suffix.lower()
    if ext not in REPORT_FORMATS:
        msg = (f"Cannot tell the report format of {path!r} from its extension. Use one of "
               f"{', '.join(sorted(REPORT_FORMATS))}, or pass --format.")
        raise InvalidConfigError(msg)
    return REPORT_FORMATS[ext]


def check_writable(path: str | None) -> None:
    """Fail before any work if ``path`` cannot be written."""
    if not path:
        return
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        msg = f"Cannot write {path!r}: the folder {str(parent)!r} does not exist. Create it first."
        raise InvalidConfigError(msg)
    if Path(path).is_dir():
        msg = f"Cannot write {path!r}: it is a folder. Give a file name."
        raise InvalidConfigError(msg)


def write_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` all at once: a reader never sees a half-written file."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=str(target.resolve().parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def is_tty(stream: object = None) -> bool:
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())
