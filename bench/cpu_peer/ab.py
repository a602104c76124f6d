#!/usr/bin/env python3
"""ab.py - two tinct builds or settings against each other, interleaved.

Starts two bench_peer_forward servers (bench/bench_peer_forward.cpp), A and B,
and for each round sends every case to both, alternating which goes first, so
both see the same load on a shared machine; prints the median ms of each and
A/B (> 1: B is faster). A setting is a binary plus environment variables:

  bench/cpu_peer/ab.py --a build/bench/bench_peer_forward --a-env TINCT_CONV_DIRECT=0 \\
      --b build/bench/bench_peer_forward --rounds 9 "regression compact 1" "gan compact 2"

A case is "kind preset threads" (kind: regression | classification | gan).
By default each case is the 512x512 eval forward; --train times one training
step instead (batch --batch of --size x --size, Adam: bench_peer_forward's
"train" command; the GAN's step is one D and one G update).
"""
import argparse
import os
import statistics
import subprocess


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--a", required=True, help="bench_peer_forward binary of A")
    ap.add_argument("--b", required=True, help="bench_peer_forward binary of B")
    ap.add_argument("--a-env", action="append", default=[], help="NAME=VALUE for A (repeatable)")
    ap.add_argument("--b-env", action="append", default=[], help="NAME=VALUE for B (repeatable)")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--train", action="store_true", help="time a training step instead of the forward")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("cases", nargs="+")
    o = ap.parse_args()

    def start(binary, env_list):
        env = dict(os.environ)
        for kv in env_list:
            k, _, v = kv.partition("=")
            env[k] = v
        return subprocess.Popen([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)

    procs = {"A": start(o.a, o.a_env), "B": start(o.b, o.b_env)}

    def ask(p, cmd):
        p.stdin.write(cmd + "\n")
        p.stdin.flush()
        words = p.stdout.readline().split()
        if not words or words[0] != "ms":
            raise SystemExit("bench_peer_forward answered %r to %r" % (" ".join(words), cmd))
        return [float(x) for x in words[1:]]

    def command(c):
        return "train %s %d %d 1" % (c, o.batch, o.size) if o.train else "fwd %s 1" % c

    times = {(n, c): [] for n in procs for c in o.cases}
    for c in o.cases:  # warm-up: builds the model and its workspaces (and the training step)
        for p in procs.values():
            ask(p, command(c))
    for r in range(o.rounds):
        for c in o.cases:
            for n in (("A", "B") if r % 2 == 0 else ("B", "A")):
                times[(n, c)] += ask(procs[n], command(c))
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    what = "training step (batch %d, %dx%d)" % (o.batch, o.size, o.size) if o.train else "512x512 forward"
    print("%s, median of %d interleaved rounds, ms (load %s at the end)" % (what, o.rounds, load))
    for c in o.cases:
        a, b = statistics.median(times[("A", c)]), statistics.median(times[("B", c)])
        print("  %-28s A %9.1f   B %9.1f   A/B %.3f" % (c, a, b, a / b))
    for p in procs.values():
        p.stdin.write("quit\n")
        p.stdin.flush()


if __name__ == "__main__":
    main()
