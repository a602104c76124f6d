#!/usr/bin/env python3
"""PyTorch reference of tinct's three colorizers: parity of one training step,
and FP32 timings beside tinct's.

  torch_ref.py --check FILE.safetensors [--device cpu|cuda] [--dtype both|float64|float32]
      FILE from bench_model_dump. Loads before.*, redoes the step on batch.*
      in PyTorch (float64: exact; float32: what PyTorch users run; both by
      default) and compares losses, gradients (tinct's from Adam's exp_avg /
      (1 - beta1)), BN running statistics, tinct's Adam update and the
      updated weights. Exit 0 when every group passes, 1 otherwise.

  torch_ref.py --time [--model all] [--preset full] [--batch 64] [--size 128]
                      [--device cuda] [--steps 20] [--warmup 5]
                      [--precision fp32|tf32|bf16] [--channels-last] [--compile]
      Training step (median of 3 blocks of --steps after --warmup) and one
      512x512 inference per model; RESULT lines last.
      --precision tf32: TF32 allowed in matmul and cuDNN; bf16: that plus
      torch.autocast(bfloat16) around the step and the forwards (fp32 master
      weights, as tinct's bf16). --channels-last: NHWC modules and batch,
      fused Adam on CUDA. --compile: torch.compile on each network (compile
      time not counted). Together: the strongest settings of
      ../shared/anchors/README.md (issue 12's yardstick).

TF32 is off for matmul and cuDNN unless --time --precision tf32|bf16.
"""
import contextlib
import argparse
import itertools
import os
import statistics
import sys
import time
import types
import warnings

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402
import st  # noqa: E402

# Kinks. FP32 rounding (tinct's, or PyTorch's in float32) can put an
# activation input that is within ~1e-6 (relative) of 0 on the other side of
# a ReLU; the gradient through that element changes, and the BNs' coupling
# spreads the change over every gradient upstream (seen: up to 10% of a
# tensor's max at single elements, ~1% everywhere upstream; the full presets
# at batch 2-4 have one to three). When the gradients disagree, match_kinks
# flips, in PyTorch's run, the gradient masks of the activation inputs near
# a kink whose flip explains tinct's gradients, and compares against that.
KINK_TAU = 1e-5     # near a kink: |input| below this fraction of that call's max (flips seen: <= 5e-6)
SIGNIFICANT = 1e-5  # a bias-gradient difference worth explaining, of that gradient's max
MAX_KINKS = 8       # the nearest kinks tried one run each, if the signature test falls short
# Tolerances, once the flips are matched.
TOL_LOSS = {torch.float64: 1e-5, torch.float32: 1e-4}  # relative
TOL_GRAD = 1e-3     # |diff| of the tensor's max |grad|
TOL_RUNNING = 1e-4  # BN running statistics: of the tensor's max |value|
TOL_ZERO = 1e-4     # a conv bias feeding a training-mode BN has gradient 0 in exact arithmetic:
                    # both sides must be below this fraction of that conv weight's max |grad|
TOL_ADAM = 1e-4     # tinct's update against Adam on its own m, v: in units of lr (+ 2 ulp of w)
# Updated weights against PyTorch's: Adam's first step moves each weight by
# lr * g / (|g| + eps), about lr * sign(g), so where the gradient is within
# rounding noise of 0 the sides may move opposite ways: held to 2 lr there,
# and to TOL_WEIGHT * lr where |g| >= WEIGHT_MIN_G of the tensor's max.
TOL_WEIGHT = 1e-3
WEIGHT_MIN_G = 1e-2
ULP = 2.0 ** -23


def no_tf32():
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


