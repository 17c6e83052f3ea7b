"""What every benchmark shares: thread limits, the environment header, tables, JSON, plots.

Import this module before numpy where the thread count matters: :func:`set_threads` writes
the environment variables that BLAS, numba, XLA and tinygrad read when they load, and
applies the runtime limits (threadpoolctl, ``numba.set_num_threads``,
``torch.set_num_threads``) to whatever is loaded already.
"""
from __future__ import annotations

import json
import os
import platform
import sys
import time

THREADS = 2
_LIMITER = None

# Environment variables recorded in the header (none of them is changed here except the
# thread counts; OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are reported as found).
ENV_SHOWN = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
             "MKL_NUM_THREADS", "NUMBA_NUM_THREADS", "XLA_FLAGS", "NUM_CPU_THREADS",
             "AUTOGRAD_KERNELS", "PYTHONDONTWRITEBYTECODE")


def set_threads(n: int) -> None:
    """Give every library ``n`` threads: environment first (read at import by OpenBLAS, MKL,
    OpenMP, numba, tinygrad; XLA only knows 'one' or 'one per core'), then the runtime limits
    of those already loaded.  Safe to call again after peers are imported."""
    global THREADS, _LIMITER
    THREADS = n
    for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
              "NUM_CPU_THREADS"):
        os.environ[v] = str(n)
    if n == 1 and "xla_cpu_multi_thread_eigen" not in os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                                   " --xla_cpu_multi_thread_eigen=false"
                                   " intra_op_parallelism_threads=1").strip()
    if "numpy" in sys.modules:
        try:
            from threadpoolctl import threadpool_limits
            _LIMITER = threadpool_limits(limits=n)
        except ImportError:
            pass
    if "numba" in sys.modules:
        import numba
        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    if "torch" in sys.modules:
        import torch
        torch.set_num_threads(n)


def thread_report() -> str:
    """One line: what each loaded library will actually use."""
    parts = [f"--threads {THREADS}"]
    try:
        from threadpoolctl import threadpool_info
        for p in threadpool_info():
            parts.append(f"{p.get('internal_api')} {p.get('num_threads')}"
                         + (f" ({p['architecture']})" if p.get("architecture") else ""))
    except ImportError:
        parts.append("BLAS via environment (threadpoolctl not installed)")
    if "numba" in sys.modules:
        import numba
        parts.append(f"numba {numba.get_num_threads()}")
    if "torch" in sys.modules:
        import torch
        parts.append(f"torch {torch.get_num_threads()}")
    if "jax" in sys.modules:
        parts.append("XLA " + ("1 (multi_thread_eigen off)" if THREADS == 1 else
                               f"one per core ({os.cpu_count()})"))
    return ", ".join(parts)


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
            else:
                name = platform.processor() or platform.machine()
        with open("/proc/cpuinfo") as f:
            flags = next((ln for ln in f if ln.startswith("flags")), "")
        simd = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else ""
        return f"{name}{', ' + simd if simd else ''}"
    except OSError:
        return platform.processor() or platform.machine()


def _blas() -> str:
    import numpy  # noqa: F401 - loaded so that threadpoolctl can see its BLAS
    try:
        from threadpoolctl import threadpool_info
        libs = [f"{p.get('internal_api')} {p.get('version')} ({p.get('architecture')}, "
                f"{p.get('threading_layer')})" for p in threadpool_info()
                if p.get("user_api") == "blas"]
        if libs:
            return "; ".join(libs)
    except ImportError:
        pass
    try:
        import numpy as np
        cfg = np.show_config(mode="dicts")
        b = cfg["Build Dependencies"]["blas"]
        return f"{b.get('name')} {b.get('version')} (threadpoolctl absent: kernel unknown)"
    except Exception:  # noqa: BLE001 - old numpy without mode="dicts"
        return "unknown"


def versions() -> dict:
    """Versions of this library and of every peer that imports (None when absent)."""
    import importlib.util
    from importlib import metadata
    out = {"python": platform.python_version()}
    for name in ("numpy", "numba", "torch", "jax", "jaxlib", "mygrad", "tinygrad", "micrograd",
                 "threadpoolctl", "matplotlib"):
        try:   # importable here (not only its metadata), without importing it
            out[name] = metadata.version(name) if importlib.util.find_spec(name) else None
        except (ImportError, ValueError, metadata.PackageNotFoundError):
            out[name] = None
    import autograd
    out["autograd (this)"] = autograd.__version__
    return out


