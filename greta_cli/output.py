"""Terminal output helpers: one-line errors, atomic file writes, consoles on stderr/stdout."""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from pathlib import Path

from greta_core.errors import InvalidConfigError

REPORT_FORMATS = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md", ".txt": "text",
                  ".json": "json"}


def report_format(path: str, fmt: str | None = None, *, has_format_option: bool = True) -> str:
    """The report format of ``path`` from its extension (``fmt`` wins when given).

    ``has_format_option`` says whether the command offers ``--format`` (``greta run`` does not),
    so the message only suggests what the user can type.
    """
    if fmt:
        return fmt
    ext = Path(path).suffix.lower()
    if ext not in REPORT_FORMATS:
        hint = ", or pass --format" if has_format_option else ""
        msg = (f"Cannot tell the report format of {path!r} from its extension. Use one of "
               f"{', '.join(sorted(REPORT_FORMATS))}{hint}.")
        raise InvalidConfigError(msg)
    return REPORT_FORMATS[ext]


def check_writable(path: str | None) -> None:
    """Fail before any work if ``path`` cannot be written: its folder is missing or
    read-only, it is a folder, or it is not a regular file (``/proc/version``, a device)."""
    if not path:
        return
    target = Path(path)
    real = target.resolve()  # through a symlink: the file that will be written
    parent = real.parent
    if not parent.is_dir():
        msg = f"Cannot write {path!r}: the folder {str(parent)!r} does not exist. Create it first."
        raise InvalidConfigError(msg)
    if real.is_dir():
        msg = f"Cannot write {path!r}: it is a folder. Give a file name."
        raise InvalidConfigError(msg)
    if real.exists() and not real.is_file():
        msg = (f"Cannot write {path!r}: it is not a regular file (a device, pipe or system "
               "file). Give the name of a file in a folder you can write.")
        raise InvalidConfigError(msg)
    try:  # a real probe: permissions, read-only mounts and /proc all say no here
        fd, probe = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".probe", dir=str(parent))
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        msg = (f"Cannot write {path!r}: new files cannot be created in the folder "
               f"{str(parent)!r} ({_reason(e)}). Choose a file in a folder you can write.")
        raise InvalidConfigError(msg) from None
    if real.exists() and not os.access(real, os.W_OK):
        msg = (f"Cannot write {path!r}: the file is read-only. Choose another file, or make it "
               "writable (chmod u+w FILE).")
        raise InvalidConfigError(msg)


def _reason(e: OSError) -> str:
    return "permission denied" if isinstance(e, PermissionError) else (e.strerror or str(e)).lower()


def write_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` all at once: a reader never sees a half-written file.

    An existing file keeps its permission bits (a 0600 file stays 0600); a new file gets the
    usual ones (0666 less the umask). A symlink is written through: its target is replaced and
    the link is kept.
    """
    target = Path(path).resolve()
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=str(target.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def is_tty(stream: object = None) -> bool:
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())
