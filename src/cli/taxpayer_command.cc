// `llavero contribuyente crear`: registers a taxpayer, optionally with the
// portal password read from stdin (never from argv).
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/prompt.h"
#include "service/accounts.h"
#include "util/error_codes.h"

namespace llavero::cli {

std::vector<Command> add_taxpayer_commands(CLI::App& app) {
  struct Flags {
    service::NewTaxpayerRequest taxpayer;
    bool if_missing = false;
    bool password_stdin = false;
  };
  auto flags = std::make_shared<Flags>();
  auto* taxpayer = app.add_subcommand("contribuyente", "Contribuyentes");
  taxpayer->require_subcommand(1);
  auto* create = taxpayer->add_subcommand("crear", "Registra un contribuyente");
  create->add_option("--id", flags->taxpayer.identification,
                     "Identificación (1-0647-0958, 3-101-522899, ...)");
  create->add_option("--nombre", flags->taxpayer.nombre,
                     "Nombre, o razón social de una persona jurídica");
  create->add_option("--apellidos", flags->taxpayer.apellidos,
                     "Apellidos (personas físicas, DIMEX, NITE)");
  create->add_option("--correo", flags->taxpayer.correo, "Correo electrónico");
  create->add_flag("--si-no-existe", flags->if_missing,
                   "No es un error que la identificación ya esté registrada");
  create->add_flag(
      "--contrasena-stdin", flags->password_stdin,
      "Lee de la entrada estándar la contraseña del portal (una línea, 8 caracteres o más)");

  return {Command{
      create, [flags](const std::string& data_flag) {
        const auto& request = flags->taxpayer;
        require(request.identification, "--id");
        require(request.nombre, "--nombre");
        Session s = open_session(data_flag, false);
        std::optional<SecretString> password;
        if (flags->password_stdin) {
          TypedPin typed = must(read_pin_from_stdin());  // one line, never argv
          password = std::move(typed.pin);
          if (password->size() < service::kMinPortalPasswordLength)
            fail(errc::kContrasenaInvalida,
                 fmt::format("La contraseña debe tener al menos {} caracteres.",
                             service::kMinPortalPasswordLength));
        }
        auto made = s.keys->create_taxpayer(request, actor());
        if (!made && flags->if_missing && made.error().code == errc::kContribuyenteDuplicado) {
          std::cout << made.error().message << "\n";
          return 0;
        }
        TaxpayerRecord t = must(std::move(made));
        if (password) {
          service::AccountService accounts(s.dir->store(), s.dir->config());
          must(accounts.set_portal_password(t.identification, *password, actor()));
        }
        auto parsed = must(Identification::parse(t.identification));
        std::cout << fmt::format("Contribuyente registrado: {} {} ({})\n", parsed.printed(),
                                 t.apellidos.empty() ? t.nombre : t.nombre + " " + t.apellidos,
                                 id_type_name(parsed.type()));
        return 0;
      }}};
}

}  // namespace llavero::cli
