"""CPU peer comparison (issue 13 item 4): tinct against PyTorch and ONNX Runtime.

One run, interleaved: each round times, for every model, preset and thread
count, one call of each contestant (tinct, PyTorch eager NCHW, PyTorch
channels_last, PyTorch frozen TorchScript, ONNX Runtime) in a rotating order,
so all see the same load; the table reports the median over rounds, PyTorch
as the fastest of its variants. Then the training step (compact, batch 8,
128x128, Adam), tinct against PyTorch eager NCHW and channels_last, also
interleaved, PyTorch as the faster of the two; then tinct's
peak RSS colorizing a 4000x3000 photo. `uptime` before and after.

Every timed call starts after a pause (--pause, default 0.1 s) so that it
runs on an idle machine: the contestant before it may leave pool threads
spinning. ONNX Runtime's intra-op threads spin 20-50 ms after a run; tinct's
regression compact forward at 2 threads measured 34.9 ms right after an ORT
run, 25.6 ms after a 20 ms pause and 19.8-20.3 ms after 50-200 ms (2026-12-06,
idle); the pause applies to every contestant alike.

tinct runs as bench_peer_forward (bench/bench_peer_forward.cpp), a stdin
server in its own process; PyTorch and ONNX Runtime run in this process,
torch.set_num_threads(t) / intra_op_num_threads = t. Both sides build each
network from its definition (tinct's models/, bench/torch_ref/models.py) and
the parameter counts are compared first; ONNX files are exported from the
PyTorch models (eval mode, 1x1x512x512) into bench/.onnx-cpu/.

usage: bench/cpu_peer/run.sh [build dir, default build] [--quick|--full]
"""
import argparse
import copy
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import warnings
import zlib

import numpy as np
import onnxruntime as ort
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bench", "torch_ref"))
import models  # noqa: E402  (bench/torch_ref/models.py)
from torch_ref import synthetic_batch  # noqa: E402

KINDS = ["regression", "classification", "gan"]


def uptime(tag):
    out = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"[load {tag}] {out}", flush=True)
    return out


