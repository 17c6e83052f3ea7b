"""nn.distributed: data-parallel fit on MPI equals one process; failures end the job.

The MPI tests spawn ``mpiexec -n 2 python tests/distributed_worker.py CASE OUT`` (skipped with
the reason when mpi4py or mpiexec is missing), each under a timeout, in a process group that
is killed if it hangs; ``NN_DISTRIBUTED_REQUIRED=1`` (CI) turns that skip into an error.
The tests of the one-rank fallback run everywhere.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import nn
from nn import distributed as dist

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORKER = os.path.join(HERE, "distributed_worker.py")
TOL = 1e-10


def _mpiexec():
    """The mpiexec beside this Python (where the mpich wheel puts it), else the one on PATH."""
    return shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or shutil.which("mpiexec")


_WHY_NOT = ("mpi4py is not installed (pip install -e '.[distributed]')"
            if importlib.util.find_spec("mpi4py") is None
            else "no mpiexec on PATH or beside the Python executable" if _mpiexec() is None
            else None)
if _WHY_NOT is not None and os.environ.get("NN_DISTRIBUTED_REQUIRED") == "1":
    # CI sets this, so a broken install of the extra fails instead of skipping quietly
    raise RuntimeError(f"NN_DISTRIBUTED_REQUIRED=1 but the MPI tests cannot run: {_WHY_NOT}")
needs_mpi = pytest.mark.skipif(_WHY_NOT is not None, reason=_WHY_NOT or "")


def _env():
    path = os.environ.get("PYTHONPATH")
    return dict(os.environ, PYTHONPATH=ROOT + (os.pathsep + path if path else ""),
                OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")


def _run(cmd, timeout, env=None):
    """(returncode, stdout, stderr, seconds); the whole process group is killed on timeout."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=ROOT, env=dict(_env(), **(env or {})), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        pytest.fail(f"{' '.join(cmd)} hung (killed after {timeout} s)\n{out}\n{err}")
    return p.returncode, out, err, time.perf_counter() - t0


def _mpirun(case, out_dir, n=2, timeout=60, env=None):
    exe = _mpiexec()
    flags = []
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
    if "Open MPI" in version.stdout + version.stderr:  # Open MPI wants these as root, 2 cores
        flags = ["--allow-run-as-root", "--oversubscribe"]
    return _run([exe, *flags, "-n", str(n), sys.executable, WORKER, case, str(out_dir)], timeout,
                env)


# ---------------------------------------------------------------------- two ranks = one process
@pytest.fixture(scope="module")
def equiv(tmp_path_factory):
    out = tmp_path_factory.mktemp("equiv")
    rc, stdout, stderr, _ = _mpirun("equiv", out)
    assert rc == 0, stderr
    with open(out / "equiv.json") as f:
        hist = json.load(f)
    return dict(np.load(out / "equiv.npz")), hist, stdout, out


CASES = ["sgd_b8", "sgd_b7", "adam_b8", "adam_b7"]  # 33 samples: last batch of 1, and of 5


@needs_mpi
@pytest.mark.parametrize("case", CASES)
def test_two_ranks_give_the_weights_of_one_process(equiv, case):
    w = equiv[0]
    names = [k[len(case) + 6:] for k in w if k.startswith(case + "_dist_")]
    assert len(names) == 4
    for name in names:
        d, r = w[f"{case}_dist_{name}"], w[f"{case}_ref_{name}"]
        assert d.dtype == np.float64
        np.testing.assert_allclose(d, r, rtol=0, atol=TOL, err_msg=f"{case} {name}")


@needs_mpi
@pytest.mark.parametrize("case", CASES)
def test_two_ranks_give_the_history_of_one_process(equiv, case):
    h = equiv[1][case]
    assert sorted(h["dist"]) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert sorted(h["dist"]) == sorted(h["ref"])
    for k in h["ref"]:
        assert len(h["dist"][k]) == len(h["ref"][k]) == 3
        np.testing.assert_allclose(h["dist"][k], h["ref"][k], rtol=0, atol=TOL, err_msg=k)