def command() -> str:
    """How this process was started, as a user would type it (``python -m ...``)."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    first = f"-m {spec.name.removesuffix('.__main__')}" if spec else sys.argv[0]
    return " ".join(["python", first] + sys.argv[1:])


def header() -> dict:
    """Machine, threads, BLAS, versions and environment, for the report and the JSON."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu": _cpu_name(), "cores": os.cpu_count(),
        "load_average": [round(x, 2) for x in load] if load else None,
        "platform": platform.platform(),
        "command": command(),
        "blas": _blas(), "threads": THREADS, "versions": versions(),
        "env": {k: os.environ.get(k) for k in ENV_SHOWN},
    }


def print_header(h: dict) -> None:
    v = h["versions"]
    print(f"# Benchmarks, {h['date']}\n")
    print(f"- machine: {h['cpu']}, {h['cores']} cores, {h['platform']}; load average "
          f"{h['load_average']}")
    print(f"- BLAS: {h['blas']}")
    print(f"- threads: {thread_report()}")
    print("- versions: " + ", ".join(f"{k} {val}" for k, val in v.items() if val))
    absent = [k for k, val in v.items() if val is None]
    if absent:
        print("- not installed: " + ", ".join(absent))
    print("- environment: " + ", ".join(f"{k}={val if val is not None else '(unset)'}"
                                        for k, val in h["env"].items()))
    print(f"- command: `{h['command']}`")
    load = h.get("load_average")
    if load and h.get("cores") and load[0] > 0.5 * h["cores"]:
        print(f"- WARNING: the machine is busy (load {load[0]} on {h['cores']} cores): "
              f"timings are noisy, and libraries that spin at barriers (OpenBLAS, OpenMP in "
              f"PyTorch) can slow down many times with --threads above the idle cores; "
              f"re-run on a quiet machine before quoting figures")
    sys.stdout.flush()


# ----------------------------------------------------------------------------- results
class Results:
    """Rows of one run, kept for the tables, ``--json`` and ``--plot``."""

    def __init__(self) -> None:
        self.header: dict = {}
        self.workloads: dict = {}   # name -> {"rows": [...], "notes": [...], "skipped": [...]}

    def add(self, workload: str, row: dict) -> None:
        self.workloads.setdefault(workload, {"rows": [], "notes": [], "skipped": []})["rows"].append(row)

    def note(self, workload: str, text: str) -> None:
        self.workloads.setdefault(workload, {"rows": [], "notes": [], "skipped": []})["notes"].append(text)

    def skip(self, workload: str, text: str) -> None:
        w = self.workloads.setdefault(workload, {"rows": [], "notes": [], "skipped": []})
        if text not in w["skipped"]:
            w["skipped"].append(text)

    def dump(self, path: str) -> None:
        with open(path, "w") as f:
            json.dump({"header": self.header, "workloads": self.workloads}, f, indent=1,
                      default=float)
        print(f"\nwrote {path}")


def ratios(rows: list, key: str = "median_s", base: str = "PyTorch eager") -> None:
    """Add ``vs_torch`` and ``vs_fastest`` (per group) to timing rows in place."""
    groups: dict = {}
    for r in rows:
        groups.setdefault(r.get("group", ""), []).append(r)
    for rs in groups.values():
        timed = [r for r in rs if r.get(key)]
        if not timed:
            continue
        fastest = min(r[key] for r in timed)
        torch_t = next((r[key] for r in timed if r["peer"] == base), None)
        for r in timed:
            r["vs_fastest"] = r[key] / fastest
            r["vs_torch"] = r[key] / torch_t if torch_t else None


def fmt_us(s: float) -> str:
    us = s * 1e6
    return f"{us:,.0f}" if us >= 100 else f"{us:.1f}"


def fmt_x(r: float | None) -> str:
    return "-" if r is None else f"{r:.2f}x" if r < 100 else f"{r:,.0f}x"


def timing_table(rows: list, group_label: str = "config", extra: tuple = (),
                 unit: str = "µs") -> str:
    """Markdown: group | peer | median | spread (q1-q3, min-max) | samples/s | ratios."""
    k = {"µs": 1.0, "ms": 1e-3}[unit]

    def f(s):
        return fmt_us(s * k)
    head = [group_label, "peer", f"median {unit}", f"IQR {unit}", f"min-max {unit}", "samples/s",
            "vs PyTorch", "vs fastest"] + [e[0] for e in extra]
    out = ["| " + " | ".join(head) + " |", "|---|---|" + "---:|" * (len(head) - 2)]
    for r in rows:
        cells = [r.get("group", ""), r["peer"], f(r["median_s"]),
                 f"{f(r['q1_s'])}-{f(r['q3_s'])}", f"{f(r['min_s'])}-{f(r['max_s'])}",
                 f"{r['samples_per_s']:,.0f}" if r.get("samples_per_s") else "-",
                 fmt_x(r.get("vs_torch")), fmt_x(r.get("vs_fastest"))]
        cells += [e[1](r) for e in extra]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def scalar(v) -> float:
    """A loss from any peer (numpy, torch, jax, tinygrad, this library) as a float."""
    return float(v.item()) if hasattr(v, "item") else float(v)


