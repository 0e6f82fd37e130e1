#include "cli/commands.h"

namespace llavero::cli {

std::vector<Command> add_xades_commands(CLI::App&) { return {}; }

}  // namespace llavero::cli
