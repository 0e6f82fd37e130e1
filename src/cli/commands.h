// Subcommands that live in their own files: each adds itself to the app and
// says how to run once parsed. `run` gets the --data value and returns the
// exit status; it reports its own errors (Spanish, on stderr, status 1).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace llavero::cli {

struct Command {
  CLI::App* subcommand = nullptr;
  std::function<int(const std::string& data_flag)> run;
};

// `firmar` and `verificar` (src/cli/xades_commands.cc).
std::vector<Command> add_xades_commands(CLI::App& app);

}  // namespace llavero::cli
