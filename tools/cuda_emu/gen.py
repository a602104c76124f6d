# Rewrites kernel launches k<<<g, b, s, st>>>(args) into emu::launch(&k, dim3(g), dim3(b), args).
import re, sys, pathlib

def split_top(s):
    parts, depth, cur = [], 0, ''
    for ch in s:
        if ch in '(<[{': depth += 1
        if ch in ')>]}': depth -= 1
        if ch == ',' and depth == 0:
            parts.append(cur); cur = ''
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts]

def convert(src):
    out, i = '', 0
    while True:
        j = src.find('<<<', i)
        if j < 0:
            out += src[i:]; break
        # kernel name: walk back over template args and identifier
        k = j
        if src[k-1] == '>':
            depth = 0
            while True:
                k -= 1
                if src[k] == '>': depth += 1
                elif src[k] == '<':
                    depth -= 1
                    if depth == 0: break
        while k > 0 and (src[k-1].isalnum() or src[k-1] in '_:'): k -= 1
        name = src[k:j]
        e = src.find('>>>', j)
        cfg = split_top(src[j+3:e])
        p = src.find('(', e)
        depth, q = 0, p
        while True:
            if src[q] == '(': depth += 1
            elif src[q] == ')':
                depth -= 1
                if depth == 0: break
            q += 1
        args = src[p+1:q]
        out += src[i:k] + '::emu::launch(&' + name + ', dim3(' + cfg[0] + '), dim3(' + cfg[1] + ')' + (', ' + args if args.strip() else '') + ')'
        i = q + 1
    return out

# usage: gen.py OUTDIR ROOT FILE...  (FILE: ROOT/kernels/<family>/*.cu or *.cuh)
out, root = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for f in sys.argv[3:]:
    f = pathlib.Path(f)
    rel = f.resolve().relative_to(root.resolve())
    s = f.read_text()
    s = s.replace('#include <cuda_runtime.h>', '')
    s = '#include "emu_cuda.h"\n' + convert(s)
    if f.suffix == '.cuh':
        # included by path: kernels/<family>/x.cuh under OUTDIR/inc
        d = out / 'inc' / rel.parent; d.mkdir(parents=True, exist_ok=True)
        (d / f.name).write_text(s)
    else:
        # every family has a cuda_1_*.cu: the family names the generated file
        (out / (rel.parent.name + '_' + f.stem + '.cpp')).write_text(s)
