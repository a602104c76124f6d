#!/usr/bin/env bash
# setup_venv.sh — the Python side of the CPU peer comparison (issue 13 item 4):
# a virtual environment with PyTorch and ONNX Runtime (+ onnx for the export),
# from PyPI by name. Idempotent: does nothing when the venv already works.
#
# PyPI's Linux torch wheel depends on the nvidia-* CUDA packages (GBs). On a
# CPU-only machine they are never loaded, so torch is installed with --no-deps
# plus its pure-Python dependencies; if that torch does not import or run a
# convolution, it is reinstalled with its dependencies.
#
# usage: bench/cpu_peer/setup_venv.sh [venv dir, default bench/.venv-cpu]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=${1:-$root/bench/.venv-cpu}
py=$venv/bin/python
check='import torch, onnx, onnxruntime, numpy
x = torch.randn(1, 3, 16, 16); w = torch.randn(4, 3, 3, 3)
assert torch.nn.functional.conv2d(x, w).shape == (1, 4, 14, 14)
print("torch", torch.__version__, "| onnx", onnx.__version__, "| onnxruntime", onnxruntime.__version__,
      "| numpy", numpy.__version__, "| mkldnn", torch.backends.mkldnn.is_available())'
if [ -x "$py" ] && "$py" -c "$check" 2>/dev/null; then
  "$py" -c "$check"; exit 0
fi
command -v python3 >/dev/null || { echo "setup_venv: python3 is needed (apt-get install python3 python3-venv)" >&2; exit 1; }
python3 -m venv "$venv" || { echo "setup_venv: python3 -m venv failed (apt-get install python3-venv)" >&2; exit 1; }
pip="$py -m pip --disable-pip-version-check -q"
$pip install --upgrade pip
$pip install numpy onnx onnxruntime sympy networkx jinja2 filelock fsspec typing-extensions
$pip install --no-deps torch
if ! "$py" -c "$check"; then
  echo "setup_venv: torch without its CUDA packages does not work here; installing with dependencies" >&2
  $pip install torch
fi
"$py" -c "$check"
