"""Multi-process start-up: one JAX process per host (or per GPU), joined through a coordinator.

Must run before anything touches a JAX device. On CPU, cross-process collectives go through gloo
(jax 0.10's default `jax_cpu_collectives_implementation`), so several processes on one machine
can form a mesh over loopback, which is how the multi-process path is tested.
"""

import jax
from absl import logging

from v2a_jax import cli


def initialize(
    *, coordinator_address: str | None, num_processes: int, process_id: int | None, auto_detect: bool
) -> None:
    """Joins the processes of a multi-process run; does nothing for a single process.

    Either explicitly (`num_processes` > 1, with the coordinator's "host:port" and this process's
    id in [0, num_processes)), or with `auto_detect`, letting JAX read the cluster environment
    (SLURM, Open MPI, Cloud TPU, GKE).
    """
    if num_processes > 1:
        if not coordinator_address or process_id is None or not 0 <= process_id < num_processes:
            raise cli.ConfigError(
                f"--num_processes={num_processes} needs --coordinator_address and "
                f"--process_id in [0, {num_processes}), got {coordinator_address!r}, "
                f"{process_id}"
            )
        jax.distributed.initialize(coordinator_address, num_processes, process_id)
    elif auto_detect:
        jax.distributed.initialize()
    else:
        return
    logging.info(
        "process %d of %d: %d local devices, %d global",
        jax.process_index(),
        jax.process_count(),
        jax.local_device_count(),
        jax.device_count(),
    )
