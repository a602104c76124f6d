// cli.h — the subcommands of the `tinct` binary. Each lives in its own file
// (apps/cmd_<name>.cpp) and returns the process exit code.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/layout.h"
#include "engine/precision.h"
#include "models/colorizer.h"

namespace tinct::cli {

using Args = std::vector<std::string>;

int cmd_demo(const Args& args);
int cmd_prepare(const Args& args);
int cmd_train(const Args& args);
int cmd_eval(const Args& args);
int cmd_colorize(const Args& args);
int cmd_export(const Args& args);

// Runs subcommand `cmd` and returns its exit code: 2 for bad arguments
// (std::invalid_argument), 1 for other errors (the message goes to stderr),
// kUnknownCommand when there is no such subcommand (main prints the usage
// and exits 2).
inline constexpr int kUnknownCommand = -1;
int run_command(const std::string& cmd, const Args& args);

// Parses "--name value" / "--name=value"; returns false when absent.
bool take_option(Args& args, const std::string& name, std::string& value);
bool take_flag(Args& args, const std::string& name);
// Throws std::invalid_argument naming the option when the value is not a number.
long parse_int(const std::string& option, const std::string& value, long lo, long hi);
double parse_double(const std::string& option, const std::string& value);
// A duration in seconds: "90m", "2h", "3600s" or a plain number of seconds
// (fractions allowed, not negative); throws std::invalid_argument naming the option.
double parse_duration(const std::string& option, const std::string& value);

// --precision fp32|tf32|bf16 (engine/precision.h): the value given, else
// fp32; another value throws std::invalid_argument (exit 2).
Precision take_precision(Args& args);
// --layout nchw|nhwc (engine/layout.h): the value given, else nchw; another
// value, or nhwc at fp32, throws std::invalid_argument (exit 2).
Layout take_layout(Args& args, Precision p);

// --decoding zhang|plausible, --temperature T and --prior-correction B: the
// classification model's decoding (models::Decoding); each is unset when not
// given.
struct DecodingArgs {
  std::optional<models::Decoding> named;
  std::optional<float> temperature, prior_correction;
  bool given() const { return named || temperature || prior_correction; }
  // `d` (or the named setting) with the given numbers replaced, checked
  // (models::check_decoding).
  models::Decoding over(models::Decoding d) const;
};
DecodingArgs take_decoding(Args& args);

}  // namespace tinct::cli