@needs_mpi
@pytest.mark.parametrize("case", CASES)
def test_ranks_end_bit_identical(equiv, case):
    # the ranks start from different seeds: rank 0's weights and order must be broadcast
    assert float(equiv[0][case + "_rankdiff"]) == 0.0


@needs_mpi
def test_pytorch_style_loop_with_the_parts(equiv):
    w = equiv[0]
    names = [k[len("loop_dist_"):] for k in w if k.startswith("loop_dist_")]
    assert len(names) == 4
    for name in names:
        np.testing.assert_allclose(w["loop_dist_" + name], w["loop_ref_" + name], rtol=0,
                                   atol=TOL, err_msg=name)


@needs_mpi
def test_only_rank_0_prints_and_writes(equiv):
    stdout, out = equiv[2], equiv[3]
    for e in (1, 2, 3):
        assert stdout.count(f"Epoch {e}/3") == 1, stdout
    assert (out / "w_rank0.npz").exists()
    assert not (out / "w_rank1.npz").exists()


# ---------------------------------------------------------------------- jit_compile=True
@pytest.fixture(scope="module")
def jit_equiv(tmp_path_factory):
    out = tmp_path_factory.mktemp("jit")
    rc, stdout, stderr, _ = _mpirun("jit_equiv", out, timeout=120)
    assert rc == 0, stderr
    with open(out / "jit.json") as f:
        hist = json.load(f)
    return dict(np.load(out / "jit.npz")), hist


