// `llavero`: the operator's command. Each subcommand lives in its own file
// (see commands.h); this one parses the arguments, runs the chosen command
// and turns a failure into its Spanish message on stderr and status 1.
// --help exits 0.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"

using namespace llavero::cli;

namespace {

int run(int argc, char** argv) {
  CLI::App app{
      "llavero: autoridad certificadora y llaves criptográficas de comprobantes "
      "electrónicos"};
  app.fallthrough();
  app.require_subcommand(1);
  std::string data;
  app.add_option("--data", data,
                 "Directorio de datos (por omisión $LLAVERO_DATA, si no ./llavero-data)");

  std::vector<Command> commands;
  for (auto add : {add_init_command, add_taxpayer_commands, add_password_commands, add_key_commands,
                   add_audit_commands, add_serve_command, add_crl_command, add_ca_commands,
                   add_xades_commands, add_reception_commands, add_operator_commands}) {
    for (Command& command : add(app)) commands.push_back(std::move(command));
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "Error: argumentos inválidos: " << e.what()
              << "\nUse --help para ver las opciones.\n";
    return 1;
  }
  for (const Command& command : commands)
    if (command.subcommand->parsed()) return command.run(data);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const Failure& f) {
    std::cerr << "Error: " << f.error.message << "\n";
    return 1;
  }
}
