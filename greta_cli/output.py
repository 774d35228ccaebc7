"""Terminal output helpers: one-line errors, atomic file writes, consoles on stderr/stdout, and
the guard that no command writes over a file it reads."""

from __future__ import annotations

import glob as globmod
import os
import re
import stat
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePath
from typing import Optional

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


_GLOB = re.compile(r"[*?\[]")


def check_outputs(outputs: Mapping[str, Optional[str]],
                  inputs: Optional[Mapping[str, Optional[str]]] = None) -> None:
    """Fail before any work if an output cannot be written, or if writing it would destroy
    something the command reads.

    ``outputs`` maps how the user named each output (``"--output"``) to its path; ``inputs``
    maps what each input is (``"data"``, ``"config"``) to its path: a file, a folder of parts, a
    glob or a ``file://`` URL, as the readers take it (other URLs are remote and skipped). An
    output is refused when, after symlinks and ``..``, it is an input file or a hard link to one
    (same device and inode), a file of an input folder or glob, or a new file that a folder or
    glob input would read next time; and when two outputs are the same file.
    """
    named = [(label, path) for label, path in outputs.items() if path]
    for i, (label, path) in enumerate(named):
        for what, source in (inputs or {}).items():
            why = _clash(path, str(source), what) if source else None
            if why:
                msg = (f"Refusing to write {path!r} ({label}): {why}. Greta never writes over "
                       "what it reads; choose another file.")
                raise InvalidConfigError(msg)
        for other_label, other in named[:i]:
            if Path(path).resolve() == Path(other).resolve() or _same_file(Path(path).resolve(), other):
                msg = (f"{other_label} and {label} would both be written to {path!r}; give "
                       "them different files.")
                raise InvalidConfigError(msg)
    for _, path in named:
        check_writable(path)


def _clash(output: str, source: str, what: str) -> Optional[str]:
    """How writing ``output`` would overwrite or add to the input ``source``, or None."""
    scheme = source.split("://", 1)[0] if "://" in source else ""
    if len(scheme) > 1 and scheme != "file":
        return None  # remote (s3://, hdfs://, ...): no local file this command could write
    local = source.removeprefix("file://")  # as the readers take it
    target = Path(output).resolve()
    if _GLOB.search(local):
        matches = globmod.glob(local, recursive=True)
        if any(_same_file(target, m) for m in matches if os.path.isfile(m)):
            return f"it is one of the files of the {what} glob {source!r}; writing there would destroy it"
        if any(_inside(target, m) for m in matches if os.path.isdir(m)):
            return f"it is inside a folder of the {what} glob {source!r}, read as data"
        pattern = os.path.abspath(local)
        if PurePath(os.path.abspath(output)).match(pattern) or PurePath(target).match(pattern):
            return f"the {what} glob {source!r} would read it as data"
        return None
    if os.path.isdir(local):
        if _inside(target, local):
            return f"it is inside the {what} folder {source!r}, where every file is read as data"
        if target.exists() and any(_same_file(target, f) for f in _files(local)):
            return f"it is a hard link to a file of the {what} folder {source!r}"
        return None
    if _same_file(target, local):
        return f"it is the {what} file {source!r}; writing there would destroy it"
    return None


def _same_file(target: Path, other: str) -> bool:
    """True if ``target`` (resolved) and the existing file ``other`` are one file: the same path
    after symlinks and ``..``, or the same device and inode (a hard link)."""
    if not os.path.exists(other):
        return False
    if target == Path(other).resolve():
        return True
    try:
        return os.path.samefile(target, other)
    except OSError:  # the output does not exist yet
        return False


def _inside(target: Path, folder: str) -> bool:
    return target.is_relative_to(Path(folder).resolve())


def _files(folder: str) -> Iterator[str]:
    for root, _, names in os.walk(folder):
        for name in names:
            yield os.path.join(root, name)


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
