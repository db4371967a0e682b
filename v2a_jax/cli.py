"""How every command of the project ends: the user's mistakes in one line, preemption with its own status.

    if __name__ == "__main__":
        cli.run(main)                        # absl commands: flags parsed here, then main(argv)
        sys.exit(cli.guard(main)(argv))      # other commands (argparse): the same endings

A mistake of the user's (a flag, a file, a config field, an input) is raised as `UserError` (or a subclass),
whose message is one line naming the flag, file or field and the problem; the command prints `error: <message>`
to stderr and exits with status 2, without a traceback. Anything else is a programming error and keeps its
traceback. A run stopped by SIGTERM/SIGINT after saving its work raises `Preempted` and exits with status 3.
Errors found while parsing flags (an unknown `--config.x` override, a config file that does not load) are user
errors too. `check_output_dir` checks an output folder before a command does its work, so that a mistake leaves
nothing behind.

Allocator: every command run through `run` works under mimalloc (v2a_jax/host_allocator.py: XLA's CPU runtime
allocates each step's buffers afresh, and the C library's malloc would fault them in again every step).

Logs: records below WARNING from libraries (orbax, clu, grain, ...) are dropped unless `--verbose`, so that the
project's own progress lines stay readable.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence

from absl import app, flags
from absl import logging as absl_logging

from v2a_jax import host_allocator

EXIT_USER_ERROR = 2
EXIT_PREEMPTED = 3
# The project's packages: their INFO lines are kept (the repository root holds them side by side).
_PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PROJECT_DIRS = tuple(os.path.join(_PROJECT_ROOT, d) + os.sep for d in ("v2a_jax", "data", "experiments"))


class UserError(Exception):
    """A mistake of the user's; the message is one line naming the flag, file or field and the problem."""


class ConfigError(UserError, ValueError):
    """A flag or config field with a value that cannot work."""


class NotFoundError(UserError, FileNotFoundError):
    """A file or directory the command needs is missing."""


class Preempted(Exception):
    """The command stopped on a signal after saving its work (the log says where); rerunning it resumes."""

    def __init__(self, message: str, step: int):
        super().__init__(message)
        self.step = step


def one_line(text: object) -> str:
    """`text` with its whitespace runs (newlines included) collapsed to single spaces."""
    return " ".join(str(text).split())


def check_output_dir(path: str | os.PathLike, flag: str, *, create: bool = False) -> None:
    """Raises UserError naming `--flag` when the directory `path` cannot be made: it, or its nearest existing
    parent, is a file, or that parent is not writable. Creates it when `create` (a failure is a UserError too);
    otherwise nothing is written, so a command can check its outputs before doing its work."""
    given, path = os.fspath(path), os.path.abspath(path)
    existing = path
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise UserError(f"--{flag}={given}: {existing} is a file, not a directory")
    if existing != path and not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"--{flag}={given}: cannot create it, {existing} is not writable")
    if create:
        try:
            os.makedirs(path, exist_ok=True)
        except OSError as e:
            raise UserError(f"--{flag}={given}: cannot create it ({e.strerror})") from e


def guard(main: Callable[[Sequence[str]], int | None]) -> Callable[[Sequence[str]], int | None]:
    """`main` turning UserError into `error: <message>` on stderr and EXIT_USER_ERROR, and Preempted into
    EXIT_PREEMPTED."""

    @functools.wraps(main)
    def guarded(argv):
        sys.unraisablehook = _without_closed_loop_noise(sys.unraisablehook)
        try:
            return main(argv)
        except UserError as e:
            print(f"error: {one_line(e)}", file=sys.stderr, flush=True)
            return EXIT_USER_ERROR
        except Preempted:
            return EXIT_PREEMPTED

    return guarded


