// tinct-kbench — every kernel variant of every op family, checked against the
// family's reference (kernels/<family>/ref.cpp) and timed, one command each:
//
//   tinct-kbench --list                     families, ops, variants (and their files)
//   tinct-kbench OP VARIANT [--key value]   one variant at one shape, e.g.
//       tinct-kbench conv2d_fwd 2 --n 8 --c 64 --h 56 --w 56 --k 64
//       tinct-kbench sgemm cpu --m 1024 --n 1024 --k 1024
//   tinct-kbench --all [--family F] [--device cpu|gpu] [--quick] [shape]
//                                           every variant of every op (ctest)
//
// For a variant it prints the worst absolute and relative error against the
// reference and WHERE (buffer and index), then the median time of repeated
// calls (CUDA events on the GPU; warm caches), GB/s and GFLOP/s, and the napkin
// roofline beside them: peak FLOP/s and bandwidth measured once (peak.h), the
// time bound max(flops / peak, bytes / bandwidth) and the share of it reached.
// Variant names (kernels/README.md): ref, cpu, cpu_* (CPU); 1, 2, ... the CUDA
// files cuda_<N>_*.cu; dispatch (the one the engine calls); 0 the vendor
// library (cuBLAS) where the build found it.
// Exit status: 0 all checks passed, 1 a check failed, 2 usage or shape error,
// 77 a GPU variant asked for where no CUDA device is.
// The CUDA emulator (tools/cuda_emu/build.sh) builds it too, as emu_kbench:
// the GPU variants checked on the CPU at small shapes, without timings.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tools/kbench/kbench.h"
#include "tools/kbench/peak.h"

#ifdef TINCT_HAS_CUDA
#include <cuda_runtime_api.h>

#include "kernels/cuda.h"
#endif

namespace tinct::kbench {

// ---------------------------------------------------------------------------
// Shape, registry, helpers shared by the ops files

int Shape::i(const std::string& key, int def) const {
  const std::string v = s(key, std::to_string(def));
  char* end = nullptr;
  const long x = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end || x < INT32_MIN || x > INT32_MAX)
    throw std::invalid_argument("--" + key + " wants an integer, got '" + v + "'");
  return int(x);
}

double Shape::f(const std::string& key, double def) const {
  std::ostringstream d;
  d << def;
  const std::string v = s(key, d.str());
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end) throw std::invalid_argument("--" + key + " wants a number, got '" + v + "'");
  return x;
}

std::string Shape::s(const std::string& key, const std::string& def) const {
  auto it = kv_.find(key);
  const std::string v = it == kv_.end() ? def : it->second;
  used_[key] = v;
  return v;
}

std::vector<std::string> Shape::unused() const {
  std::vector<std::string> r;
  for (const auto& kv : kv_)
    if (!used_.count(kv.first)) r.push_back(kv.first);
  return r;
}

std::string Shape::describe() const {
  std::string r;
  for (const auto& kv : used_) r += (r.empty() ? "" : " ") + kv.first + "=" + kv.second;
  return r;
}

size_t type_size(Type t) {
  switch (t) {
    case Type::F32: return 4;
    case Type::F64: return 8;
    case Type::I32: return 4;
    case Type::U8: return 1;
  }
  return 1;
}

std::vector<Op>& registry() {
  static std::vector<Op> r;
  return r;
}

Op& add_op(std::string family, std::string name, std::string what, std::function<Problem(const Shape&)> problem,
           std::function<void(const Shape&, const Ptrs&)> ref) {
  Op op;
  op.family = std::move(family);
  op.name = std::move(name);
  op.what = std::move(what);
  op.problem = std::move(problem);
  op.ref = std::move(ref);
  registry().push_back(std::move(op));
  return registry().back();
}

size_t count_of(const Shape& s) {
  const int n = s.i("n", 1001);
  if (n < 1) throw std::invalid_argument("--n must be >= 1");
  return size_t(n);
}

std::array<int, 4> nchw_of(const Shape& s) {
  const int N = s.i("n", 2), C = s.i("c", 5), H = s.i("h", 7), W = s.i("w", 9);
  if (N < 1 || C < 1 || H < 1 || W < 1) throw std::invalid_argument("--n --c --h --w must be >= 1");
  return {N, C, H, W};
}