class Tinct:
    def __init__(self, exe):
        self.p = subprocess.Popen([exe], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def ask(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        ans = self.p.stdout.readline().strip()
        if not ans or ans.startswith("error"):
            raise RuntimeError(f"bench_peer_forward: {line!r} -> {ans!r}")
        return ans.split()[1:]

    def close(self):
        self.p.stdin.write("quit\n")
        self.p.stdin.close()
        self.p.wait()


def torch_net(kind, preset):
    c = models.Colorizer(kind, preset, 313)
    net = c.modules["gen." if kind == "gan" else ""]
    net.train(False)
    return c, net


def export_onnx(net, path):
    x = torch.zeros(1, 1, 512, 512)
    kw = dict(input_names=["L"], output_names=["y"], opset_version=17)
    try:
        torch.onnx.export(net, (x,), path, dynamo=False, **kw)
    except TypeError:  # torch without the dynamo switch
        torch.onnx.export(net, (x,), path, **kw)


def ort_session(path, threads):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e3


def write_png(path, w, h, seed=3):
    """A Kodak-like synthetic photo: smooth colour gradients, blobs and noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.empty((h, w, 3), np.float32)
    for c in range(3):
        fx, fy, ph = rng.uniform(0.5, 3, 2).tolist() + [rng.uniform(0, 6.28)]
        img[..., c] = 128 + 80 * np.sin(fx * 6.28 * x / w + ph) * np.cos(fy * 6.28 * y / h)
    img += rng.normal(0, 12, img.shape).astype(np.float32)
    raw = np.clip(img, 0, 255).astype(np.uint8)
    rows = b"".join(b"\x00" + raw[i].tobytes() for i in range(h))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))  # noqa: E731
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b""))


def peak_rss(build, model):
    tinct = os.path.join(build, "tinct")
    with tempfile.TemporaryDirectory(prefix="tinct-rss-") as d:
        photo = os.path.join(d, "photo4000x3000.png")
        write_png(photo, 4000, 3000)
        r = subprocess.run(["/usr/bin/time", "-v", tinct, "colorize", photo, "-o", os.path.join(d, "out"),
                            "--model", model, "--overwrite"], capture_output=True, text=True, cwd=ROOT)
        rss = wall = None
        for line in r.stderr.splitlines():
            if "Maximum resident set size" in line:
                rss = int(line.split(":")[1]) / 1024
            if "Elapsed (wall clock)" in line:
                wall = line.split("):")[1].strip()
        if r.returncode != 0:
            print(r.stdout[-2000:], r.stderr[-2000:])
            return None, None
        return rss, wall


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build", nargs="?", default="build")
    ap.add_argument("--full", action="store_true", help="the run for the record (default: quick, ~3 min idle)")
    ap.add_argument("--rounds", type=int, default=None, help="forward rounds (quick 5, full 15)")
    ap.add_argument("--train-rounds", type=int, default=None, help="training-step rounds (quick 3, full 9)")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--models", default=",".join(KINDS))
    ap.add_argument("--presets", default="compact,full")
    ap.add_argument("--no-rss", action="store_true")
    ap.add_argument("--pause", type=float, default=0.1,
                    help="seconds of idle before each timed call (the previous contestant's threads stop spinning)")
    a = ap.parse_args()
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    rounds = a.rounds or (15 if a.full else 5)
    train_rounds = a.train_rounds or (9 if a.full else 3)
    threads = [int(t) for t in a.threads.split(",")]
    kinds, presets = a.models.split(","), a.presets.split(",")
    build = os.path.abspath(a.build)
    exe = os.path.join(build, "bench", "bench_peer_forward")
    if not os.path.exists(exe):
        sys.exit(f"run.py: {exe} not found: cmake --build {a.build} --target bench_peer_forward tinct")
    torch.backends.mkldnn.enabled = True
    print(f"torch {torch.__version__} (mkldnn {torch.backends.mkldnn.is_available()}), onnxruntime {ort.__version__},"
          f" {os.cpu_count()} CPUs; {'full' if a.full else 'quick'} mode: {rounds} forward rounds, "
          f"{train_rounds} training rounds, {a.pause:g} s pause before each timed call; tinct from {build}")
    load0 = uptime("before")
    T0 = time.time()
    tinct = Tinct(exe)
    onnx_dir = os.path.join(ROOT, "bench", ".onnx-cpu")
    os.makedirs(onnx_dir, exist_ok=True)

    # --- the networks, parameter counts, ONNX export, contestants -----------
    cases = [(k, p) for k in kinds for p in presets]
    x = synthetic_batch("regression", 1, 512, 313, "cpu")[0]
    xcl = x.contiguous(memory_format=torch.channels_last)
    xnp = x.numpy()
    con = {}  # (kind, preset, threads) -> {name: fn}
    tried = set()
    print("\nparameters (gan: the generator, which colorize runs)")
    for kind, preset in cases:
        _, net = torch_net(kind, preset)
        nt = sum(p.numel() for p in net.parameters())
        nc = int(tinct.ask(f"params {kind} {preset}")[0])
        print(f"  {kind:<15}{preset:<8} tinct {nc:>11,}  torch {nt:>11,}  {'same' if nc == nt else 'DIFFERENT'}")
        if nc != nt:
            sys.exit("run.py: tinct and PyTorch networks differ; the comparison would be meaningless")
        path = os.path.join(onnx_dir, f"{kind}-{preset}.onnx")
        export_onnx(net, path)
        net_cl = copy.deepcopy(net).to(memory_format=torch.channels_last)  # same weights
        frozen = None
        try:
            with torch.no_grad():
                frozen = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(copy.deepcopy(net), x)))
        except Exception as e:  # noqa: BLE001
            print(f"  (torch.jit.freeze for {kind} {preset} failed: {type(e).__name__}: {str(e)[:120]})")
        for t in threads:
            sess = ort_session(path, t)
            fns = {
                "tinct": lambda k=kind, p=preset, t=t: tinct.ask(f"fwd {k} {p} {t} 1"),
                "torch": lambda n=net: n(x),
                "torch_cl": lambda n=net_cl: n(xcl),
                "ort": lambda s=sess: s.run(None, {"L": xnp}),
            }
            if frozen is not None:
                fns["torch_jit"] = lambda f=frozen: f(x)
            con[(kind, preset, t)] = fns
            tried.update(fns)
    # outputs of the PyTorch variants and ORT agree (same network, same weights)
    with torch.inference_mode():
        for (kind, preset, t), fns in con.items():
            if t != threads[0]:
                continue
            ref = fns["torch"]().numpy()
            for name in ("torch_cl", "torch_jit", "ort"):
                if name in fns:
                    out = fns[name]()
                    out = out[0] if isinstance(out, list) else out.numpy()
                    err = float(np.abs(out - ref).max() / (np.abs(ref).max() + 1e-12))
                    if err > 1e-3:
                        sys.exit(f"run.py: {name} differs from torch eager on {kind} {preset}: {err:.2e}")

    # --- forward rounds, interleaved -----------------------------------------
    ms = {}
    with torch.inference_mode():
        for key, fns in con.items():  # warm-up: one call each
            torch.set_num_threads(key[2])
            for f in fns.values():
                f()
        print(f"\nforward 1x1x512x512, eval, {rounds} rounds (load {os.getloadavg()[0]:.2f})", flush=True)
        for r in range(rounds):
            for key, fns in con.items():
                torch.set_num_threads(key[2])
                names = list(fns)
                names = names[r % len(names):] + names[:r % len(names)]
                for n in names:
                    time.sleep(a.pause)
                    if n == "tinct":
                        v = float(fns[n]()[0])
                    else:
                        v = timed(fns[n])
                    ms.setdefault(key + (n,), []).append(v)
            print(f"  round {r + 1}/{rounds} done, load {os.getloadavg()[0]:.2f}", flush=True)
    med = {k: statistics.median(v) for k, v in ms.items()}

    # --- training step, interleaved ------------------------------------------
    # PyTorch twice: its default NCHW tensors, and channels_last (modules and
    # batch converted; oneDNN's blocked kernels, measured up to 1.35x faster
    # for training on the CPU); the table takes the faster, as for the forward.
    print(f"\ntraining step: compact, batch 8 of 128x128, Adam, {train_rounds} rounds", flush=True)
    tr = {}
    trainers = {}
    for kind in kinds:
        for name in ("torch", "torch_cl"):
            c = models.Colorizer(kind, "compact", 313)
            batch = synthetic_batch(kind, 8, 128, 313, "cpu")
            if name == "torch_cl":
                for m in c.modules.values():
                    m.to(memory_format=torch.channels_last)
                batch = tuple(b.contiguous(memory_format=torch.channels_last) if b is not None and b.dim() == 4
                              else b for b in batch)
            trainers[(kind, name)] = (c, batch)
    for r in range(train_rounds + 1):  # round 0: warm-up
        for kind in kinds:
            for t in threads:
                torch.set_num_threads(t)
                names = ["tinct", "torch", "torch_cl"]
                for name in names[r % 3:] + names[:r % 3]:  # rotated: each goes first in turn
                    time.sleep(a.pause)
                    if name == "tinct":
                        v = float(tinct.ask(f"train {kind} compact {t} 8 128 1")[0])
                    else:
                        c, batch = trainers[(kind, name)]
                        v = timed(lambda: c.step(*batch))
                    if r > 0:
                        tr.setdefault((kind, t, name), []).append(v)
        if r > 0:
            print(f"  round {r}/{train_rounds} done, load {os.getloadavg()[0]:.2f}", flush=True)
    trm = {k: statistics.median(v) for k, v in tr.items()}
    tinct.close()

    # --- peak RSS -------------------------------------------------------------
    rss = {}
    if not a.no_rss:
        print("\npeak RSS of tinct colorize on a 4000x3000 PNG (/usr/bin/time -v)", flush=True)
        for kind in kinds:
            rss[kind] = peak_rss(build, kind)
            print(f"  {kind:<15} {rss[kind][0] or float('nan'):8.1f} MiB  wall {rss[kind][1]}", flush=True)

    load1 = uptime("after")
    # --- table ----------------------------------------------------------------
    print(f"\nforward 512x512, median of {rounds} interleaved rounds, ms (torch = fastest of "
          f"{', '.join(sorted(n for n in tried if n.startswith('torch')))}; which in brackets)")
    print(f"{'model':<15}{'preset':<8}{'thr':>3}{'tinct':>9}{'torch':>9}{'':<10}{'ORT':>9}"
          f"{'torch/tinct':>12}{'ORT/tinct':>10}{'tinct 2t/1t':>12}")
    for kind, preset in cases:
        for t in threads:
            k = (kind, preset, t)
            ti = med[k + ("tinct",)]
            best = min((n for n in con[k] if n.startswith("torch")), key=lambda n: med[k + (n,)])
            to, on = med[k + (best,)], med[k + ("ort",)]
            sp = ""
            if t != threads[0]:
                sp = f"{med[(kind, preset, threads[0], 'tinct')] / ti:.2f}x"
            print(f"{kind:<15}{preset:<8}{t:>3}{ti:>9.1f}{to:>9.1f} {'[' + best + ']':<9}{on:>9.1f}"
                  f"{to / ti:>11.2f}x{on / ti:>9.2f}x{sp:>12}")
    print("\nall variants, ms: " + "; ".join(
        f"{k[0][:5]}/{k[1][:4]}/{k[2]}t " + " ".join(f"{n}={med[k + (n,)]:.1f}" for n in con[k]) for k in con))
    print(f"\ntraining step (compact, batch 8 of 128x128, Adam), median of {train_rounds} interleaved, ms "
          "(torch = faster of torch, torch_cl; which in brackets)")
    print(f"{'model':<15}{'thr':>3}{'tinct':>9}{'torch':>9}{'':<11}{'torch/tinct':>12}{'tinct 2t/1t':>12}"
          f"{'NCHW torch/tinct':>18}")
    for kind in kinds:
        for t in threads:
            ti = trm[(kind, t, "tinct")]
            best = min(("torch", "torch_cl"), key=lambda n: trm[(kind, t, n)])
            to = trm[(kind, t, best)]
            sp = f"{trm[(kind, threads[0], 'tinct')] / ti:.2f}x" if t != threads[0] else ""
            print(f"{kind:<15}{t:>3}{ti:>9.1f}{to:>9.1f} {'[' + best + ']':<10}{to / ti:>11.2f}x{sp:>12}"
                  f"{trm[(kind, t, 'torch')] / ti:>17.2f}x")
    if rss:
        print("\ntinct colorize 4000x3000 peak RSS, MiB: " +
              ", ".join(f"{k} {v[0]:.0f}" if v[0] else f"{k} failed" for k, v in rss.items()))
    print(f"\nload before: {load0}\nload after:  {load1}\ntotal {time.time() - T0:.0f} s")


if __name__ == "__main__":
    main()
