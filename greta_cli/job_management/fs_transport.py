"""Celery's filesystem transport, made safe for several processes (the embedded broker).

Kombu's stock transport writes a message file in place (a reader polling the folder can
catch it half-written) and, unless told to keep it, moves a taken message to the system's
temporary folder (a copy across file systems, which two workers can both win). Here a
message is written under a temporary name and renamed into the queue, and a reader takes it
by renaming it within the same file system, which only one process can do.

Registered as the ``gretafs://`` transport when ``celery_app`` is imported.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from queue import Empty
from typing import Any

from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        name = f"{time.time_ns()}_{uuid.uuid4()}.{queue}.msg"
        tmp = os.path.join(self.data_folder_out, f"~{uuid.uuid4().hex}.tmp")
        with open(tmp, "wb") as f:
            f.write(str_to_bytes(dumps(payload)))
        os.replace(tmp, os.path.join(self.data_folder_out, name))

    def _get(self, queue: str) -> Any:
        wanted = f"{queue}.msg"
        claimed_dir = Path(self.processed_folder)
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != wanted:
                continue
            claimed = claimed_dir / f"{name}.{os.getpid()}"
            try:
                os.rename(os.path.join(self.data_folder_in, name), claimed)
            except OSError:  # another consumer took it first
                continue
            try:
                payload = claimed.read_bytes()
            finally:
                claimed.unlink(missing_ok=True)
            return loads(bytes_to_str(payload))
        raise Empty()


class Transport(filesystem.Transport):
    Channel = Channel
    driver_type = driver_name = "gretafs"


def register() -> None:
    from kombu.transport import TRANSPORT_ALIASES

    TRANSPORT_ALIASES.setdefault("gretafs", f"{__name__}:Transport")
