// `llavero init`: creates the data directory with the CAs of both
// environments, or keeps an existing one.
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "cli/common.h"
#include "util/error_codes.h"

namespace llavero::cli {

std::vector<Command> add_init_command(CLI::App& app) {
  struct Flags {
    std::string base_url, config_file, database, pkcs11;
  };
  auto flags = std::make_shared<Flags>();
  auto* init =
      app.add_subcommand("init", "Crea el directorio de datos con las CA de ambos ambientes");
  init->add_option("--url-base", flags->base_url, "URL pública impresa en los certificados");
  init->add_option("--config", flags->config_file,
                   "Archivo llavero.conf con los valores a usar (nombres de las CA, URL, ...)");
  init->add_option("--db", flags->database,
                   "Almacén: una URL postgresql://… de una base PostgreSQL 15 existente y vacía "
                   "(por omisión, SQLite en el directorio de datos); queda como db en "
                   "llavero.conf");
  init->add_option("--pkcs11", flags->pkcs11,
                   "Token PKCS#11 donde generar y guardar las llaves de las CA (URI RFC 7512, "
                   "p. ej. 'pkcs11:token=llavero?module-path=/usr/lib/softhsm/libsofthsm2.so'); "
                   "el PIN va en LLAVERO_PKCS11_PIN o en el archivo de pin-source, nunca en la "
                   "línea de órdenes. Queda como pkcs11 en llavero.conf");
  return {Command{init, [flags](const std::string& data_flag) {
                    app::InitOptions options;
                    if (!flags->config_file.empty()) {
                      std::ifstream in(flags->config_file);
                      if (!in)
                        fail(errc::kConfigInvalida,
                             fmt::format("No se pudo leer {}.", flags->config_file));
                      std::ostringstream text;
                      text << in.rdbuf();
                      options.config = must(service::parse_config(text.str()));
                    }
                    if (!flags->base_url.empty()) options.config.base_url = flags->base_url;
                    if (!flags->database.empty()) options.config.database = flags->database;
                    if (!flags->pkcs11.empty()) options.config.pkcs11 = flags->pkcs11;
                    options.actor = actor();
                    app::InitReport report =
                        must(app::initialize_data_dir(app::default_data_path(data_flag), options));
                    for (const auto& line : report.lines) std::cout << line << "\n";
                    return 0;
                  }}};
}

}  // namespace llavero::cli
