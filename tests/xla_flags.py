"""XLA_FLAGS of the tests and of the commands they start: `device_count` forced CPU devices (sharding tests see a
real mesh), and LLVM's optimisation passes off: the test programs are tiny, so compiling them is most of the suite's
time, and without those passes XLA's CPU backend compiles them much faster (experiments/RESULTS.md, "Project
operations"). No test measures speed, so no assertion depends on them."""


def xla_flags(device_count: int = 8) -> str:
    return f"--xla_force_host_platform_device_count={device_count} --xla_backend_optimization_level=0"