class Group:
    """The worst error of one group of comparisons, as a fraction of what is allowed."""

    def __init__(self, name, what, info=False):
        self.name, self.what, self.info = name, what, info  # info: shown, never fails
        self.worst, self.where, self.err, self.count, self.note = -1.0, "-", 0.0, 0, ""

    def _keep(self, ratio, where, err):
        self.count += 1
        if ratio != ratio:  # NaN
            ratio = float("inf")
        if ratio > self.worst:
            self.worst, self.where, self.err = ratio, where, err

    def add(self, tname, got, ref, allowed):
        """Elementwise: |got - ref| <= allowed (a number or a tensor)."""
        err = (got.double() - ref.double()).abs().flatten()
        ratio = err / (allowed.double().flatten() if torch.is_tensor(allowed) else allowed)
        if ratio.numel():
            i = int(torch.nan_to_num(ratio, nan=float("inf")).argmax())
            self._keep(float(ratio[i]), f"{tname}[{i}]", float(err[i]))

    def add_l2(self, tname, got, ref, tol):
        """Per tensor: ||got - ref|| <= tol * ||ref||."""
        d, r = float((got.double() - ref.double()).norm()), float(ref.double().norm())
        self._keep(d / (tol * max(r, 1e-30)), tname, d / max(r, 1e-30))

    def ok(self):
        return self.info or self.worst <= 1.0

    def line(self):
        status = "info" if self.info else "PASS" if self.ok() else "FAIL"
        if self.count == 0:
            return f"  {self.name:<9} {status}  (nothing to compare)"
        of = "" if self.info else "of tol "
        return (f"  {self.name:<9} {status}  worst {self.worst:.2e} {of}(error {self.err:.2e}) at "
                f"{self.where}  [{self.count} tensors; {self.what}]{self.note}")


def sub(tensors, prefix):
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def load_strict(module, sd, label):
    """tinct names must match PyTorch's exactly (tinct has no num_batches_tracked)."""
    want = {k for k in module.state_dict() if not k.endswith("num_batches_tracked")}
    missing, extra = sorted(want - set(sd)), sorted(set(sd) - want)
    if missing or extra:
        raise SystemExit(f"{label}: names differ; missing in the file {missing[:8]}, unexpected {extra[:8]}")
    full = dict(sd)
    for k in module.state_dict():
        if k.endswith("num_batches_tracked"):
            full[k] = torch.tensor(0)
    module.load_state_dict(full, strict=True)


def zero_grad_biases(module):
    """{bias name: weight name} of convs whose output goes straight into a BN
    (training mode: the BN removes the bias, so its gradient is 0)."""
    out = {}
    for mname, m in module.named_modules():
        if isinstance(m, nn.Sequential):
            kids = list(m.named_children())
            for (a, ma), (_, mb) in zip(kids, kids[1:]):
                if isinstance(ma, (nn.Conv2d, nn.ConvTranspose2d)) and ma.bias is not None \
                        and isinstance(mb, nn.BatchNorm2d):
                    p = f"{mname}.{a}." if mname else f"{a}."
                    out[p + "bias"] = p + "weight"
    return out


def hyper(meta):
    return tuple(float(meta[k]) for k in ("lr", "beta1", "beta2", "eps"))


def redo_step(T, meta, device, dtype, flips=()):
    """The step of the dump, in PyTorch at `dtype`, with the ReLU gradient
    masks flipped at `flips` ((call, flat index) pairs)."""
    kind = meta["model"]
    lr, beta1, beta2, eps = hyper(meta)
    hp = dict(lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=float(meta["weight_decay"]))
    bins = T["before.model.conv8.6.weight"].shape[0] if kind == "classification" else 313
    ref = models.Colorizer(kind, meta["preset"], bins, hp, device, dtype)
    if int(meta.get("parameters", ref.num_parameters())) != ref.num_parameters():
        raise SystemExit(f"parameter count: tinct {meta['parameters']}, PyTorch {ref.num_parameters()}")
    for prefix, m in ref.modules.items():
        load_strict(m, sub(T, "before.model." + prefix), "before.model." + prefix)
    dev = lambda k: T[k].to(device, dtype)  # noqa: E731
    batch = [dev("batch.L"), dev("batch.ab")]
    if kind == "classification":
        batch += [dev("batch.extra_f.target"), dev("batch.extra_f.weight")]

    r = types.SimpleNamespace(ref=ref, grads={}, weights={})  # PyTorch's redo of the step
    params = lambda m: {n: p.detach().double().cpu().clone() for n, p in m.named_parameters()}  # noqa: E731

    def on_grads(prefix):
        r.grads[prefix] = {n: p.grad.detach().double().cpu().clone()
                           for n, p in ref.modules[prefix].named_parameters()}

    def between():
        # Teacher forcing: PyTorch's D update is compared below; the G step then
        # runs through tinct's updated D, so G is compared from the same start.
        disc = ref.modules["disc."]
        r.weights["disc."] = params(disc)
        with torch.no_grad():
            for n, p in disc.named_parameters():
                p.copy_(T["after.model.disc." + n].to(dtype))

    models.KINKS = models.KinkLog(KINK_TAU, flips)
    try:
        r.losses = ref.step(*batch, on_grads=on_grads, between=between if kind == "gan" else None)
        r.near = sorted(models.KINKS.near, key=lambda k: k.rel)
    finally:
        models.KINKS = None
    for prefix, m in ref.modules.items():
        r.weights.setdefault(prefix, params(m))
    r.zeros = {p: zero_grad_biases(m) for p, m in ref.modules.items()}
    return r


