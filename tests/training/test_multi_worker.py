"""MultiWorkerMirroredStrategy for real: two worker processes on 127.0.0.1 pre-train the micro config with the
global batch split between them, and must reproduce a single-process run; one worker SIGKILLed mid-run and both
restarted must resume from the chief's last checkpoint and finish as if nothing happened."""

import json
import signal
import subprocess
import time

import pytest

from tests.conftest import pretrain_command, subprocess_env
from tests.training import cluster


@pytest.fixture(scope="module")
def single_process(micro_config, pretraining_data, tmp_path_factory):
    """The reference: one process, the same config (global batch 8), seed and data."""
    model_dir = tmp_path_factory.mktemp("single") / "run"
    result = subprocess.run(
        pretrain_command(micro_config, pretraining_data, model_dir),
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((model_dir / "results.json").read_text())


def assert_same_run(results, reference, after_step=0):
    """Losses, learning rates and global metrics of every logged step after `after_step`, and the evaluation."""
    expected = {r["step"]: r for r in reference["history"]}
    logged = [r for r in results["history"] if r["step"] > after_step]
    assert logged, "nothing was logged"
    for record in logged:
        for name in ("loss", "generator_loss", "discriminator_loss", "discriminator_accuracy", "learning_rate"):
            assert record[name] == pytest.approx(expected[record["step"]][name], rel=1e-4, abs=1e-6), (
                record["step"],
                name,
            )
    for name, value in reference["eval"].items():
        assert results["eval"][name] == pytest.approx(value, rel=1e-4, abs=1e-5), name


def test_two_workers_reproduce_the_single_process_run(micro_config, pretraining_data, single_process, tmp_path):
    model_dir = tmp_path / "run"
    workers = cluster.launch(micro_config, pretraining_data, model_dir, tmp_path)
    cluster.wait(workers, tmp_path)
    results = json.loads((model_dir / "results.json").read_text())
    assert results["step"] == 40
    # Each worker computed half of every global batch; losses and metrics are global.
    assert_same_run(results, single_process)
    # Only the chief writes: its checkpoints, one TensorBoard event file, and the exports.
    saved = sorted(p.name for p in (model_dir / "checkpoints").iterdir())
    assert saved == ["checkpoint"] + [
        f"ckpt-{s}.{ext}" for s in (10, 20, 30, 40) for ext in ("data-00000-of-00001", "index")
    ]
    assert len(list((model_dir / "logs").glob("events.out.tfevents*"))) == 1
    assert (model_dir / "discriminator").is_dir()
    # The non-chief's own checkpoint copies were deleted after each save.
    assert not any((tmp_path / "tmp1").iterdir()), list((tmp_path / "tmp1").iterdir())
    log1 = (tmp_path / "worker1.log").read_text(errors="replace")
    assert "step 40/40" in log1  # The non-chief trains and logs like the chief, but writes nothing.


@pytest.mark.large  # About 2.5 and 1 min on 2 cores: kept out of the default run's 15-minute budget.
def test_a_sigkilled_worker_and_a_restart_resume_from_the_last_checkpoint(
    micro_config, pretraining_data, single_process, tmp_path
):
    model_dir = tmp_path / "run"
    workers = cluster.launch(micro_config, pretraining_data, model_dir, tmp_path)
    state = model_dir / "checkpoints" / "checkpoint"
    deadline = time.time() + 300
    try:
        while time.time() < deadline and not (state.exists() and "ckpt-" in state.read_text()):
            assert all(w.poll() is None for w in workers), "a worker exited early"
            time.sleep(0.05)
        workers[1].send_signal(signal.SIGKILL)
        workers[1].wait()
        # The chief now waits forever in a collective; a cluster manager would restart the job.
        time.sleep(2)
    finally:
        cluster.kill_all(workers)
    assert not (model_dir / "results.json").exists(), "the run finished before a worker could be killed"

    restarted = cluster.launch(micro_config, pretraining_data, model_dir, tmp_path)
    cluster.wait(restarted, tmp_path)
    log = (tmp_path / "worker0.log").read_text(errors="replace")
    line = [text for text in log.splitlines() if text.startswith("Resuming from")][-1]
    resumed_step = int(line.rsplit(" ", 1)[1].rstrip("."))
    assert resumed_step in (10, 20, 30)
    results = json.loads((model_dir / "results.json").read_text())
    assert results["step"] == 40
    # Step count, optimizer state, schedule and data position intact: the same losses as an uninterrupted run.
    assert_same_run(results, single_process, after_step=resumed_step)
