// The subcommands of `llavero`, one file each. Every add_* function adds its
// subcommand(s) to the app and says how to run them once parsed: `run` gets
// the --data value and returns the exit status. Errors leave as
// cli::Failure (see common.h) or are reported by the command itself
// (Spanish, on stderr, status 1).
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

std::vector<Command> add_init_command(CLI::App& app);        // init
std::vector<Command> add_taxpayer_commands(CLI::App& app);   // contribuyente crear
std::vector<Command> add_password_commands(CLI::App& app);   // contrasena generar
std::vector<Command> add_key_commands(CLI::App& app);        // llave generar|estado|revocar
std::vector<Command> add_audit_commands(CLI::App& app);      // auditoria verificar
std::vector<Command> add_serve_command(CLI::App& app);       // serve
std::vector<Command> add_crl_command(CLI::App& app);         // crl
std::vector<Command> add_ca_commands(CLI::App& app);         // ca renovar|aprobar|estado
std::vector<Command> add_xades_commands(CLI::App& app);      // firmar, verificar
std::vector<Command> add_reception_commands(CLI::App& app);  // recepcion estado|limpiar
std::vector<Command> add_operator_commands(CLI::App& app);   // operador crear

}  // namespace llavero::cli
