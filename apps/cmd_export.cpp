// cmd_export.cpp — `tinct export`: a training checkpoint (or weights file) to
// a weights-only file, optionally stored as fp16/bf16 (what ships in weights/).
#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "apps/cli.h"
#include "engine/checkpoint.h"
#include "engine/safetensors.h"
#include "models/ema.h"
#include "models/inference.h"

namespace tinct::cli {

int cmd_export(const Args& in) {
  Args args = in;
  if (take_flag(args, "--help") || take_flag(args, "-h") || args.empty()) {
    std::puts("usage: tinct export CHECKPOINT -o FILE [--dtype f32|f16|bf16] [--ema] [--overwrite]\n"
              "Writes the weights of a colorizer checkpoint (no optimizer state) to FILE,\n"
              "stored as f16 by default: the form tinct colorize loads and the repository ships\n"
              "(a tensor f16 cannot hold, |x| > 65504, is stored as f32 and named).\n"
              "--ema: the moving average of the weights and batch-norm statistics instead (a\n"
              "checkpoint of a run trained with --ema; one written before the statistics were\n"
              "averaged gives its live ones).");
    return args.empty() ? 2 : 0;
  }
  std::string out, dtype = "f16";
  if (!take_option(args, "-o", out)) throw std::invalid_argument("-o FILE is required");
  take_option(args, "--dtype", dtype);
  const bool overwrite = take_flag(args, "--overwrite"), ema = take_flag(args, "--ema");
  if (args.size() != 1) throw std::invalid_argument("give exactly one checkpoint (see tinct export --help)");
  DType dt = DType::F16;
  if (dtype == "f32") dt = DType::F32;
  else if (dtype == "bf16") dt = DType::BF16;
  else if (dtype != "f16") throw std::invalid_argument("--dtype must be f32, f16 or bf16");
  if (std::filesystem::exists(out) && !overwrite) throw std::runtime_error(out + " exists; pass --overwrite to replace it");

  const std::string src = args[0];
  auto model = models::load_colorizer(src);
  const Checkpoint file = load_checkpoint(src);
  if (ema) {
    if (!models::has_ema(file.tensors))
      throw std::invalid_argument(src + " holds no moving average of the weights (no ema.* tensors): --ema needs a "
                                  "checkpoint (ckpt-*.safetensors) of a run trained with --ema");
    model->load_state(models::with_ema_weights(file.tensors), false);
  }
  auto md = model->metadata();
  const auto& src_md = file.metadata;
  for (const char* key : {"step", "data"})
    if (src_md.count(key)) md[std::string("train_") + key] = src_md.at(key);
  if (src_md.count("loss") && !md.count("loss")) md["loss"] = src_md.at("loss");  // what it was trained on
  md["dtype"] = dtype;
  if (ema) md["weights"] = "moving average";
  const auto state = model->state(false);
  save_checkpoint(out, state, md, dt);
  std::printf("%s: %s/%s, %lld parameters, %s, %lld bytes\n", out.c_str(), md["kind"].c_str(), md["preset"].c_str(),
              (long long)model->num_parameters(), dtype.c_str(), (long long)std::filesystem::file_size(out));
  std::string wide;  // tensors f16 cannot hold, stored as f32 (save_safetensors, stored_dtype)
  for (const auto& [name, t] : state)
    if (stored_dtype({name, t.shape(), t.to_vector()}, dt) != dt) wide += (wide.empty() ? "" : ", ") + name;
  if (!wide.empty()) std::printf("  stored as f32, beyond f16's range (|x| > 65504): %s\n", wide.c_str());
  return 0;
}

}  // namespace tinct::cli
