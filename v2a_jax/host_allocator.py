"""The host memory allocator of the project's commands: mimalloc, which keeps the memory a step frees for the next.

Why: XLA's CPU runtime allocates the buffers of every execution of a compiled program afresh (one step of the small
generator's pixel encoder block asks for a 2.7 GB temporary buffer, and a buffer for each large activation), and
glibc's malloc serves allocations that large with a fresh mmap and gives them back to the kernel when they are
freed. Every step then faults its whole working set in again, a zero-filled page at a time (on the 2-core machine a
quarter of the process's CPU time went to the kernel, and the small train step ran 1.2x slower:
experiments/RESULTS.md, "Generator: speed work"). mimalloc with purging off keeps the pages it was given and
hands them to the next step's allocations; its shared library comes as a wheel (cmeel-mimalloc in
requirements.txt), so no system package is needed.

A process cannot change its allocator once it runs, so `preload()` (called by `cli.run` before a command parses
its flags) executes the same command again with mimalloc in LD_PRELOAD. It leaves the process as it is where:
  - V2A_HOST_ALLOCATOR=system (the opt-out),
  - LD_PRELOAD is already set (a user's or a platform's own choice, e.g. tcmalloc on TPU VMs; also what marks
    the re-executed process),
  - the OS is not Linux, or the library is not installed.
On accelerators the host allocator matters less (the step's buffers live on the device), but the input pipeline
and checkpointing run on the host, so the same rule applies everywhere.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
from collections.abc import Mapping, Sequence

OPT_OUT_VARIABLE = "V2A_HOST_ALLOCATOR"  # "system": keep the C library's malloc
# mimalloc's own settings: never return freed pages to the OS (purging is what would bring the faults back).
MIMALLOC_SETTINGS = {"MIMALLOC_PURGE_DELAY": "-1"}
_DISTRIBUTION = "cmeel-mimalloc"
_LIBRARY_NAME = "libmimalloc.so"


def library_path() -> str | None:
    """The installed mimalloc shared library (from the cmeel-mimalloc wheel), or None."""
    try:
        files = importlib.metadata.distribution(_DISTRIBUTION).files or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name == _LIBRARY_NAME:
            path = os.path.realpath(file.locate())
            return path if os.path.isfile(path) else None
    return None


def reexec_command(
    environ: Mapping[str, str], orig_argv: Sequence[str], library: str | None, platform: str = sys.platform
) -> tuple[list[str], dict[str, str]] | None:
    """(argv, environment) to execute the command again under mimalloc, or None to leave it be (module
    docstring). `orig_argv` is the interpreter's own command line (sys.orig_argv: the interpreter, its options,
    then `-m module`, `-c code` or a script, then the command's arguments)."""
    if environ.get(OPT_OUT_VARIABLE) == "system" or environ.get("LD_PRELOAD"):
        return None
    if not platform.startswith("linux") or library is None or not orig_argv:
        return None
    return list(orig_argv), {**environ, **MIMALLOC_SETTINGS, "LD_PRELOAD": library}


def preload() -> None:
    """Replaces this process by the same command under mimalloc, where `reexec_command` says to; returns
    otherwise. Call it before the command has done any work (it starts over)."""
    command = reexec_command(os.environ, sys.orig_argv, library_path())
    if command is None:
        return
    argv, environ = command
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, argv, environ)


def active() -> bool:
    """Whether mimalloc serves this process's allocations (it is mapped into the process)."""
    try:
        with open("/proc/self/maps") as maps:
            return any(_LIBRARY_NAME in line for line in maps)
    except OSError:
        return False
