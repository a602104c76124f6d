"""The three tinct colorizers in PyTorch, with tinct's state_dict names.

Mirrors models/resnet.cpp, regression.cpp, classification.cpp, gan.cpp and
the training steps of models/colorizer_*.cpp. Parameters are registered in
tinct's order, so optimizer state index i is the i-th named parameter on both
sides. BatchNorm2d: eps 1e-5, momentum 0.1, unbiased running variance
(PyTorch's defaults, as tinct's); tinct keeps no num_batches_tracked.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

# Parameter counts of the `full` presets (docs/anchors.md).
FULL_PARAMS = {"regression": 1_043_666, "classification": 18_076_537,  # at 313 bins
               "generator": 15_646_818, "discriminator": 2_766_529}

# Adam as colorizer_<kind>.cpp sets it (eps 1e-8, no weight decay).
ADAM = {"regression": dict(lr=1e-3, betas=(0.9, 0.999)),
        "classification": dict(lr=3e-4, betas=(0.9, 0.999)),
        "gan": dict(lr=2e-4, betas=(0.5, 0.999))}
L1_LAMBDA = 100.0
# The GAN's D step runs D on the real batch first, then on the fake one, as
# tinct's d_loss (colorizer_gan.cpp) does: the BN running statistics see the
# order.
DOWN = 4  # classification logits are at 1/4 of the input


# Every ReLU / LeakyReLU goes through act(). Normally that is F.relu; the
# parity check sets KINKS to a KinkLog, which sees each activation's input
# in call order, keeps the elements within tau (relative) of the kink at 0
# (FP32 rounding may put one on the other side in tinct, which changes its
# gradient), records the gradient that reaches them, and can flip the
# gradient mask of chosen ones.
KINKS = None


class Kink:
    """One activation input near 0: where, and what a flip would change."""

    def __init__(self, rel, call, index, phase, slope, x, bias):
        self.rel, self.call, self.index, self.phase = rel, call, index, phase
        # flipping moves the gradient at the input by `gain` * (gradient at the output)
        self.gain = (slope - 1.0) if float(x.detach().reshape(-1)[index]) > 0 else (1.0 - slope)
        self.channel = (index // (x.shape[2] * x.shape[3])) % x.shape[1] if x.dim() == 4 else 0
        self.bias, self.dy = bias, None  # the bias whose gradient takes that change


def bias_of(x):
    """The bias (conv or BN) that x is the output of, directly or through a residual add."""
    fn = x.grad_fn
    while fn is not None and type(fn).__name__.startswith("Add"):
        fn = fn.next_functions[0][0]
    if fn is None or not any(k in type(fn).__name__ for k in ("Convolution", "BatchNorm")):
        return None
    nf = fn.next_functions
    return getattr(nf[2][0], "variable", None) if len(nf) > 2 and nf[2][0] is not None else None


class KinkLog:
    def __init__(self, tau, flips=()):
        self.tau, self.calls, self.near, self.flips, self.phase = tau, 0, [], {}, ""
        for call, index in flips:
            self.flips.setdefault(call, []).append(index)

    def see(self, x, slope):
        call, self.calls = self.calls, self.calls + 1
        a = x.detach().abs().flatten()
        scale = float(a.max())
        near = (a < self.tau * scale).nonzero().flatten().tolist()
        bias = bias_of(x) if near else None
        found = [Kink(float(a[i]) / scale, call, i, self.phase, slope, x, bias) for i in near]
        self.near += found
        return self.flips.get(call), found


def phase(prefix):
    """Check mode: whose gradients the activations that follow feed ("", "gen.", "disc.")."""
    if KINKS is not None:
        KINKS.phase = prefix


class _Act(torch.autograd.Function):
    """y = x (x > 0), slope * x (else); the backward's mask flipped at `flip`,
    and the gradient reaching the `watch` kinks recorded."""

    @staticmethod
    def forward(ctx, x, slope, flip, watch):
        mask = x > 0
        if flip:
            idx = torch.tensor(flip, device=x.device)
            mask.view(-1)[idx] = ~mask.view(-1)[idx]
        ctx.save_for_backward(mask)
        ctx.slope, ctx.watch = slope, watch
        return torch.where(x > 0, x, x * slope)

    @staticmethod
    def backward(ctx, gy):
        (mask,) = ctx.saved_tensors
        for k in ctx.watch:
            k.dy = float(gy.reshape(-1)[k.index])
        return torch.where(mask, gy, gy * ctx.slope), None, None, None


def act(x, slope=0.0, inplace=False):
    if KINKS is None:
        return F.leaky_relu(x, slope, inplace) if slope else F.relu(x, inplace)
    return _Act.apply(x, slope, *KINKS.see(x, slope))


class Act(nn.Module):
    """nn.ReLU (slope 0) / nn.LeakyReLU through act()."""

    def __init__(self, slope=0.0):
        super().__init__()
        self.slope = slope

    def forward(self, x):
        return act(x, self.slope, inplace=True)


def conv_bn_relu(cin, cout, k, stride, pad, transposed=False):
    """resnet.cpp conv_bn_relu: children 0 = conv (bias), 1 = BN, 2 = ReLU."""
    conv = (nn.ConvTranspose2d(cin, cout, k, stride, pad) if transposed
            else nn.Conv2d(cin, cout, k, stride, pad))
    return nn.Sequential(conv, nn.BatchNorm2d(cout), Act())


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        h = act(self.bn1(self.conv1(x)), inplace=True)
        h = self.bn2(self.conv2(h))
        return act(h + (self.downsample(x) if self.downsample is not None else x), inplace=True)


class ResNetEncoder(nn.Module):
    """1-channel ResNet-18: conv1 7x7/2, bn1, relu, maxpool 3/2, layer1..layer<stages>."""

    def __init__(self, base, stages):
        super().__init__()
        self.base = base
        self.conv1 = nn.Conv2d(1, base, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(base)
        cin = base
        self.layers = []
        for s in range(1, stages + 1):
            cout = self.channels(s)
            layer = nn.Sequential(BasicBlock(cin, cout, 1 if s == 1 else 2), BasicBlock(cout, cout, 1))
            self.add_module(f"layer{s}", layer)
            self.layers.append(layer)
            cin = cout

    def channels(self, stage):
        return self.base if stage <= 1 else self.base << (stage - 1)

    def features(self, x):  # [stem (1/2), layer1, ..., layer<stages>]
        f = [act(self.bn1(self.conv1(x)), inplace=True)]
        h = F.max_pool2d(f[0], 3, 2, 1)
        for layer in self.layers:
            h = layer(h)
            f.append(h)
        return f

    def forward(self, x):
        return self.features(x)[-1]


class RegressionNet(nn.Module):
    def __init__(self, base):
        super().__init__()
        b = base
        self.encoder = ResNetEncoder(b, 2)
        self.decoder = nn.Sequential(
            conv_bn_relu(2 * b, 2 * b, 3, 1, 1), conv_bn_relu(2 * b, b, 4, 2, 1, True),
            conv_bn_relu(b, b, 3, 1, 1), conv_bn_relu(b, b // 2, 4, 2, 1, True),
            conv_bn_relu(b // 2, b // 2, 3, 1, 1), conv_bn_relu(b // 2, b // 4, 4, 2, 1, True),
            nn.Conv2d(b // 4, 2, 3, 1, 1))

    def forward(self, x):  # -> ab / 110
        return self.decoder(self.encoder(x))


class Repeat(nn.Module):
    """One conv applied `times` times, each followed by ReLU (weights tied)."""

    def __init__(self, m, times):
        super().__init__()
        self.add_module("0", m)
        self.times = times

    def forward(self, x):
        m = getattr(self, "0")
        for _ in range(self.times):
            x = act(m(x), inplace=True)
        return x


class ClassificationNet(nn.Module):
    def __init__(self, base, bins, tie_repeated_convs):
        super().__init__()
        c1, c2, c3, c4 = base, 2 * base, 4 * base, 8 * base
        # (in, out, convs, stride of the last conv, dilation)
        plan = [(1, c1, 2, 2, 1), (c1, c2, 2, 2, 1), (c2, c3, 3, 2, 1), (c3, c4, 3, 1, 1),
                (c4, c4, 3, 1, 2), (c4, c4, 3, 1, 2), (c4, c4, 3, 1, 1)]
        for b, (cin, cout, convs, last_stride, dil) in enumerate(plan):
            layers = []
            if tie_repeated_convs and b >= 4:
                layers.append(Repeat(nn.Conv2d(cin, cout, 3, 1, dil, dil), convs))
            else:
                for i in range(convs):
                    stride = last_stride if i == convs - 1 else 1
                    layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, stride, dil, dil),
                               Act()]
            layers.append(nn.BatchNorm2d(cout))
            self.add_module(f"conv{b + 1}", nn.Sequential(*layers))
        self.conv8 = nn.Sequential(
            nn.ConvTranspose2d(c4, c3, 4, 2, 1), Act(),
            nn.Conv2d(c3, c3, 3, 1, 1), Act(),
            nn.Conv2d(c3, c3, 3, 1, 1), Act(),
            nn.Conv2d(c3, bins, 1, 1, 0))

    def forward(self, x):  # -> logits [N, Q, H/4, W/4]
        for i in range(1, 9):
            x = getattr(self, f"conv{i}")(x)
        return x


class Generator(nn.Module):
    def __init__(self, base):
        super().__init__()
        self.encoder = ResNetEncoder(base, 4)
        cin = self.encoder.channels(4)
        self.ups, self.fuses = [], []
        for s in range(4, 0, -1):  # registered up1, fuse1, up2, fuse2, ... as tinct does
            skip = self.encoder.channels(s - 1)
            up, fuse = conv_bn_relu(cin, skip, 4, 2, 1, True), conv_bn_relu(2 * skip, skip, 3, 1, 1)
            self.add_module(f"up{5 - s}", up)
            self.add_module(f"fuse{5 - s}", fuse)
            self.ups.append(up)
            self.fuses.append(fuse)
            cin = skip
        self.up5 = conv_bn_relu(cin, base // 2, 4, 2, 1, True)
        self.out = nn.Conv2d(base // 2, 2, 3, 1, 1)

    def forward(self, x):  # -> ab / 110 in (-1, 1)
        f = self.encoder.features(x)
        h = f[4]
        for i, (up, fuse) in enumerate(zip(self.ups, self.fuses)):
            h = fuse(torch.cat([up(h), f[3 - i]], 1))
        return torch.tanh(self.out(self.up5(h)))


class Discriminator(nn.Module):
    def __init__(self, d):
        super().__init__()
        layers = []
        for cin, cout, stride, bn in [(3, d, 2, False), (d, 2 * d, 2, True),
                                      (2 * d, 4 * d, 2, True), (4 * d, 8 * d, 1, True)]:
            layers.append(nn.Conv2d(cin, cout, 4, stride, 1))
            if bn:
                layers.append(nn.BatchNorm2d(cout))
            layers.append(Act(0.2))
        layers.append(nn.Conv2d(8 * d, 1, 4, 1, 1))
        self.model = nn.Sequential(*layers)

    def forward(self, x):  # concat(L, ab) -> patch scores
        return self.model(x)


def lsgan(pred, real):
    return F.mse_loss(pred, torch.full_like(pred, 1.0 if real else 0.0))


def soft_cross_entropy(logits, target, weight):
    """ops::soft_cross_entropy: mean over pixels of w * sum_q -t_q log softmax_q."""
    n, _, h, w = logits.shape
    per_pixel = -(target * F.log_softmax(logits, 1)).sum(1, keepdim=True)
    return (per_pixel * weight).sum() / (n * h * w)


class Colorizer:
    """A model (or two), its Adam(s), and one training step as in colorizer_<kind>.cpp.

    modules / optims: {prefix: ...} with tinct's checkpoint prefixes
    ("" for one model; "gen." and "disc." for the GAN).
    """

    def __init__(self, kind, preset, bins=313, adam=None, device="cpu", dtype=torch.float32):
        if kind not in ADAM or preset not in ("full", "compact"):
            raise ValueError(f"unknown model or preset: {kind!r} {preset!r}")
        self.kind, self.preset = kind, preset
        adam = {**ADAM[kind], "eps": 1e-8, "weight_decay": 0.0, **(adam or {})}
        if kind == "regression":
            self.modules = {"": RegressionNet(64 if preset == "full" else 32)}
        elif kind == "classification":
            full = preset == "full"
            self.modules = {"": ClassificationNet(64 if full else 16, bins, tie_repeated_convs=full)}
        else:
            b = 64 if preset == "full" else 32
            self.modules = {"gen.": Generator(b), "disc.": Discriminator(b)}
        for m in self.modules.values():
            m.to(device, dtype)
        self.adam = adam
        self.optims = {p: torch.optim.Adam(m.parameters(), **adam) for p, m in self.modules.items()}

    def train(self, on=True):
        for m in self.modules.values():
            m.train(on)

    def num_parameters(self):
        return sum(p.numel() for m in self.modules.values() for p in m.parameters())

    def step(self, L, ab, target=None, weight=None, on_grads=None, between=None):
        """One training step; returns {loss name: float tensor}.

        on_grads(prefix): called after each backward, before that optimizer
        steps (to read .grad); between(): the GAN's hook after the D update,
        before the G step (the parity check sets tinct's updated D there).
        """
        self.train()
        if self.kind == "gan":
            gen, disc = self.modules["gen."], self.modules["disc."]
            opt_g, opt_d = self.optims["gen."], self.optims["disc."]
            phase("gen.")
            fake = gen(L)
            phase("disc.")
            opt_d.zero_grad()
            ld_real = lsgan(disc(torch.cat([L, ab], 1)), True)
            ld_fake = lsgan(disc(torch.cat([L, fake.detach()], 1)), False)
            ld = 0.5 * (ld_real + ld_fake)
            ld.backward()
            if on_grads:
                on_grads("disc.")
            opt_d.step()
            if between:
                between()
            phase("gen.")
            opt_g.zero_grad()
            l1 = F.l1_loss(fake, ab)
            # D frozen for the G step (pix2pix's set_requires_grad(netD, False)),
            # as tinct does: no gradients for D's parameters.
            for p in disc.parameters():
                p.requires_grad_(False)
            gan = lsgan(disc(torch.cat([L, fake], 1)), True)
            lg = L1_LAMBDA * l1 + gan
            lg.backward()
            for p in disc.parameters():
                p.requires_grad_(True)
            if on_grads:
                on_grads("gen.")
            opt_g.step()
            return {"g": lg.detach(), "g_l1": l1.detach(), "g_gan": gan.detach(), "d": ld.detach()}
        net, opt = self.modules[""], self.optims[""]
        opt.zero_grad()
        if self.kind == "regression":
            loss, name = F.mse_loss(net(L), ab), "mse"
        else:
            loss, name = soft_cross_entropy(net(L), target, weight), "ce"
        loss.backward()
        if on_grads:
            on_grads("")
        opt.step()
        return {name: loss.detach()}

    @torch.no_grad()
    def predict_ab(self, L, centres=None, T=0.38):
        """colorize path, eval mode: ab in LAB units at L's size."""
        self.train(False)
        if self.kind == "regression":
            return self.modules[""](L) * 110.0
        if self.kind == "gan":
            return self.modules["gen."](L) * 110.0
        # annealed mean: softmax(logits / T) over the bins, expectation of the
        # centres at 1/4 size, then bilinear upsampling (color/decode.h)
        p = F.softmax(self.modules[""](L) / T, 1)
        ab = torch.einsum("nqhw,qc->nchw", p, centres)
        return F.interpolate(ab, size=L.shape[-2:], mode="bilinear", align_corners=False)


def check_full_param_counts():
    """The full presets against the reference counts (313 bins)."""
    counts = {"regression": RegressionNet(64), "classification": ClassificationNet(64, 313, True),
              "generator": Generator(64), "discriminator": Discriminator(64)}
    for name, m in counts.items():
        n = sum(p.numel() for p in m.parameters())
        assert n == FULL_PARAMS[name], f"{name}: {n:,} parameters, expected {FULL_PARAMS[name]:,}"
    return {k: FULL_PARAMS[k] for k in counts}
