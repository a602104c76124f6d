"""profile_torch.py — PyTorch's per-layer CPU time for the 512x512 eval
forward of one colorizer (channels_last, as run.py's `torch_cl`), to set
beside tinct's per-layer table (TINCT_PROFILE=layers, bench_peer_forward).

usage: bench/.venv-cpu/bin/python bench/cpu_peer/profile_torch.py KIND PRESET THREADS [REPS]
Prints one row per op instance in call order: op, input shape, mean ms.
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bench", "torch_ref"))
import models  # noqa: E402
from torch_ref import synthetic_batch  # noqa: E402


def main():
    kind, preset, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    reps = int(sys.argv[4]) if len(sys.argv) > 4 else 10
    torch.set_num_threads(threads)
    c = models.Colorizer(kind, preset, 313)
    net = c.modules["gen." if kind == "gan" else ""]
    net.train(False)
    net = net.to(memory_format=torch.channels_last)
    x = synthetic_batch("regression", 1, 512, 313, "cpu")[0].contiguous(memory_format=torch.channels_last)
    # One timer per leaf module, in call order (hooks: the forward of each leaf).
    import time
    rows, order = {}, []

    def pre(mod, inp, name=None):
        mod._t0 = time.perf_counter()

    def post(mod, inp, out):
        dt = (time.perf_counter() - mod._t0) * 1e3
        key = mod._prof_name
        if key not in rows:
            rows[key] = [0.0, 0, tuple(inp[0].shape), type(mod).__name__, str(mod)[:70]]
            order.append(key)
        rows[key][0] += dt
        rows[key][1] += 1

    for name, m in net.named_modules():
        if len(list(m.children())) == 0:
            m._prof_name = name
            m.register_forward_pre_hook(pre)
            m.register_forward_hook(post)
    with torch.no_grad():
        for _ in range(3):
            net(x)
        rows.clear(), order.clear()
        t0 = time.perf_counter()
        for _ in range(reps):
            net(x)
        tot = (time.perf_counter() - t0) * 1e3 / reps
    s = 0.0
    for k in order:
        ms, n, shp, typ, desc = rows[k]
        s += ms / reps
        print(f"{k:<28} {str(list(shp)):<22} {ms / reps:8.3f}  {desc}")
    print(f"sum of leaves {s:.2f} ms; forward {tot:.2f} ms ({kind} {preset}, {threads} threads)")


if __name__ == "__main__":
    main()
