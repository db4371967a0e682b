"""v2a_jax.host_allocator: when a command starts over under mimalloc, that it then runs under it (the library is
mapped into the process), and that it stops the kernel's page faults that the C library's malloc causes on every
execution of a program with large buffers (counted with getrusage, an independent measure)."""

import os
import subprocess
import sys
import textwrap

import pytest

from tests.train import run_utils
from v2a_jax import host_allocator

LIBRARY = "/opt/libmimalloc.so"
ARGV = ["/usr/bin/python3", "-X", "utf8", "-m", "v2a_jax.main", "--workdir=runs/x"]


def test_reexec_command_preloads_the_library_and_keeps_the_command_and_environment():
    argv, environ = host_allocator.reexec_command({"PATH": "/bin", "XLA_FLAGS": "--a"}, ARGV, LIBRARY, "linux")
    assert argv == ARGV
    assert environ == {"PATH": "/bin", "XLA_FLAGS": "--a", "LD_PRELOAD": LIBRARY, "MIMALLOC_PURGE_DELAY": "-1"}


@pytest.mark.parametrize(
    "environ, library, platform",
    [
        ({host_allocator.OPT_OUT_VARIABLE: "system"}, LIBRARY, "linux"),  # the user's opt-out
        ({"LD_PRELOAD": "/usr/lib/libtcmalloc.so.4"}, LIBRARY, "linux"),  # another allocator, or already re-executed
        ({}, None, "linux"),  # not installed
        ({}, LIBRARY, "darwin"),  # no LD_PRELOAD
    ],
)
def test_reexec_command_leaves_the_process_alone(environ, library, platform):
    assert host_allocator.reexec_command(environ, ARGV, library, platform) is None


def test_the_requirements_install_the_library():
    path = host_allocator.library_path()
    assert path is not None and os.path.isfile(path) and "mimalloc" in os.path.basename(path)


def _command(code: str, **env: str) -> str:
    """stdout of `python -c CODE` run through cli.run, with `env` added to the environment."""
    body = textwrap.indent(textwrap.dedent(code).strip(), "    ")
    program = f"import os\nfrom v2a_jax import cli, host_allocator\n\ndef main(argv):\n{body}\n\ncli.run(main)\n"
    environ = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", host_allocator.OPT_OUT_VARIABLE)}
    result = subprocess.run(
        [sys.executable, "-c", program],
        cwd=run_utils.REPO_ROOT,
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip()


REPORT = 'print(host_allocator.active(), os.environ.get("LD_PRELOAD", ""), os.getpid())'


def test_a_command_runs_under_mimalloc_unless_told_otherwise():
    active, preload, _ = _command(REPORT).split()
    assert active == "True" and preload == host_allocator.library_path()
    assert _command(REPORT, **{host_allocator.OPT_OUT_VARIABLE: "system"}).split()[:1] == ["False"]
    # A preloaded library of the user's is kept (here one that changes nothing: the math library).
    libm = next(p for p in ("/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib64/libm.so.6") if os.path.exists(p))
    active, preload, _ = _command(REPORT, LD_PRELOAD=libm).split()
    assert (active, preload) == ("False", libm)


# Minor page faults per call of a jitted function whose buffers (a 64 MB output, and temporaries) are freed between
# calls, after a warm-up call.
FAULTS_PER_CALL = """
import resource
import jax, jax.numpy as jnp
f = jax.jit(lambda x: jnp.sin(x) @ jnp.cos(x))
x = jnp.ones((4096, 4096))
f(x).block_until_ready()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    f(x).block_until_ready()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 5)
"""


def test_mimalloc_keeps_a_large_buffer_mapped_from_call_to_call():
    # The 64 MB output alone is 16,384 faults in 4 KiB pages when it comes fresh from the kernel each call.
    system = float(_command(FAULTS_PER_CALL, **{host_allocator.OPT_OUT_VARIABLE: "system"}))
    mimalloc = float(_command(FAULTS_PER_CALL))
    assert system > 16_000, system
    assert mimalloc < 0.05 * system, (mimalloc, system)