@needs_mpi
@pytest.mark.parametrize("case", CASES)
def test_two_ranks_compiled_fit_equals_the_eager_one(jit_equiv, case):
    # the compiled shard step (forward, loss, backward) then the eager step's Allreduce+update
    w, h = jit_equiv
    # on each rank, every step with a non-empty shard (33 samples in batches of bs; rank r of
    # 2 takes [r*n//2, (r+1)*n//2) of a batch of n) ran the compiled program, in 3 epochs
    bs = int(case[-1])
    sizes = [min(bs, 33 - i) for i in range(0, 33, bs)]
    want = [3 * sum((r + 1) * n // 2 > r * n // 2 for n in sizes) for r in (0, 1)]
    assert want == ([12, 15] if bs == 8 else [15, 15])
    assert w[f"{case}_True_calls"].tolist() == want
    assert w[f"{case}_False_calls"].tolist() == [0, 0]
    names = [k[len(case) + 8:] for k in w if k.startswith(case + "_True_w_")]
    assert len(names) == 4
    for name in names:
        c, e = w[f"{case}_True_w_{name}"], w[f"{case}_False_w_{name}"]
        assert c.dtype == np.float64
        np.testing.assert_allclose(c, e, rtol=0, atol=1e-12, err_msg=f"{case} {name}")
    hj, he = h[case]["True"], h[case]["False"]
    assert sorted(hj) == sorted(he) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    for k in he:
        assert len(hj[k]) == len(he[k]) == 3
        np.testing.assert_allclose(hj[k], he[k], rtol=0, atol=1e-12, err_msg=k)
    # and the ranks stay identical, compiled or not
    assert float(w[f"{case}_True_rankdiff"]) == 0.0
    assert float(w[f"{case}_False_rankdiff"]) == 0.0


@needs_mpi
def test_two_ranks_compiled_fit_with_dropout_and_batchnorm_equals_eager(jit_equiv):
    w, h = jit_equiv
    assert int(w["dropout_True_calls"]) > 0 and int(w["dropout_auto_calls"]) > 0
    assert h["dropout_True"] == [] and h["dropout_auto"] == [] and h["dropout_False"] == []
    for mode in ("True", "auto"):
        np.testing.assert_allclose(h[f"dropout_{mode}_loss"], h["dropout_False_loss"],
                                   rtol=1e-12, atol=0)
        keys = [k for k in w if k.startswith("dropout_False_w_")]
        assert any("moving_mean" in k for k in keys)
        for k in keys:
            np.testing.assert_allclose(w[k.replace("False", mode, 1)], w[k], rtol=1e-12,
                                       atol=1e-14, err_msg=k)


# ---------------------------------------------------------------------- failures
@needs_mpi
def test_mismatch_and_nan_are_raised_on_every_rank_alike(tmp_path):
    rc, stdout, stderr, _ = _mpirun("mismatch", tmp_path, timeout=30)
    assert rc == 0, stderr
    for r in (0, 1):  # the ranks' lines may interleave: take each message up to its '|'
        model = re.findall(rf"MISMATCH model rank {r}: ([^|]*)\|", stdout)
        data = re.findall(rf"MISMATCH data rank {r}: ([^|]*)\|", stdout)
        assert len(model) == 1 and len(data) == 1, stdout
        assert "parameter 'layers.0.kernel': shape (5, 8)" in model[0]
        assert "shape (5, 9) dtype float64 on rank 1" in model[0]
        assert "x: (20, 5) float64" in data[0]
        nonfinite = re.findall(rf"NONFINITE rank {r} changed=(\w+): ([^|]*)\|", stdout)
        assert len(nonfinite) == 1, stdout
        assert nonfinite[0][0] == "True"  # 3 finite steps were applied before batch 4
        assert "at epoch 1, batch 4" in nonfinite[0][1]


@needs_mpi
@pytest.mark.parametrize("case,message", [
    ("abort_step", "RuntimeError: boom in the loss on rank 1"),
    ("abort_before", "FileNotFoundError: rank 1 could not read its data"),
])
def test_a_rank_that_raises_aborts_the_job(tmp_path, case, message):
    rc, stdout, stderr, seconds = _mpirun(case, tmp_path, timeout=30)
    assert rc != 0
    assert "nn.distributed: rank 1 of 2 raised an exception; aborting every rank" in stderr
    assert message in stderr
    assert seconds < 30


# ---------------------------------------------------------------------- no hangs
# Each case runs under a timeout that kills the whole job: a test passes only when every rank
# has exited (a hang fails it), with the exit code and the message expected.
GONE = ("nn.distributed: rank 0 of 2 is waiting in Iallgather (the start of "
        "fit(distributed=True)), but rank 1 has ended its script (it returned or called "
        "sys.exit) without joining: aborting every rank")


@needs_mpi
@pytest.mark.parametrize("case,message", [
    ("leave_exc", "nn.distributed: rank 1 of 2 left fit(distributed=True) at epoch 2, batch 2 "
                  "with ValueError: callback failed on rank 1; the other ranks cannot go on"),
    ("exit_fit", "nn.distributed: rank 1 of 2 left fit(distributed=True) at epoch 2, batch 2 "
                 "with SystemExit: 0; the other ranks cannot go on"),
    ("return_before", GONE),
    ("return_midway", GONE),
    ("loop_leave", "nn.distributed: rank 0 of 2 is waiting in Iallreduce (allreduce_gradients), "
                   "but rank 1 has ended its script"),
])
def test_a_rank_that_leaves_ends_the_job(tmp_path, case, message):
    rc, stdout, stderr, seconds = _mpirun(case, tmp_path, timeout=40)
    assert rc != 0, (stdout, stderr)
    assert message in stderr, stderr
    assert "FINISHED" not in stdout
    if case == "return_midway":  # the first fit, before rank 1 left, ran on both
        assert stdout.count("FIRST FIT DONE") == 2, stdout


@needs_mpi
def test_an_error_before_training_on_one_rank_is_raised_on_every_rank(tmp_path):
    rc, stdout, stderr, _ = _mpirun("start_error", tmp_path, timeout=40)
    assert rc == 0, stderr
    start = {r: re.findall(rf"START rank {r} ([^|]*)\|", stdout) for r in (0, 1)}
    assert start[1] == ["InvalidValueError: fit: batch_size must be an int >= 1, got 0"]
    assert start[0] == ["RankMismatchError: nn.distributed: fit(distributed=True) could not "
                        "start on rank 1: InvalidValueError: fit: batch_size must be an int >= "
                        "1, got 0; every rank raises, so none is left waiting"], stdout
    after = sorted(re.findall(r"AFTER rank \d ([^|]*)\|", stdout))
    assert len(after) == 2 and after[0] == after[1] and after[0].startswith("epochs=2 ")


@needs_mpi
def test_ranks_that_would_start_at_different_epochs_raise_on_every_rank(tmp_path):
    rc, stdout, stderr, _ = _mpirun("start_epoch", tmp_path, timeout=40)
    assert rc == 0, stderr
    for r in (0, 1):
        msg = re.findall(rf"EPOCH rank {r} ([^|]*)\|", stdout)
        assert len(msg) == 1, stdout
        assert "the ranks would start training at different epochs (1 to 3; this rank at " \
               f"{3 if r else 1})" in msg[0]
    after = sorted(re.findall(r"AFTER rank \d ([^|]*)\|", stdout))
    assert len(after) == 2 and after[0] == after[1], stdout


def _stops(stdout):
    found = dict(re.findall(r"STOP rank (\d) ([^|]*)\|", stdout))
    assert sorted(found) == ["0", "1"], stdout
    return dict(kv.split("=") for kv in found["0"].split()), \
        dict(kv.split("=") for kv in found["1"].split())


@needs_mpi
def test_early_stopping_on_the_root_alone_stops_every_rank(tmp_path):
    rc, stdout, stderr, _ = _mpirun("stop_root", tmp_path, timeout=40)
    assert rc == 0, stderr
    r0, r1 = _stops(stdout)
    assert r0["epochs"] == r1["epochs"] == "2"         # patience 1: epoch 2 stops
    assert r0["stop"] == r1["stop"] == "True"
    # restore_best_weights ran on rank 0 alone; rank 0's weights (epoch 1's) are everywhere
    assert r0["w"] == r0["epoch1"] == r1["w"] == r1["epoch1"]


@needs_mpi
def test_stop_training_on_one_rank_stops_every_rank_at_that_step(tmp_path):
    rc, stdout, stderr, _ = _mpirun("stop_one", tmp_path, timeout=40)
    assert rc == 0, stderr
    r0, r1 = _stops(stdout)
    assert r0 == r1
    assert r0["epochs"] == "1" and r0["steps"] == "3"


@needs_mpi
@pytest.mark.parametrize("case,env,message", [
    ("watchdog", {"AUTOGRAD_DIST_TIMEOUT": "2"},
     "nn.distributed: rank 0 of 2 waited 2.0 s in Iallreduce (the training step's gradients) "
     "of fit(distributed=True) at epoch 1, batch 3, longer than the watchdog's timeout "
     "(AUTOGRAD_DIST_TIMEOUT / nn.distributed.set_timeout: 2 s)"),
    ("watchdog_set", {},
     "nn.distributed: rank 0 of 2 waited 1.5 s in Iallreduce (the stop flag) of "
     "fit(distributed=True) at epoch 1, batch 5, longer than the watchdog's timeout "
     "(AUTOGRAD_DIST_TIMEOUT / nn.distributed.set_timeout: 1.5 s)"),
])
def test_the_watchdog_aborts_a_rank_blocked_past_the_timeout(tmp_path, case, env, message):
    # rank 1 sleeps 60 s inside fit; the job must end long before
    rc, stdout, stderr, seconds = _mpirun(case, tmp_path, timeout=40, env=env)
    assert rc != 0
    assert message in stderr, stderr
    assert "FINISHED" not in stdout
    assert seconds < 30


@pytest.fixture
def fresh_timeout(monkeypatch):
    monkeypatch.setattr(dist, "_TIMEOUT", dist._UNSET)
    monkeypatch.delenv("AUTOGRAD_DIST_TIMEOUT", raising=False)


@pytest.mark.parametrize("raw,expected", [("2.5", 2.5), (" 10 ", 10.0), ("0", None)])
def test_the_watchdog_timeout_comes_from_the_environment(fresh_timeout, monkeypatch, raw,
                                                         expected):
    assert dist.get_timeout() is None
    monkeypatch.setattr(dist, "_TIMEOUT", dist._UNSET)
    monkeypatch.setenv("AUTOGRAD_DIST_TIMEOUT", raw)
    assert dist.get_timeout() == expected
    dist.set_timeout(3)                      # the setter overrides the variable
    assert dist.get_timeout() == 3.0
    dist.set_timeout(None)
    assert dist.get_timeout() is None


@pytest.mark.parametrize("raw", ["", "abc", "-1", "inf", "nan"])
def test_a_bad_watchdog_timeout_is_a_configuration_error(fresh_timeout, monkeypatch, raw):
    monkeypatch.setenv("AUTOGRAD_DIST_TIMEOUT", raw)
    with pytest.raises(ValueError, match=r"configuration: the environment variable "
                                         r"AUTOGRAD_DIST_TIMEOUT must be a number of seconds"):
        dist.get_timeout()
    for bad in (-1, "x", True, float("nan")):
        with pytest.raises(ValueError, match=r"set_timeout: seconds must be a number"):
            dist.set_timeout(bad)


@needs_mpi
def test_distributed_fit_on_one_process_without_mpiexec(tmp_path):
    code = ("import sys; sys.path.insert(0, 'tests'); import numpy as np, nn, distributed_worker "
            "as w\nx, y = w.data(30)\nres = []\nfor d in (False, True):\n    nn.set_seed(1)\n"
            "    m = w.model(opt='adam')\n    h = m.fit(x, y, batch_size=8, epochs=2, verbose=0,"
            " distributed=d)\n    res.append((m.state_dict(), h.history))\n"
            "(a, ha), (b, hb) = res\nprint(max(float(np.abs(a[k] - b[k]).max()) for k in a), "
            "ha == hb)")
    rc, stdout, stderr, _ = _run([sys.executable, "-c", code], timeout=60)
    assert rc == 0, stderr
    diff, same = stdout.split()
    assert float(diff) == 0.0 and same == "True"


# ---------------------------------------------------------------------- without MPI
@pytest.fixture
def no_mpi(monkeypatch):
    monkeypatch.setattr(dist, "_MPI", None)
    monkeypatch.setattr(dist, "_MPI_ERROR", "ModuleNotFoundError: No module named 'mpi4py'")


def test_without_mpi_everything_is_one_rank(no_mpi):
    assert (dist.rank(), dist.size(), dist.is_root()) == (0, 1, True)
    assert dist.shard(7) == slice(0, 7)
    dist.barrier()
    nn.set_seed(0)
    m = nn.Sequential([nn.layers.Dense(2, input_dim=3)])
    before = m.state_dict()
    m(np.ones((4, 3), np.float32)).data.sum()
    loss = nn.losses.MeanSquaredError()(np.zeros((4, 2)), m(np.ones((4, 3), np.float32)))
    loss.backward()
    grads = [p.grad.copy() for p in m.parameters()]
    dist.broadcast_parameters(m)
    dist.allreduce_gradients(m)
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    for p, g in zip(m.parameters(), grads):
        np.testing.assert_array_equal(p.grad, g)


def test_fit_distributed_without_mpi4py_says_how_to_install(no_mpi):
    m = nn.Sequential([nn.layers.Dense(1, input_dim=2)])
    m.compile("sgd", "mse")
    with pytest.raises(ImportError, match=r"mpi4py.*autograd-nn\[distributed\]"):
        m.fit(np.zeros((4, 2)), np.zeros(4), distributed=True, verbose=0)


def test_importing_nn_does_not_start_mpi():
    code = "import sys, nn; print('mpi4py' in sys.modules)"
    rc, stdout, stderr, _ = _run([sys.executable, "-c", code], timeout=60)
    assert rc == 0, stderr
    assert stdout.strip() == "False"


@needs_mpi
def test_distributed_benchmark_runs():
    rc, stdout, stderr, _ = _run([sys.executable, "-m", "benchmarks.distributed", "--quick",
                                  "--batch", "16", "--sizes", "20,16,4"], timeout=120)
    assert rc == 0, stderr
    assert "| setup | ranks | global batch | per rank | step time, median (IQR) |" in stdout
    assert "| fit(distributed=True), strong scaling | 2 | 16 | 8 |" in stdout
    assert "| fit(distributed=True), weak scaling | 2 | 32 | 16 |" in stdout
