// `llavero operador crear`: an account of the operators' console
// (docs/operador.md) with its role; the password is read from stdin (one
// line, never argv). The second factor is enrolled at the first log-in.
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/prompt.h"
#include "service/downloads.h"
#include "service/operators.h"

namespace llavero::cli {

std::vector<Command> add_operator_commands(CLI::App& app) {
  struct Flags {
    std::string username, role;
  };
  auto flags = std::make_shared<Flags>();
  auto* group = app.add_subcommand("operador", "Operadores de la consola (/operador)");
  group->require_subcommand(1);
  auto* create = group->add_subcommand(
      "crear", "Crea un operador; la contraseña se lee de la entrada estándar (una línea)");
  create->add_option("--usuario", flags->username, "Usuario (minúsculas, dígitos, . - _)");
  create->add_option("--rol", flags->role, "administrador, soporte o auditor");
  return {Command{create, [flags](const std::string& data_flag) {
                    require(flags->username, "--usuario");
                    require(flags->role, "--rol");
                    const OperatorRole role = must(service::parse_operator_role(flags->role));
                    TypedPin typed = must(read_pin_from_stdin());
                    Session s = open_session(data_flag, false);
                    SecretString key =
                        must(service::load_or_create_server_key(s.dir->path() / "portal.key"));
                    service::OperatorService operators(s.dir->store(), std::move(key));
                    OperatorRecord made =
                        must(operators.create(flags->username, role, typed.pin, actor()));
                    std::cout << fmt::format(
                        "Operador creado: {} ({}). Al ingresar por primera vez en /operador "
                        "activará el segundo factor.\n",
                        made.username, operator_role_name(made.role));
                    return 0;
                  }}};
}

}  // namespace llavero::cli
