"""The ``greta`` command line. Heavy libraries are imported inside the commands that need them,
so ``greta --help`` stays instant."""

from __future__ import annotations

import functools
import sys
import warnings
from collections.abc import Callable
from typing import Any

import typer

from greta_cli.commands import backends as backends_cmd
from greta_cli.commands import config_cmd
from greta_cli.commands import init as init_cmd
from greta_cli.commands import jobs as jobs_cmd
from greta_cli.commands import report as report_cmd
from greta_cli.commands import run as run_cmd

app = typer.Typer(
    name="greta",
    help="Find, test and explain what drives a target column in tabular data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.command("run")(run_cmd.run)
app.command("init")(init_cmd.init)
app.command("report")(report_cmd.report)
app.command("backends")(backends_cmd.backends)
app.command("submit")(jobs_cmd.submit)
app.command("status")(jobs_cmd.status)
app.command("results")(jobs_cmd.results)
app.command("cancel")(jobs_cmd.cancel)
app.command("list")(jobs_cmd.list_)
app.command("worker")(jobs_cmd.worker)
app.add_typer(config_cmd.app, name="config")


def _user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``command``; a GretaError becomes one line on stderr and exit status 2. Done inside
    the app (not only in ``main``), so ``CliRunner`` and embedding callers see what users see."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from greta_core.errors import GretaError

        debug = bool(kwargs.get("debug")) or "--debug" in sys.argv
        try:
            with warnings.catch_warnings():
                if not debug:  # numeric noise (overflow in exp, ...) is no news to a user
                    warnings.simplefilter("ignore", RuntimeWarning)
                return command(*args, **kwargs)
        except GretaError as e:
            fail(str(e), debug)

    return wrapper


for _info in [*app.registered_commands, *config_cmd.app.registered_commands]:
    _info.callback = _user_errors(_info.callback)


def fail(message: str, debug: bool = False) -> None:
    """Print one line to stderr and exit with status 2 (a user error). Names from the data in
    it are shown safely: control characters escaped, very long names shortened."""
    from greta_core.safe_text import shown_text

    if debug:
        import traceback

        traceback.print_exc()
    sys.stderr.write(f"greta: error: {shown_text(message)}\n")
    raise SystemExit(2)


def main() -> None:
    from greta_core.errors import GretaError

    from greta_cli import watch

    debug = "--debug" in sys.argv
    watch.enable()
    try:
        app()
    except GretaError as e:
        fail(str(e), debug)
    except KeyboardInterrupt:
        sys.stderr.write("greta: interrupted\n")
        raise SystemExit(130) from None
    except MemoryError:
        fail("Out of memory. Lower preprocessing.batch_rows or use --backend dask or spark.", debug)
    except Exception as e:  # noqa: BLE001 - anything else is a bug: say so, exit 1
        if debug:
            raise
        from greta_core.safe_text import shown_text

        sys.stderr.write(f"greta: internal error: {type(e).__name__}: {shown_text(e)}. Run again with --debug "
                         "for the traceback, and please report it.\n")
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
