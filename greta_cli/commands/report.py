"""``greta report``: render a saved results JSON as HTML, Markdown or text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from greta_cli.output import check_outputs, report_format, write_atomic

FORMAT_NAMES = {"markdown": "md", "txt": "text", "htm": "html"}  # names earlier releases took


def report(
    results: Optional[Path] = typer.Argument(None, help="A results JSON written by `greta run --output`."),
    fmt: Optional[str] = typer.Option(None, "--format", "-f", help="html, md, text or json (default: from -o, else text)."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write here instead of printing."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of errors."),
    input_file: Optional[Path] = typer.Option(None, "--input-file", "-i", hidden=True, help="Deprecated: give RESULTS as the argument."),
) -> None:
    """Render RESULTS as a report."""
    from greta_cli.commands.common import one_of
    from greta_core.errors import DataFileNotFoundError, DataFormatError, InvalidConfigError
    from greta_core.report import render, validate_results

    results = one_of(results, input_file, "results file", "--input-file")
    if results is None:
        msg = "No results file given. Pass the results JSON written by `greta run --output FILE`."
        raise InvalidConfigError(msg)
    fmt = FORMAT_NAMES.get(fmt.strip().lower(), fmt) if fmt else fmt
    if results.is_dir():
        msg = f"{str(results)!r} is a folder; give the results JSON written by `greta run --output FILE`."
        raise DataFormatError(msg)
    if not results.is_file():
        msg = f"Results file {str(results)!r} does not exist. Write one with `greta run --output FILE`."
        raise DataFileNotFoundError(msg)
    check_outputs({"--output": output}, {"results": str(results)})
    try:
        doc = json.loads(results.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        msg = f"{str(results)!r} is not valid JSON ({e}). Give a file written by `greta run --output`."
        raise DataFormatError(msg) from None
    doc = validate_results(doc)
    fmt = fmt or (report_format(output) if output else "text")
    text = render(doc, fmt)
    if output:
        write_atomic(output, text)
    else:
        typer.echo(text)