def check_agreement(losses: dict, ref: str, rtol: float, atol: float) -> tuple[bool, list]:
    """Compare each peer's first-step losses with ``ref``'s: (all agree, lines)."""
    import numpy as np
    lines = []
    ok = True
    r = np.asarray(losses[ref], dtype=np.float64)
    for name, ls in losses.items():
        a = np.asarray(ls, dtype=np.float64)
        good = a.shape == r.shape and bool(np.allclose(a, r, rtol=rtol, atol=atol))
        err = float(np.max(np.abs(a - r))) if a.shape == r.shape else float("inf")
        ok &= good
        lines.append(f"{name}: {' '.join(f'{v:.6g}' for v in a)} "
                     f"({'agrees' if good else 'DISAGREES'}, max |diff| {err:.1e})")
    return ok, lines


def plot(results: Results, path: str) -> None:
    """Bars of each peer's time relative to the fastest, one panel per workload."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        print(f"\n--plot {path}: matplotlib is not installed (pip install matplotlib); no plot")
        return
    panels = [(w, d["rows"]) for w, d in results.workloads.items()
              if any(r.get("vs_fastest") for r in d["rows"])]
    if not panels:
        print("\n--plot: nothing to draw")
        return
    counts = [max(2, sum(1 for r in rs if r.get("vs_fastest"))) for _, rs in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 1.0 + 0.26 * sum(counts) + 0.6 * len(panels)),
                             squeeze=False, gridspec_kw={"height_ratios": counts})
    for ax, (w, rows) in zip(axes[:, 0], panels):
        rows = [r for r in rows if r.get("vs_fastest")]
        labels = [f"{r.get('config') or r.get('group', '')}: {r['peer']}" for r in rows][::-1]
        vals = [r["vs_fastest"] for r in rows][::-1]
        colors = ["tab:orange" if r["peer"].startswith(("autograd", "nn")) else "tab:blue"
                  for r in rows][::-1]
        ax.barh(range(len(vals)), vals, color=colors)
        ax.set_yticks(range(len(vals)))
        ax.set_yticklabels(labels, fontsize=7)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}x"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.axvline(1.0, color="k", lw=0.5)
        ax.set_title(f"{w}: time / fastest (log scale, lower is better; orange = this library)",
                     fontsize=9)
        for i, v in enumerate(vals):
            ax.text(v, i, f" {v:.2f}x" if v < 100 else f" {v:,.0f}x", va="center", fontsize=6)
    h = results.header
    fig.suptitle(f"{h.get('date', '')}  {h.get('cpu', '')}  threads={h.get('threads')}",
                 fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    fig.savefig(path, dpi=110)
    print(f"\nwrote {path}")


# ----------------------------------------------------------------------------- CLI glue
def add_args(ap, peers: str) -> None:
    """The options every workload takes."""
    ap.add_argument("--threads", type=int, default=2,
                    help="threads for everyone: BLAS, numba, PyTorch, XLA, tinygrad (default 2)")
    ap.add_argument("--quick", action="store_true", help="smallest settings, few repeats (smoke test)")
    ap.add_argument("--repeats", type=int, default=None, help="timed repeats per variant")
    ap.add_argument("--peers", default=peers, help=f"comma-separated, from: {peers}")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    ap.add_argument("--plot", metavar="FILE.png", help="also draw the ratios (needs matplotlib)")


def standalone(run, a) -> "Results":
    """Run one workload as its own command: threads, header, the workload, JSON and plot."""
    set_threads(a.threads)
    res = Results()
    res.header = header()
    print_header(res.header)
    run(a, res)
    finish(a, res)
    return res


def finish(a, res: "Results") -> None:
    res.header["threads_in_use"] = thread_report()
    if a.json:
        res.dump(a.json)
    if a.plot:
        plot(res, a.plot)


def peer_list(a, allowed: tuple) -> list:
    wanted = [p.strip() for p in a.peers.split(",") if p.strip()]
    bad = [p for p in wanted if p not in allowed]
    if bad:
        raise SystemExit(f"unknown peer(s) {bad}; choose from {', '.join(allowed)}")
    return wanted
