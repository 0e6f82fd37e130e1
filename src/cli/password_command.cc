// `llavero contrasena generar`: the API user and a new password of one
// environment, shown once; the previous password stops working.
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "service/accounts.h"

namespace llavero::cli {

std::vector<Command> add_password_commands(CLI::App& app) {
  struct Flags {
    std::string id, environment;
  };
  auto flags = std::make_shared<Flags>();
  auto* api = app.add_subcommand("contrasena", "Contraseñas de la API de comprobantes");
  api->require_subcommand(1);
  auto* generate = api->add_subcommand(
      "generar", "Genera el usuario y una nueva contraseña de la API (la anterior deja de servir)");
  generate->add_option("--id", flags->id, "Identificación del contribuyente");
  generate->add_option("--ambiente", flags->environment, "produccion o pruebas");
  return {Command{generate, [flags](const std::string& data_flag) {
                    require(flags->id, "--id");
                    require(flags->environment, "--ambiente");
                    const Environment env = must(parse_environment(flags->environment));
                    Session s = open_session(data_flag, false);
                    service::AccountService accounts(s.dir->store(), s.dir->config());
                    service::NewApiPassword made =
                        must(accounts.generate_api_password(flags->id, env, actor()));
                    std::cout << "Usuario: " << made.username
                              << "\nContraseña: " << made.password.view() << "\n";
                    return 0;
                  }}};
}

}  // namespace llavero::cli
