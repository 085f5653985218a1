"""Airflow's `core.hostname_callable` for a cluster on one machine.

Every process of a local cluster shares the machine's name, so two Celery workers
would write the same `hostname` on the task instances they run. Each process the
cluster starts carries its own name in GAGGLE_NODE_NAME; this callable reports it.
Kept import-light: every Airflow process of the cluster imports it.
"""

from __future__ import annotations

import os
import socket


def node_name() -> str:
    return os.environ.get("GAGGLE_NODE_NAME") or socket.getfqdn()