def tinct_grads(T, meta, run):
    """{prefix: {name: grad}} from exp_avg / (1 - beta1), in PyTorch's order."""
    beta1 = hyper(meta)[1]
    out = {}
    for prefix, m in run.ref.modules.items():
        out[prefix] = {}
        for i, (n, _) in enumerate(m.named_parameters()):
            k = f"after.optim.{prefix}state.{i}.exp_avg"
            if k not in T or T[k].shape != T["before.model." + prefix + n].shape:
                raise SystemExit(f"{k} missing or not shaped like {prefix}{n}: parameter order differs")
            out[prefix][n] = T[k].double() / (1.0 - beta1)  # after one step, m = (1 - beta1) g
    return out


def distance(tg, run):
    """Sum over tensors of ||tinct - PyTorch||^2 / ||PyTorch||^2 (biases before BN left out)."""
    d = 0.0
    for prefix, gs in run.grads.items():
        for n, g in gs.items():
            if n not in run.zeros[prefix]:
                d += float((tg[prefix][n] - g).norm() ** 2 / max(float(g.norm()) ** 2, 1e-60))
    return d


def grads_ok(tg, run):
    return all(float((tg[p][n] - g).abs().max()) <= TOL_GRAD * max(float(g.abs().max()), 1e-30)
               for p, gs in run.grads.items() for n, g in gs.items() if n not in run.zeros[p])


def signature_flips(run, tg, taken):
    """Kinks whose flip shows where it must: flipping one changes the gradient
    of the bias (conv or BN) just before the activation by gain * dy in its
    channel. A flip also moves every gradient upstream of it, so only the
    most downstream activation call that shows matches is taken (per
    gradient set): one or two of its kinks explaining, within 10%, a bias
    channel's significant tinct - PyTorch difference."""
    names = {id(p): (pre, n) for pre, m in run.ref.modules.items() for n, p in m.named_parameters()}
    groups = {}
    for k in run.near:
        pre, n = names.get(id(k.bias), (None, None))
        if k.dy is not None and pre == k.phase and (k.call, k.index) not in taken:  # not the G step's D
            groups.setdefault((pre, k.call, n, k.channel), []).append(k)
    chosen, at = [], {}  # at: per gradient set, the call whose flips are taken
    for (pre, call, n, c), ks in sorted(groups.items(), key=lambda kv: -kv[0][1]):
        if at.get(pre, call) != call:
            continue
        g = run.grads[pre][n]
        r = float(tg[pre][n][c] - g[c])
        if abs(r) <= SIGNIFICANT * float(g.abs().max()):
            continue
        ks = sorted(ks, key=lambda k: -abs(k.gain * k.dy))[:8]
        best = min((s for size in (1, 2) for s in itertools.combinations(ks, size)),
                   key=lambda s: abs(r - sum(k.gain * k.dy for k in s)))
        if abs(r - sum(k.gain * k.dy for k in best)) < 0.1 * abs(r):
            chosen += best
            at[pre] = call
    return chosen


def match_kinks(T, meta, device, dtype):
    """PyTorch's run, with the ReLU masks flipped where that explains tinct's
    gradients. Until the gradients agree: the flips whose signature tinct's
    bias gradients show, a run each round (a flip also moves the gradients
    upstream of it, so upstream ones show once the downstream ones are in);
    then, one run each, the MAX_KINKS nearest kinks, each kept when it halves
    the distance to tinct's gradients."""
    base = redo_step(T, meta, device, dtype)
    tg = tinct_grads(T, meta, base)
    run, chosen = base, []
    d0 = d = distance(tg, base)
    for _ in range(10):
        if grads_ok(tg, run):
            break
        new = signature_flips(run, tg, {(k.call, k.index) for k in chosen})
        if not new:
            break
        chosen += new
        run = redo_step(T, meta, device, dtype, [(k.call, k.index) for k in chosen])
        d = distance(tg, run)
    if not grads_ok(tg, run):
        for k in base.near[:MAX_KINKS]:
            if any((k.call, k.index) == (c.call, c.index) for c in chosen):
                continue
            trial = redo_step(T, meta, device, dtype, [(c.call, c.index) for c in chosen + [k]])
            if distance(tg, trial) < 0.5 * d:
                run, d = trial, distance(tg, trial)
                chosen.append(k)
    run.near_count, run.flipped, run.d0, run.d = len(base.near), chosen, d0, d
    run.base_grads, run.tg = base.grads, tg
    return run