Conv2dParams conv_params(const Shape& s) {
  Conv2dParams p;
  p.N = s.i("n", 2), p.C = s.i("c", 5), p.H = s.i("h", 11), p.W = s.i("w", 9), p.K = s.i("k", 7);
  p.R = s.i("r", 3), p.S = s.i("s", p.R);
  p.stride_h = p.stride_w = s.i("stride", 1);
  p.pad_h = p.pad_w = s.i("pad", 1);
  p.dil_h = p.dil_w = s.i("dil", 1);
  if (p.N < 1 || p.C < 1 || p.H < 1 || p.W < 1 || p.K < 1 || p.R < 1 || p.S < 1 || p.stride_h < 1 ||
      p.dil_h < 1 || p.pad_h < 0 || !p.finalize())
    throw std::invalid_argument("convolution shape gives no output (sizes >= 1, stride and dilation >= 1, pad >= 0)");
  return p;
}

Pool2dParams pool_params(const Shape& s) {
  Pool2dParams p;
  p.N = s.i("n", 2), p.C = s.i("c", 5), p.H = s.i("h", 11), p.W = s.i("w", 9);
  p.kh = p.kw = s.i("kernel", 3);
  p.stride_h = p.stride_w = s.i("stride", 2);
  p.pad_h = p.pad_w = s.i("pad", 1);
  if (p.N < 1 || p.C < 1 || p.H < 1 || p.W < 1 || p.kh < 1 || p.stride_h < 1 || p.pad_h < 0 || !p.finalize())
    throw std::invalid_argument("pooling shape gives no output (kernel >= 2 * pad, sizes >= 1)");
  return p;
}

Act act_of(const Shape& s) {
  const std::string a = s.s("act", "leaky");
  if (a == "relu") return Act::Relu;
  if (a == "leaky") return Act::LeakyRelu;
  if (a == "tanh") return Act::Tanh;
  if (a == "sigmoid") return Act::Sigmoid;
  throw std::invalid_argument("--act wants relu, leaky, tanh or sigmoid, got '" + a + "'");
}

Upsample mode_of(const Shape& s) {
  const std::string m = s.s("mode", "bilinear");
  if (m == "nearest") return Upsample::Nearest;
  if (m == "bilinear") return Upsample::Bilinear;
  throw std::invalid_argument("--mode wants nearest or bilinear, got '" + m + "'");
}

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// ---------------------------------------------------------------------------
// Buffers

void fill_random(const Buf& b, std::vector<unsigned char>& v, uint64_t seed) {
  uint64_t s = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  auto next = [&] {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return double(s >> 11) * (1.0 / 9007199254740992.0);
  };
  for (size_t i = 0; i < b.n; ++i) {
    const double u = b.lo + (b.hi - b.lo) * next();
    switch (b.type) {
      case Type::F32: reinterpret_cast<float*>(v.data())[i] = float(u); break;
      case Type::F64: reinterpret_cast<double*>(v.data())[i] = u; break;
      case Type::I32: reinterpret_cast<int32_t*>(v.data())[i] = int32_t(std::floor(u)); break;
      case Type::U8: v[i] = uint8_t(std::min(255.0, std::max(0.0, std::floor(u)))); break;
    }
  }
}

Host make_host(const Problem& pr) {
  Host h(pr.bufs.size());
  for (size_t i = 0; i < pr.bufs.size(); ++i) {
    const Buf& b = pr.bufs[i];
    h[i].assign(b.n * type_size(b.type), 0);
    if (b.role == Buf::Out)
      std::memset(h[i].data(), 0xFF, h[i].size());  // NaN / -1 / 255: unwritten values show
    else
      fill_random(b, h[i], 1000 + i);
  }
  if (pr.init) pr.init(h);
  return h;
}

Ptrs ptrs_of(Host& h) {
  Ptrs p;
  for (auto& v : h) p.push_back(v.data());
  return p;
}

double value(const Buf& b, const std::vector<unsigned char>& v, size_t i) {
  switch (b.type) {
    case Type::F32: return reinterpret_cast<const float*>(v.data())[i];
    case Type::F64: return reinterpret_cast<const double*>(v.data())[i];
    case Type::I32: return reinterpret_cast<const int32_t*>(v.data())[i];
    case Type::U8: return v[i];
  }
  return 0;
}

