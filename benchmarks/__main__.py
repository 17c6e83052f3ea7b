"""The whole suite in one run: every workload, this library beside its peers, one header.

    python -m benchmarks [--only mlp_step,scalar,digits,cold_start,kernels,conv,lstm,scientific]
        [--threads 2]
        [--quick] [--repeats N] [--json FILE] [--plot FILE.png] [--no-peers]

Prints a header (date, CPU, cores, load, BLAS and its kernel, threads as each library sees
them, versions, the OPENBLAS and thread environment, the command), then one Markdown table
per workload.  Peers that are not installed are skipped with a line saying so.  Each
workload also runs alone: ``python -m benchmarks.mlp_step --config medium`` and so on.
``--no-peers`` keeps only numpy by hand and this library (what the hard dependencies allow).
"""
from __future__ import annotations

import argparse
import sys
import time

from benchmarks import _common as C

WORKLOADS = ("mlp_step", "scalar", "digits", "cold_start", "kernels", "conv", "lstm",
             "scientific")
OWN = {"mlp_step": "hand,autograd,nn", "scalar": "value,tensor,hand", "digits": "fit,hand,autograd,nn",
       "cold_start": "autograd,hand", "conv": "autograd,nn", "lstm": "autograd,nn",
       "scientific": "autograd"}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m " + (__spec__.name if __spec__ else __name__).removesuffix(".__main__"),
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(WORKLOADS), help="comma-separated workloads")
    ap.add_argument("--threads", type=int, default=2,
                    help="threads for everyone: BLAS, numba, PyTorch, XLA, tinygrad (default 2)")
    ap.add_argument("--quick", action="store_true", help="smallest settings (smoke test)")
    ap.add_argument("--repeats", type=int, default=None, help="override every workload's repeats")
    ap.add_argument("--no-peers", action="store_true", help="only numpy by hand and this library")
    ap.add_argument("--json", metavar="FILE", help="also write every result as JSON")
    ap.add_argument("--plot", metavar="FILE.png", help="also draw the ratios (needs matplotlib)")
    a = ap.parse_args(argv)
    only = [w.strip() for w in a.only.split(",") if w.strip()]
    bad = [w for w in only if w not in WORKLOADS]
    if bad:
        raise SystemExit(f"unknown workload(s) {bad}; choose from {', '.join(WORKLOADS)}")
    C.set_threads(a.threads)        # before numpy is imported anywhere
    res = C.Results()
    res.header = C.header()
    C.print_header(res.header)
    t_start = time.perf_counter()
    from benchmarks import mlp_step, scalar, digits, cold_start
    from benchmarks import conv_step, lstm_step, scientific
    mods = {"mlp_step": mlp_step, "scalar": scalar, "digits": digits, "cold_start": cold_start,
            "conv": conv_step, "lstm": lstm_step, "scientific": scientific}
    for w in only:
        t0 = time.perf_counter()
        if w == "kernels":
            from benchmarks import kernels
            print("\n## kernels: numpy twin vs numba per kernel (float32; the full table, both "
                  "dtypes and 15 repeats: python -m benchmarks.kernels)\n")
            rows = kernels.main(["--dtype", "float32", "--threads", str(a.threads)]
                                + (["--quick", "--only", "xent_sparse,sgd_update"] if a.quick else [])
                                + ["--repeats", str(a.repeats or (3 if a.quick else 5))])
            res.workloads["kernels"] = {"rows": rows, "notes": [], "skipped": []}
        else:
            mod = mods[w]
            wa = argparse.Namespace(threads=a.threads, quick=a.quick, repeats=a.repeats,
                                    peers=OWN[w] if a.no_peers else ",".join(mod.PEERS),
                                    json=None, plot=None)
            if w == "mlp_step":
                wa.config = "tiny" if a.quick else ",".join(mlp_step.CONFIGS)
                wa.kernels = False
            elif w == "scalar":
                wa.points = None
            elif w == "digits":
                wa.target, wa.max_epochs = 0.97, None
            elif w == "cold_start":
                wa.config, wa.runs = "small", None
            elif w == "conv":
                wa.workload = "digits_cnn" if a.quick else ",".join(conv_step.WORKLOADS)
            elif w == "lstm":
                wa.kernels = False
            mod.run(wa, res)
        print(f"\n({w}: {time.perf_counter() - t0:.0f} s)")
        sys.stdout.flush()
    skipped = sorted({s for d in res.workloads.values() for s in d.get("skipped", [])})
    if skipped:
        print("\n## skipped\n")
        for s in skipped:
            print(f"- {s}")
    print(f"\nsuite: {time.perf_counter() - t_start:.0f} s")
    C.finish(a, res)


if __name__ == "__main__":
    main()