def compare(T, meta, run, tg, dtype):
    """The groups of comparisons between the dump and PyTorch's run."""
    lr, beta1, beta2, eps = hyper(meta)
    g_loss = Group("loss", f"relative, tol {TOL_LOSS[dtype]:g}")
    for name in meta["loss_names"].split(","):
        t, r = T["loss." + name], run.losses[name].double().cpu().reshape(1)
        g_loss.add(name, t, r, TOL_LOSS[dtype] * max(float(r.abs()), 1e-30))
        g_loss.note += f"\n            {name}: tinct {float(t):.7g}  torch {float(r):.7g}"
    g_grad = Group("grad", f"|diff| / max|grad| of the tensor, tol {TOL_GRAD:g}")
    g_l2 = Group("grad-l2", "||diff|| / ||grad|| per tensor", info=True)
    g_zero = Group("zero-grad", f"bias before BN: |grad| / max|weight grad|, tol {TOL_ZERO:g}")
    g_run = Group("running", f"BN running stats, |diff| / max|value|, tol {TOL_RUNNING:g}")
    g_adam = Group("adam", f"tinct's update vs Adam on its own m, v; tol {TOL_ADAM:g} lr + 2 ulp")
    g_w = Group("weights", f"vs PyTorch's: tol {TOL_WEIGHT:g} lr + 4 ulp where |grad| >= "
                           f"{WEIGHT_MIN_G:g} max, else 2 lr")
    total = flips = 0
    for prefix, m in run.ref.modules.items():
        zeros = run.zeros[prefix]
        for i, (n, _) in enumerate(m.named_parameters()):
            k, name = f"after.optim.{prefix}state.{i}.", prefix + n
            mo, v, step = T[k + "exp_avg"].double(), T[k + "exp_avg_sq"].double(), float(T[k + "step"])
            gt, gr = tg[prefix][n], run.grads[prefix][n]
            gmax = max(float(gr.abs().max()), 1e-30)
            if n in zeros:
                wscale = float(run.grads[prefix][zeros[n]].abs().max())
                g_zero.add(name, torch.maximum(gt.abs(), gr.abs()), torch.zeros_like(gt), TOL_ZERO * wscale)
            else:
                g_grad.add(name, gt, gr, TOL_GRAD * gmax)
                g_l2.add_l2(name, gt, gr, 1.0)
            # tinct's own Adam step, recomputed in double from (before, m, v)
            w0, w1 = T["before.model." + name].double(), T["after.model." + name].double()
            expect = w0 - lr * (mo / (1 - beta1 ** step)) / ((v / (1 - beta2 ** step)).sqrt() + eps)
            g_adam.add(name, w1, expect, TOL_ADAM * lr + 2 * ULP * w0.abs())
            g_adam.add(name + ".exp_avg_sq", v, (1 - beta2) * gt * gt, 1e-5 * v.abs() + 1e-30)
            # against PyTorch's updated weights
            wr = run.weights[prefix][n]
            sure = gr.abs() >= WEIGHT_MIN_G * gmax if n not in zeros else torch.zeros_like(gr, dtype=torch.bool)
            allowed = torch.where(sure, torch.full_like(w0, TOL_WEIGHT * lr),
                                  torch.full_like(w0, 2 * lr * (1 + 1e-3))) + 4 * ULP * w0.abs()
            g_w.add(name, w1, wr, allowed)
            total += w0.numel()
            flips += int(((w1 - w0).sign() * (wr - w0).sign() < 0).sum())
        for n, b in m.named_buffers():
            if not n.endswith("num_batches_tracked"):
                r = b.detach().double().cpu()
                g_run.add(prefix + n, T["after.model." + prefix + n], r,
                          TOL_RUNNING * max(float(r.abs().max()), 1e-6))
    g_w.note = f"; {flips} of {total} moved opposite ways"
    return [g_loss, g_grad, g_l2, g_zero, g_run, g_adam, g_w]