// Compares every output; one line per output buffer. Returns true when all pass.
bool compare(const Problem& pr, const Host& ref, const Host& got) {
  bool ok = true;
  for (size_t bi = 0; bi < pr.bufs.size(); ++bi) {
    const Buf& b = pr.bufs[bi];
    if (b.role == Buf::In) continue;
    double maxref = 0;
    for (size_t i = 0; i < b.n; ++i) maxref = std::max(maxref, std::fabs(value(b, ref[bi], i)));
    const double floor = std::max(1e-3 * maxref, 1e-30);
    double wabs = 0, wrel = 0;
    size_t iabs = 0, irel = 0, bad_nan = 0, first_nan = 0;
    for (size_t i = 0; i < b.n; ++i) {
      const double r = value(b, ref[bi], i), v = value(b, got[bi], i);
      if (std::isnan(r) != std::isnan(v)) {
        if (bad_nan++ == 0) first_nan = i;
        continue;
      }
      if (std::isnan(r)) continue;
      const double d = std::fabs(v - r), rel = d / std::max(std::fabs(r), floor);
      if (d > wabs) wabs = d, iabs = i;
      if (rel > wrel) wrel = rel, irel = i;
    }
    const bool integer = b.type == Type::I32 || b.type == Type::U8;
    const bool pass = bad_nan == 0 && (integer ? wabs <= pr.int_tol : wrel <= pr.tol);
    std::printf("  check %-10s n=%-9zu worst abs %.3g at [%zu], worst rel %.3g at [%zu]", b.name.c_str(), b.n, wabs,
                iabs, wrel, irel);
    if (bad_nan) std::printf(", %zu NaN where the reference has none (or the reverse), first at [%zu]", bad_nan, first_nan);
    if (integer)
      std::printf("  %s (tol %d)\n", pass ? "ok" : "FAIL", pr.int_tol);
    else
      std::printf("  %s (tol %.0e)\n", pass ? "ok" : "FAIL", pr.tol);
    ok = ok && pass;
  }
  return ok;
}

double traffic(const Problem& pr) {
  if (pr.bytes > 0) return pr.bytes;
  double t = 0;
  for (const Buf& b : pr.bufs) t += double(b.n * type_size(b.type)) * (b.role == Buf::InOut ? 2 : 1);
  return t;
}

// ---------------------------------------------------------------------------
// GPU plumbing

#ifdef TINCT_HAS_CUDA
bool gpu_ok() {
  static const int ok = [] {
    std::string why;
    const bool a = cuda::device_available(&why);
    if (!a) std::printf("no CUDA device: %s\n", why.c_str());
    return a ? 1 : 0;
  }();
  return ok != 0;
}

struct DevHost {
  std::vector<void*> p;
  DevHost(const Host& h) {
    for (const auto& v : h) {
      void* d = nullptr;
      TINCT_CUDA_CHECK(cudaMalloc(&d, std::max<size_t>(v.size(), 16)));
      TINCT_CUDA_CHECK(cudaMemcpy(d, v.data(), v.size(), cudaMemcpyHostToDevice));
      p.push_back(d);
    }
  }
  ~DevHost() {
    for (void* d : p) cudaFree(d);
  }
  void get(Host& h) const {
    TINCT_CUDA_CHECK(cudaDeviceSynchronize());
    for (size_t i = 0; i < h.size(); ++i)
      TINCT_CUDA_CHECK(cudaMemcpy(h[i].data(), p[i], h[i].size(), cudaMemcpyDeviceToHost));
  }
};
#endif

struct Opts {
  int reps = 0;  // 0: adaptive (at least 5, about 0.3 s)
  bool time = true;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? NAN : v[v.size() / 2];
}

// Times f (which runs the kernel once); CPU: wall clock per call.
std::vector<double> time_cpu(const std::function<void()>& f, const Opts& o) {
  for (int w = 0; w < 2; ++w) f();
  std::vector<double> ms;
  const double start = now();
  while (true) {
    const double t0 = now();
    f();
    ms.push_back((now() - t0) * 1e3);
    const int n = int(ms.size());
    if (o.reps > 0 ? n >= o.reps : (n >= 5 && now() - start > 0.3) || n >= 1000) break;
  }
  return ms;
}

