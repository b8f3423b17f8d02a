"""The local Slurm cluster as a pytest fixture (``tests/cluster/local_slurm.py``): skipped, with the
reason, where it cannot run."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.cluster.local_slurm import (
    ClusterStartError,
    SlurmCluster,
    start_cluster,
    stop_cluster,
    why_not,
)


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlurmCluster]:
    """A one-node cluster (node and controller on 127.0.0.1) for the tests of one module; rdbench's
    own sbatch, squeue and sinfo calls reach it through ``SLURM_CONF``."""
    reason = why_not()
    if reason:
        pytest.skip(reason)
    try:
        cluster = start_cluster(tmp_path_factory.mktemp("slurm"))
    except ClusterStartError as error:
        pytest.fail(str(error))
    saved = {k: os.environ.get(k) for k in cluster.env}
    os.environ.update(cluster.env)
    try:
        yield cluster
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        stop_cluster(cluster)