def check(path, device, dtypes):
    T, meta = st.load(path)
    kind = meta["model"]
    print(f"{path}: {kind} {meta['preset']}, {meta.get('parameters', '?')} parameters, batch {meta['batch']} x "
          f"{meta['size']}^2, seed {meta['seed']}, lr {float(meta['lr']):g}, betas ({float(meta['beta1']):g}, "
          f"{float(meta['beta2']):g}), eps {float(meta['eps']):g}; tinct on {meta.get('device', 'cpu')}, "
          f"torch {torch.__version__} on {device}")
    if kind == "classification":
        t, w = T["batch.extra_f.target"], T["batch.extra_f.weight"]
        print(f"{t.shape[1]} bins; soft targets sum to [{float(t.sum(1).min()):.6f}, {float(t.sum(1).max()):.6f}] "
              f"per pixel; pixel weights in [{float(w.min()):.4f}, {float(w.max()):.4f}]")
    ok, runs = True, []
    for dtype in dtypes:
        t0 = time.perf_counter()
        run = match_kinks(T, meta, device, dtype)
        runs.append(run)
        flipped = ", ".join(f"call {k.call} [{k.index}] at {k.rel:.1e}" for k in run.flipped) or "none"
        print(f"PyTorch in {str(dtype)[6:]} ({time.perf_counter() - t0:.0f} s): {run.near_count} activation "
              f"inputs within {KINK_TAU:g} of the kink (relative), flipped to match tinct: {flipped}"
              + (f"; distance {run.d0:.2e} -> {run.d:.2e}" if run.flipped else ""))
        for group in compare(T, meta, run, run.tg, dtype):
            print(group.line())
            ok &= group.ok()
    if len(runs) == 2:  # the noise floor: PyTorch's own float32 against float64 (unflipped)
        peak = Group("torch-fp32", "PyTorch float32 vs float64 grads: |diff| / max|grad|", info=True)
        a, b = runs
        for prefix, gs in a.base_grads.items():
            for n, g64 in gs.items():
                if n not in a.zeros[prefix]:
                    peak.add(prefix + n, b.base_grads[prefix][n], g64, max(float(g64.abs().max()), 1e-30))
        print("PyTorch's own rounding, for scale (no flips):")
        print(peak.line())
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


# ---------------------------------------------------------------------------
# Timing

def synthetic_batch(kind, n, size, bins, device):
    g = torch.Generator().manual_seed(1)
    L = torch.rand(n, 1, size, size, generator=g) * 2 - 1
    ab = (torch.rand(n, 2, size, size, generator=g) - 0.5) * 1.2
    target = weight = None
    if kind == "classification":
        s = size // models.DOWN
        target = F.softmax(3 * torch.randn(n, bins, s, s, generator=g), 1)
        weight = torch.rand(n, 1, s, s, generator=g) + 0.5
    to = lambda t: None if t is None else t.to(device)  # noqa: E731
    return to(L), to(ab), to(target), to(weight)


def timed_ms(fn, steps, warmup, device, blocks=3):
    """Median over blocks of the mean ms per call."""
    for _ in range(warmup):
        fn()
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.synchronize()
    times = []
    for _ in range(blocks):
        if cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(steps):
                fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) / steps)
        else:
            t0 = time.perf_counter()
            for _ in range(steps):
                fn()
            times.append((time.perf_counter() - t0) * 1e3 / steps)
    return statistics.median(times)