#if defined(TINCT_HAS_CUDA) && !defined(TINCT_CUDA_EMU)
std::vector<double> time_gpu(const std::function<void()>& f, const Opts& o) {
  cudaEvent_t a, b;
  TINCT_CUDA_CHECK(cudaEventCreate(&a));
  TINCT_CUDA_CHECK(cudaEventCreate(&b));
  for (int w = 0; w < 3; ++w) f();
  TINCT_CUDA_CHECK(cudaDeviceSynchronize());
  std::vector<double> ms;
  const double start = now();
  while (true) {
    TINCT_CUDA_CHECK(cudaEventRecord(a));
    f();
    TINCT_CUDA_CHECK(cudaEventRecord(b));
    TINCT_CUDA_CHECK(cudaEventSynchronize(b));
    float t = 0;
    TINCT_CUDA_CHECK(cudaEventElapsedTime(&t, a, b));
    ms.push_back(t);
    const int n = int(ms.size());
    if (o.reps > 0 ? n >= o.reps : (n >= 5 && now() - start > 0.3) || n >= 1000) break;
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  return ms;
}
#endif

const Peak& peak_of(bool gpu) {
  static Peak c, g;
  static bool have_c = false, have_g = false;
  if (gpu) {
    if (!have_g) g = gpu_peak(), have_g = true, std::printf("roofline: %s\n", g.how.c_str());
    return g;
  }
  if (!have_c) c = cpu_peak(), have_c = true, std::printf("roofline: %s\n", c.how.c_str());
  return c;
}

// One timing line: ms, GB/s, FLOP/s (where the op counts flops) and the
// roofline: the time bound max(flops / peak, bytes / bandwidth) and the share
// of it reached. The bandwidth is main memory's: small shapes run from cache
// and may pass it.
void print_time(double ms, const std::string& how, double flops, double bytes, const Peak& pk, bool gpu) {
  const double t_compute = flops / pk.flops * 1e3, t_memory = bytes / pk.bw * 1e3;
  const double bound = std::max(t_compute, t_memory);
  std::printf("  time  %.4f ms (%s)  %.2f GB/s", ms, how.c_str(), bytes / (ms * 1e-3) / 1e9);
  if (flops > 0) {
    if (gpu)
      std::printf("  %.3f TFLOP/s", flops / (ms * 1e-3) / 1e12);
    else
      std::printf("  %.2f GFLOP/s", flops / (ms * 1e-3) / 1e9);
  }
  std::printf("   roofline %.4f ms (%s-bound): %.0f%% of it\n", bound, t_compute > t_memory ? "compute" : "memory",
              100.0 * bound / ms);
}

// Runs one variant: check against the reference, then time. 0 ok, 1 check
// failed, 2 shape unsupported, 77 no GPU.
int run_variant(const Op& op, const Variant& v, const Shape& shape, const Opts& o) {
  if (v.unsupported) {
    const std::string why = v.unsupported(shape);
    if (!why.empty()) {
      std::printf("%s %s: not for this shape (%s)\n", op.name.c_str(), v.name.c_str(), why.c_str());
      return 2;
    }
  }
#ifdef TINCT_HAS_CUDA
  if (v.gpu && !gpu_ok()) return 77;
#else
  if (v.gpu) return 77;
#endif
  const Problem pr = op.problem(shape);
  std::printf("%s %s (%s) %s\n", op.name.c_str(), v.name.c_str(), v.where.c_str(), shape.describe().c_str());
  const Host init = make_host(pr);
  Host ref = init, got = init;
  {
    Ptrs p = ptrs_of(ref);
    op.ref(shape, p);
  }
  std::function<void()> once;
  bool ok = true;
  if (!v.gpu) {
    Ptrs p = ptrs_of(got);
    v.run(shape, p);
    ok = compare(pr, ref, got);
    if (o.time) {
      Host scratch = init;
      Ptrs q = ptrs_of(scratch);
      const double ms = median(time_cpu([&] { v.run(shape, q); }, o));
      print_time(ms, "median, " + std::to_string(omp_get_max_threads()) + " thread(s)", pr.flops, traffic(pr),
                 peak_of(false), false);
    }
  } else {
#ifdef TINCT_HAS_CUDA
    {
      DevHost d(got);
      v.run(shape, d.p);
      d.get(got);
    }
    ok = compare(pr, ref, got);
#ifdef TINCT_CUDA_EMU
    if (o.time) std::printf("  time  (not in the CUDA emulator: no events, no real timing)\n");
#else
    if (o.time) {
      DevHost d(init);
      const double ms = median(time_gpu([&] { v.run(shape, d.p); }, o));
      print_time(ms, "median, CUDA events", pr.flops, traffic(pr), peak_of(true), true);
    }
#endif
#endif
  }
  std::printf("  %s\n", ok ? "ok" : "FAIL: differs from the reference");
  return ok ? 0 : 1;
}

void list() {
  std::string fam;
  for (const Op& op : registry()) {
    if (op.family != fam) std::printf("%s%s (kernels/%s/)\n", fam.empty() ? "" : "\n", op.family.c_str(), op.family.c_str()), fam = op.family;
    std::printf("  %-26s %s\n", op.name.c_str(), op.what.c_str());
    std::printf("  %-26s ref (kernels/%s/ref.cpp)", "", op.family.c_str());
    for (const Variant& v : op.variants)
      if (!v.hidden) std::printf(", %s%s", v.name.c_str(), v.gpu ? " [gpu]" : "");
    std::printf("\n");
  }
  std::printf("\nvariants: ref / cpu / cpu_* run on the CPU; 1, 2, ... are kernels/<family>/cuda_<N>_*.cu,\n"
              "dispatch the CUDA dispatcher, 0 the vendor library (cuBLAS, cuDNN), each [gpu].\n"
              "Shape options (--n, --c, --h, --w, --k, ...) default to a small awkward shape; README.md lists them.\n");
}

int usage(const char* msg) {
  if (msg) std::fprintf(stderr, "tinct-kbench: %s\n", msg);
  std::fprintf(stderr,
               "usage: tinct-kbench --list\n"
               "       tinct-kbench OP VARIANT [--reps N] [--no-time] [--KEY VALUE ...]\n"
               "       tinct-kbench --all [--family F] [--device cpu|gpu] [--quick] [--KEY VALUE ...]\n");
  return 2;
}

}  // namespace

