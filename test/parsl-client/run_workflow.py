"""Run one real Parsl workflow whose usage-tracking datagrams go to a local relay.

Used by test/parsl-real-client.test.ts with the venv from infra/scripts/ensure-parsl-venv.sh
(parsl==2025.03.17). Usage:

    python run_workflow.py --port UDP_PORT --level {1,2,3} --executor {threads,htex}
                           --run-dir DIR [--project NAME]

Prints one JSON line on stdout: the run's correlator (= workflow id), the level, and every
usage datagram Parsl handed to its sender (base64), so the test can find them in Kafka and
ClickHouse.

What is patched, and why nothing can leave the machine
------------------------------------------------------
Parsl 2025.03.17 sends usage data only through parsl.usage_tracking.usage:

* ``UsageTracker.__init__(self, dfk, port=50077, domain_name='tracking.parsl-project.org')``
  stores the destination in ``self.domain_name`` / ``self.UDP_PORT``; the DataFlowKernel
  constructs it as ``UsageTracker(self)`` (dflow.py) and immediately calls
  ``send_start_message``; ``cleanup`` calls ``send_end_message``.
* ``UsageTracker.send_UDP_message`` passes ``self.domain_name, self.UDP_PORT`` to the
  module-level ``udp_messenger`` (looked up in the module's globals at call time), which forks
  a process that resolves the name and ``sendto``s one datagram. There is no other send path.

This driver, before importing anything that can create a DataFlowKernel (``parsl.load`` is
only called after the patch, and ``import parsl`` itself sends nothing):

1. wraps ``UsageTracker.__init__`` so that it always stores
   ``domain_name = '127.0.0.1'`` and ``UDP_PORT = <relay port>`` whatever it was called with;
2. replaces the module global ``udp_messenger`` with a guard that raises unless the
   destination is exactly ('127.0.0.1', <relay port>), and otherwise calls Parsl's own
   ``udp_messenger`` unchanged. (``send_UDP_message`` catches the exception and logs it, so
   a wrong destination means nothing is sent, never a send elsewhere; the test would then
   fail on the missing datagram, and the guard's refusal is also recorded in the output.)

``socket.gethostbyname('127.0.0.1')`` returns the literal without any DNS query, so no
resolver traffic either. The forked sender inherits the patched module. Everything else
(message construction, the fork, the socket, the timing) is Parsl's own code.
"""

import argparse
import base64
import json
import sys

import parsl
import parsl.usage_tracking.usage as usage_mod
from parsl.usage_tracking.usage import UsageTracker

LOOPBACK = "127.0.0.1"

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--level", type=int, choices=(1, 2, 3), required=True)
parser.add_argument("--executor", choices=("threads", "htex"), default="threads")
parser.add_argument("--project", default=None)
parser.add_argument("--run-dir", required=True)
args = parser.parse_args()

assert parsl.__version__ == "2025.03.17", parsl.__version__
RELAY = (LOOPBACK, args.port)

# --- the patch: destination only -----------------------------------------------------------
_original_init = UsageTracker.__init__
_original_messenger = usage_mod.udp_messenger
sent: list[bytes] = []
refused: list[str] = []


def _init_to_relay(self, dfk, port=None, domain_name=None):  # noqa: ARG001 - ignored on purpose
    _original_init(self, dfk, port=RELAY[1], domain_name=RELAY[0])


def _guarded_messenger(domain_name, udp_port, sock_timeout, message):
    if (domain_name, udp_port) != RELAY:
        refused.append(f"{domain_name}:{udp_port}")
        raise RuntimeError(f"refusing to send usage data to {domain_name}:{udp_port}")
    sent.append(message)
    return _original_messenger(domain_name, udp_port, sock_timeout, message)


UsageTracker.__init__ = _init_to_relay
usage_mod.udp_messenger = _guarded_messenger
# -------------------------------------------------------------------------------------------

from parsl.app.app import python_app  # noqa: E402
from parsl.config import Config  # noqa: E402
from parsl.executors import HighThroughputExecutor, ThreadPoolExecutor  # noqa: E402
from parsl.executors.high_throughput.executor import DEFAULT_LAUNCH_CMD  # noqa: E402
from parsl.providers import LocalProvider  # noqa: E402

# Parsl 2025.03.17's worker pool finds the interchange with probe_addresses(), which connects a
# ZMQ socket and only then attaches the monitor that waits for ZMQ_EVENT_CONNECTED. On loopback
# the connection can complete in between; libzmq drops the event, and the pool exits with code 5
# ("Failed to find a viable address to connect to interchange") once the probe times out (30 s
# by default). Measured here: 37 of 1,500 probes of a listening 127.0.0.1 port missed the event
# (0 of 1,500 with the monitor attached first), and one CI run failed on it. The fault is in
# the task transport, not in usage tracking. So, by configuration alone: a 5 s probe (it
# answers in milliseconds when it sees the event), and Parsl's unmodified pool started again,
# up to three times, when it exits with that code.
PROBE_TIMEOUT_S = 5
NO_VIABLE_ADDRESS = 5  # process_worker_pool.py's exit code when the probe finds nothing
WORKER_POOL_CMD = (
    "for attempt in 1 2 3; do "
    + DEFAULT_LAUNCH_CMD
    + f" && break; test $? -eq {NO_VIABLE_ADDRESS} || break; done"
)


@python_app
def add(a, b):
    return a + b


@python_app
def square(x):
    return x * x


@python_app
def fail_on_purpose(x):
    raise ValueError(f"failing on purpose with {x}")


def make_executor():
    if args.executor == "threads":
        return ThreadPoolExecutor(label="threads", max_threads=2)
    return HighThroughputExecutor(
        label="htex_local",
        # Configuration only, Parsl unchanged: see WORKER_POOL_CMD.
        launch_cmd=WORKER_POOL_CMD,
        address_probe_timeout=PROBE_TIMEOUT_S,
        address=LOOPBACK,
        loopback_address=LOOPBACK,
        max_workers_per_node=1,
        cores_per_worker=1,
        provider=LocalProvider(init_blocks=1, max_blocks=1, min_blocks=0),
    )


config = Config(
    executors=[make_executor()],
    usage_tracking=args.level,
    project_name=args.project,
    run_dir=args.run_dir,
    initialize_logging=False,
    strategy="none",
)

dfk = parsl.load(config)
try:
    tracker = dfk.usage_tracker
    # The patch took effect on the tracker the DFK actually uses.
    assert (tracker.domain_name, tracker.UDP_PORT) == RELAY, (tracker.domain_name, tracker.UDP_PORT)
    correlator = tracker.correlator_uuid
    results = [add(1, 2).result(), square(add(2, 3)).result()]
    assert results == [3, 25], results
    failed = fail_on_purpose(7)
    try:
        failed.result()
        raise AssertionError("fail_on_purpose did not fail")
    except ValueError:
        pass
finally:
    # cleanup sends the closure (level 3) and joins the sender processes (usage_tracker.close).
    dfk.cleanup()

json.dump(
    {
        "correlator": correlator,
        "level": args.level,
        "executor": args.executor,
        "sent": [base64.b64encode(m).decode() for m in sent],
        "refused": refused,
    },
    sys.stdout,
)
sys.stdout.write("\n")
