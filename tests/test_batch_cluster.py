"""A real Ray cluster on this machine: a head with no CPU (it only schedules) and two
worker nodes with one CPU each.  ``make test`` runs the suite in a network namespace with
only loopback (scripts/loopback_only.sh), where every node binds to 127.0.0.1: Ray ignores
a node address of 127.0.0.1 when it can find another one (ray-project/ray#26293), so the
test asserts it on ``ray.nodes()`` whenever that isolation is on.  A folder of short
generated clips, one corrupt, is processed; while it runs the test SIGKILLs a worker
process in the middle of a video.  Every clip must end exactly once, done or failed; the corrupt one failed with its
reason; every output folder complete; nothing raw on disk."""

from __future__ import annotations

import os
import platform
import signal
import time

import psutil
import pytest

from tests.support.batch import check_outputs, children, kill_leftovers, make_archive

import ray

pytestmark = pytest.mark.ray


def _running_task_pids() -> list[int]:
    """Worker processes executing a video right now (Ray titles them ``ray::process_video``)."""
    pids = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        cmd = p.info["cmdline"] or []
        if cmd and cmd[0].startswith("ray::process_video"):
            pids.append(p.info["pid"])
    return pids


def _check_loopback_nodes(address: str, expected: int) -> None:
    """Every live node of the cluster listens on 127.0.0.1 when the suite is loopback-only."""
    ray.init(address=address, log_to_driver=False, configure_logging=False)
    try:
        alive = [n for n in ray.nodes() if n["Alive"]]
    finally:
        ray.shutdown()
    assert len(alive) == expected, alive
    addresses = {n["NodeManagerAddress"] for n in alive}
    print(f"ray nodes at {sorted(addresses)}")
    if os.environ.get("CLINLAB_LOOPBACK_ONLY") == "1":
        assert addresses == {"127.0.0.1"}, addresses
        assert address.split(":")[0] == "127.0.0.1", address


@pytest.fixture
def cluster(tmp_path):
    from ray.cluster_utils import Cluster

    before = children()
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False,
                                                      "object_store_memory": 80 * 1024 * 1024})
    try:
        for _ in range(2):
            c.add_node(num_cpus=1, object_store_memory=80 * 1024 * 1024)
        c.wait_for_nodes()
        _check_loopback_nodes(c.address, expected=3)
        yield c
    finally:
        if ray.is_initialized():
            ray.shutdown()
        c.shutdown()
        kill_leftovers(before)


def test_two_node_cluster_survives_a_killed_worker_and_a_corrupt_clip(tmp_path, cluster):
    from engine.batch import manifest as mf
    from engine.batch.runner import run_batch

    clips = make_archive(tmp_path / "in", 4, frames=12)
    out, scratch = tmp_path / "out", tmp_path / "worker-tmp"
    killed: list[int] = []
    seen: list[dict] = []

    def progress(p: dict) -> None:
        seen.append(p)
        if not killed and p["running"]:
            # kill one worker of OUR cluster while it is inside a video
            for _ in range(100):
                ours = {c.pid for c in psutil.Process().children(recursive=True)}  # the cluster is our child
                mine = [pid for pid in _running_task_pids() if pid in ours]
                if mine:
                    os.kill(mine[0], signal.SIGKILL)
                    killed.append(mine[0])
                    return
                time.sleep(0.05)

    t0 = time.time()
    summary = run_batch(tmp_path / "in", out, address=cluster.address, tmp_root=str(scratch), progress=progress)
    elapsed = time.time() - t0

    assert killed, "no worker was caught mid-video"
    assert not psutil.pid_exists(killed[0]) or psutil.Process(killed[0]).status() == psutil.STATUS_ZOMBIE
    table = mf.read(out / mf.MANIFEST)
    assert sorted(table["source"]) == sorted(clips)  # every clip exactly once
    assert table["source"].is_unique
    assert set(table["status"]) <= {"done", "failed"}
    by = table.set_index("source")
    assert by.loc["broken.mp4", "status"] == "failed"
    err = by.loc["broken.mp4", "error"]
    assert err and "\n" not in err and ("damaged" in err or "cannot be read" in err or "not a video" in err), err
    good = [s for s in clips if s != "broken.mp4"]
    assert (by.loc[good, "status"] == "done").all(), by.loc[good, ["status", "error"]]
    assert (by.loc[good, "frames"] == 12).all() and by.loc[good, "qc_passed"].all()
    assert summary == {**summary, "done": 4, "failed": 1, "total": 5, "pending": 0, "processed": 5, "skipped": 0}
    assert set(by.loc[good, "node"]) == {platform.node()}  # each clip names the host it ran on
    assert len(list((out / "videos").iterdir())) == 4
    check_outputs(out, clips)
    # the killed attempt could not delete its private folder; it must hold no file at all
    assert not [p for p in scratch.rglob("*") if p.is_file()]
    assert max(p["done"] + p["failed"] for p in seen) == 5
    print(f"cluster batch: 5 clips, 1 worker killed, {elapsed:.1f} s")