def _without_closed_loop_noise(hook):
    """`hook` (sys.unraisablehook) ignoring "Event loop is closed": when an orbax restore or save fails, reads and
    writes it had in flight complete later into its closed event loop, and Python would print a traceback for each
    after the command's one-line error."""
    if getattr(hook, "_drops_closed_loop_noise", False):
        return hook

    def quiet(unraisable):
        value = unraisable.exc_value
        if not (isinstance(value, RuntimeError) and str(value) == "Event loop is closed"):
            hook(unraisable)

    quiet._drops_closed_loop_noise = True
    return quiet


class _LibraryChatter(logging.Filter):
    """Drops records below WARNING that were not logged from the project's own files, and the tracebacks of the
    library warnings it keeps (orbax logs the traceback of a failed save that the trainer reports in one line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.pathname.startswith(_PROJECT_DIRS):
            return True
        record.exc_info, record.exc_text = None, None
        return record.levelno >= logging.WARNING


def configure_logging(verbose: bool) -> None:
    """Hides library INFO records (module docstring) unless `verbose`."""
    handler = absl_logging.get_absl_handler()
    for f in [f for f in handler.filters if isinstance(f, _LibraryChatter)]:
        handler.removeFilter(f)
    if not verbose:
        handler.addFilter(_LibraryChatter())


def _parse_flags(argv: list[str]) -> list[str]:
    """absl's flag parsing, with every error (and a config file that does not load) a one-line user error."""
    try:
        rest = flags.FLAGS(argv)
    except flags.Error as e:
        _exit(_parse_error_line(e))
    except (AttributeError, KeyError) as e:
        # ml_collections' answer to a `--config.x=y` override naming no field; anything else raised while a
        # config file runs is that file's bug and keeps its traceback.
        message = _unknown_field_line(argv, e)
        if message is None:
            raise
        _exit(message)
    from ml_collections.config_flags import config_flags  # the module: is_config_flag is not re-exported

    for name, flag in flags.FLAGS._flags().items():
        if config_flags.is_config_flag(flag) and flag.present:
            try:
                flag.value.keys  # noqa: B018 -- a config file that failed to load raises on any access
            except OSError as e:
                path = config_flags.get_config_filename(flag)
                reason = "no such file" if not os.path.isfile(path) else one_line(e.__cause__ or e)
                _exit(f"--{name}={path}: cannot load the config file ({reason})")
    return rest


def _unknown_field_line(argv: list[str], error: Exception) -> str | None:
    """The line naming the override flag whose field `error` (ml_collections' KeyError or AttributeError) does
    not know; None when no flag of `argv` names that field."""
    field = re.search(r"'([\w.]+)", str(error))
    culprit = field and next((a for a in argv[1:] if a.split("=")[0].endswith(f".{field.group(1)}")), None)
    if not culprit:
        return None
    suggestion = re.search(r'Did you mean \\?"([^"\\]+)', str(error))
    return f"{culprit}: no such config field" + (f" (did you mean {suggestion.group(1)}?)" if suggestion else "")


def _parse_error_line(error: flags.Error) -> str:
    """absl's message for a flag that does not parse; a config file's traceback, which absl puts in the message
    (e.g. of a ValueError for an unknown variant), reduced to its last line."""
    text = str(error)
    if "Traceback (most recent call last)" in text:
        text = re.sub(r"^\w+(Error|Exception): ", "", text.strip().splitlines()[-1].strip())
    return one_line(text)


def _exit(message: str) -> None:
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(EXIT_USER_ERROR)


def run(main: Callable[[Sequence[str]], int | None]) -> None:
    """absl.app.run(main) with the endings of the module docstring and the --verbose flag, in a process whose host
    allocator is mimalloc (`host_allocator.preload`: the command starts over under it once)."""
    host_allocator.preload()
    if "verbose" not in flags.FLAGS:
        flags.DEFINE_bool("verbose", False, "Also log the INFO lines of libraries (orbax, clu, grain, ...).")

    def main_with_logging(argv):
        configure_logging(flags.FLAGS.verbose)
        return guard(main)(argv)

    app.run(main_with_logging, flags_parser=_parse_flags)