def time_models(kinds, preset, batch, size, device, steps, warmup, precision="fp32", channels_last=False,
                compile_nets=False):
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = precision != "fp32"
    dev_type = "cuda" if device.startswith("cuda") else "cpu"

    def amp():
        if precision == "bf16":
            return torch.autocast(dev_type, dtype=torch.bfloat16)
        return contextlib.nullcontext()
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    to_fmt = lambda t: None if t is None or t.dim() != 4 else t.contiguous(memory_format=fmt)  # noqa: E731
    setting = f"{precision}{', channels_last, fused Adam' if channels_last else ''}{', compiled' if compile_nets else ''}"
    if device.startswith("cuda"):
        where = (f"{torch.cuda.get_device_name()}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}"
                 f", cudnn.benchmark, TF32 matmul {torch.backends.cuda.matmul.allow_tf32}"
                 f" conv {torch.backends.cudnn.allow_tf32}")
    else:
        where = f"CPU, {torch.get_num_threads()} threads"
    print(f"torch {torch.__version__}, {where}; {setting}, Adam, preset {preset}, train batch {batch} x {size}^2, "
          f"median of 3 blocks of {steps} after {warmup} warm-up")
    rows = []
    for kind in kinds:
        ref = models.Colorizer(kind, preset, 313, None, device)
        for p, m in ref.modules.items():
            m.to(memory_format=fmt)
            if channels_last and dev_type == "cuda":
                ref.optims[p] = torch.optim.Adam(m.parameters(), **ref.adam, fused=True)
        if compile_nets:
            ref.modules = {p: torch.compile(m) for p, m in ref.modules.items()}
        L, ab, target, weight = synthetic_batch(kind, batch, size, 313, device)
        L, ab, target, weight = to_fmt(L), to_fmt(ab), to_fmt(target), to_fmt(weight)

        def train_step():
            with amp():
                ref.step(L, ab, target, weight)
        train = timed_ms(train_step, steps, warmup, device)
        L512 = to_fmt(synthetic_batch(kind, 1, 512, 313, device)[0])
        # classification: the colorize path's annealed mean over 313 stand-in
        # centres (values do not change the work) and the bilinear upsampling
        centres = (torch.rand(313, 2, generator=torch.Generator().manual_seed(2)) * 220 - 110).to(device)
        def predict_step():
            with amp():
                ref.predict_ab(L512, centres)
        predict = timed_ms(predict_step, steps, warmup, device)
        # the network's forward alone, as tinct's bench_train_step and the anchors time it
        net = ref.modules["gen." if kind == "gan" else ""]
        net.train(False)
        with torch.no_grad(), amp():
            infer = timed_ms(lambda: net(L512), steps, warmup, device)
        rows.append((kind, ref.num_parameters(), train, batch * 1e3 / train, infer, predict))
    print(f"\n{'model':<16}{'params':>12}{'train ms/step':>15}{'images/s':>11}{'fwd 512^2 ms':>14}"
          f"{'predict 512^2 ms':>18}")
    for kind, n, train, ips, infer, predict in rows:
        print(f"{kind:<16}{n:>12,}{train:>15.2f}{ips:>11.1f}{infer:>14.2f}{predict:>18.2f}")
    print("(gan: one D + one G step, parameters of both; predict = the colorize path: for classification "
          "the forward, the annealed-mean decode and the upsampling)")
    for kind, n, train, ips, infer, predict in rows:
        print(f"RESULT torch train {kind} {ips:.1f} {train:.3f}")
    for kind, n, train, ips, infer, predict in rows:
        print(f"RESULT torch infer512 {kind} {infer:.3f}")
        print(f"RESULT torch predict512 {kind} {predict:.3f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", metavar="FILE")
    ap.add_argument("--time", action="store_true")
    ap.add_argument("--model", default="all", choices=["regression", "classification", "gan", "all"])
    ap.add_argument("--preset", default="full", choices=["full", "compact"])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--dtype", default="both", choices=["float64", "float32", "both"],
                    help="--check: PyTorch's precision (float64: exact, the strict check)")
    ap.add_argument("--device", default=None, help="cpu | cuda (default: cuda when available)")
    ap.add_argument("--steps", type=int, default=20, help="steps per timed block")
    ap.add_argument("--warmup", type=int, default=None, help="warm-up steps (default 5 on cuda, 1 on cpu)")
    ap.add_argument("--precision", default="fp32", choices=["fp32", "tf32", "bf16"], help="--time: see above")
    ap.add_argument("--channels-last", action="store_true", help="--time: NHWC and fused Adam")
    ap.add_argument("--compile", action="store_true", help="--time: torch.compile each network")
    a = ap.parse_args()
    if not a.check and not a.time:
        ap.error("give --check FILE or --time")
    device = a.device or ("cuda" if torch.cuda.is_available() else "cpu")
    no_tf32()
    models.check_full_param_counts()
    if a.check:
        dtypes = [torch.float64, torch.float32] if a.dtype == "both" else [getattr(torch, a.dtype)]
        return check(a.check, device, dtypes)
    kinds = ["regression", "classification", "gan"] if a.model == "all" else [a.model]
    warmup = a.warmup if a.warmup is not None else (5 if device.startswith("cuda") else 1)
    time_models(kinds, a.preset, a.batch, a.size, device, a.steps, warmup, a.precision, a.channels_last, a.compile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
