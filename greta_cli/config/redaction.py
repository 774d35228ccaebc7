"""Passwords out of everything shown: URLs, secret-named keys, and the dumped configuration."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from greta_cli.config.models import GretaConfig

_URL = re.compile(r"^(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<rest>.*)$", re.DOTALL)
_QUERY_SECRET = re.compile(r"(?i)([?&;](?:password|passwd|pwd|secret|token)=)[^&;#]*")
_SECRET_KEY = re.compile(r"(?i)password|passwd|secret|token|credential")


def redact_url(url: str) -> str:
    """Replace the password in a URL by ``***``; other text is returned unchanged.

    Handles ``scheme://user:password@host/...`` (also with an empty user, as in
    ``redis://:secret@host:6379/0``), ``password=``/``token=`` query parameters and
    ``;``-separated failover lists of URLs.

    Parameters
    ----------
    url
        Any string; strings that are not URLs with credentials come back as they are.

    Returns
    -------
    str
        The URL with every password replaced, e.g. ``amqp://user:***@host//``.
    """
    if ";" in url and "://" in url.split(";", 1)[1]:
        return ";".join(redact_url(part) for part in url.split(";"))
    match = _URL.match(url)
    if not match:
        return url
    rest = _QUERY_SECRET.sub(r"\1***", match["rest"])
    userinfo, at, host = rest.rpartition("@")
    user, colon, password = userinfo.partition(":")
    if at and colon and password:
        rest = f"{user}:***@{host}"
    return match["head"] + rest


def redact_values(value: Any, key: Any = None) -> Any:
    if isinstance(value, dict):
        return {k: redact_values(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_values(v) for v in value]
    if isinstance(value, str):
        return "***" if key is not None and _SECRET_KEY.search(str(key)) else redact_url(value)
    return value


def config_to_dict(cfg: GretaConfig, redact: bool = True) -> dict[str, Any]:
    """Dump a configuration to plain JSON-able data (dicts, lists, str, numbers, bools, None).

    Parameters
    ----------
    cfg
        The configuration.
    redact
        Replace passwords in URLs (``redis://:secret@host`` becomes ``redis://:***@host``) and
        the values of Spark properties whose names mention a password, secret or token by
        ``***``. Pass ``False`` for the copy a background job runs with.

    Returns
    -------
    dict
        Nested ``{section: {key: value}}`` that :func:`config_from_dict` reads back.
    """
    data = cfg.model_dump(mode="json")
    return redact_values(data) if redact else data


