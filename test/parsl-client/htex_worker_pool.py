"""Parsl's htex worker pool, started with one fix to its address probe.

Parsl 2025.03.17's ``probe_addresses`` connects a ZMQ socket to the interchange and only then
attaches the monitor that waits for ZMQ_EVENT_CONNECTED. On loopback the connection can complete
in between; libzmq drops events for a socket with no monitor yet, so the probe never sees the
connection, gives up after ``address_probe_timeout`` (30 s) and the pool exits with "Failed to
find a viable address to connect to interchange". Measured on the CI machine (2026-11-27): 37 of
1,500 probes of a listening 127.0.0.1 port missed the event with Parsl's probe, 0 of 1,500 with
this one, and one CI run failed on it. That fault is in the client's
task transport, not in usage tracking, which this test is about, so the pool runs unchanged
except for a probe that attaches the monitor first.

Used as the executor's ``launch_cmd`` by run_workflow.py:
    python htex_worker_pool.py <process_worker_pool.py arguments>
"""

import runpy
import time

import zmq
from zmq.utils.monitor import recv_monitor_message

import parsl.executors.high_throughput.probe as probe
from parsl.addresses import tcp_url


def probe_addresses(addresses, task_port, timeout=120):
    """Parsl's probe_addresses, with the monitor attached before connect."""
    context = zmq.Context()
    sockets = {}
    for addr in addresses:
        socket = context.socket(zmq.DEALER)
        socket.setsockopt(zmq.LINGER, 0)
        socket.setsockopt(zmq.IPV6, True)
        monitor = socket.get_monitor_socket(events=zmq.EVENT_CONNECTED)
        socket.connect(tcp_url(addr, task_port))
        sockets[addr] = (socket, monitor)

    deadline = time.time() + timeout
    first_connected = None
    while time.time() < deadline and not first_connected:
        for addr, (_, monitor) in sockets.items():
            try:
                recv_monitor_message(monitor, zmq.NOBLOCK)
                first_connected = addr
                break
            except zmq.Again:
                pass
        time.sleep(0.01)

    for socket, monitor in sockets.values():
        socket.disable_monitor()
        monitor.close()
        socket.close()
    return first_connected


if __name__ == "__main__":
    probe.probe_addresses = probe_addresses
    # alter_sys: the pool's workers are spawned processes; they re-import the pool module as
    # their main module by its spec name, which is why it must run under its own name here.
    runpy.run_module(
        "parsl.executors.high_throughput.process_worker_pool", run_name="__main__", alter_sys=True
    )