int run_main(int argc, char** argv) {
  register_dense();
  register_norm();
  register_pointwise();
  register_train();
  register_color();
#ifdef TINCT_KBENCH_CUDNN
  register_cudnn();
#endif
  std::vector<std::string> pos;
  std::map<std::string, std::string> kv;
  Opts o;
  bool all = false, do_list = false, quick = false;
  std::string family, device = "cpu";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--list") do_list = true;
    else if (a == "--all") all = true;
    else if (a == "--quick") quick = true;
    else if (a == "--no-time") o.time = false;
    else if (a == "--help" || a == "-h") return usage(nullptr), 0;
    else if (a.rfind("--", 0) == 0) {
      if (i + 1 >= argc) return usage(("option " + a + " wants a value").c_str());
      const std::string k = a.substr(2), val = argv[++i];
      if (k == "reps") {
        o.reps = std::atoi(val.c_str());
        if (o.reps < 1) return usage("--reps wants a positive integer");
      } else if (k == "family") family = val;
      else if (k == "device") {
        if (val != "cpu" && val != "gpu") return usage("--device wants cpu or gpu");
        device = val;
      } else kv[k] = val;
    } else pos.push_back(a);
  }
  if (quick && o.reps == 0) o.reps = 3;
  if (do_list) return list(), 0;
  try {
    if (all) {
      if (!pos.empty()) return usage("--all takes no OP VARIANT");
      int worst = 0, runs = 0, fails = 0;
      bool family_seen = family.empty();
      for (const Op& op : registry()) {
        if (!family.empty() && op.family != family) continue;
        family_seen = true;
        std::vector<Variant> vs;
        if (device == "cpu") vs.push_back({"ref", "kernels/" + op.family + "/ref.cpp", false, op.ref});
        vs.insert(vs.end(), op.variants.begin(), op.variants.end());
        for (const Variant& v : vs) {
          if (v.hidden || v.gpu != (device == "gpu")) continue;
          Shape shape(kv);
          const int rc = run_variant(op, v, shape, o);
          if (rc == 77) return 77;
          if (rc == 2) continue;  // not for this shape: said so
          ++runs;
          if (rc) ++fails, worst = 1;
        }
      }
      if (!family_seen) return usage(("no family '" + family + "' (see --list)").c_str());
      std::printf("%d variant(s) checked, %d failed\n", runs, fails);
      return worst;
    }
    if (pos.size() != 2) return usage("want OP VARIANT (or --list, --all)");
    for (const Op& op : registry()) {
      if (op.name != pos[0]) continue;
      Shape shape(kv);
      if (pos[1] == "ref") {
        Variant r{"ref", "kernels/" + op.family + "/ref.cpp", false, op.ref, nullptr, false};
        const int rc = run_variant(op, r, shape, o);
        return rc;
      }
      for (const Variant& v : op.variants) {
        if (v.name != pos[1]) continue;
        op.problem(shape);  // reads the shape options of the op
        if (v.unsupported) v.unsupported(shape);
        const auto unused = shape.unused();
        if (!unused.empty()) {
          std::fprintf(stderr, "tinct-kbench: %s takes no option --%s\n", op.name.c_str(), unused[0].c_str());
          return 2;
        }
        return run_variant(op, v, shape, o);
      }
      std::string names = "ref";
      for (const Variant& v : op.variants)
        if (!v.hidden) names += ", " + v.name;
      return usage(("op " + op.name + " has no variant '" + pos[1] + "' (it has " + names + ")").c_str());
    }
    return usage(("no op '" + pos[0] + "' (see --list)").c_str());
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "tinct-kbench: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tinct-kbench: %s\n", e.what());
    return 1;
  }
}

}  // namespace tinct::kbench

int main(int argc, char** argv) { return tinct::kbench::run_main(argc, argv); }
