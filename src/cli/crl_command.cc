// `llavero crl`: writes the current CRL of one issuing CA to a file.
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "service/publication.h"
#include "util/clock.h"
#include "util/error_codes.h"
#include "util/files.h"

namespace llavero::cli {

std::vector<Command> add_crl_command(CLI::App& app) {
  struct Flags {
    std::string environment, ca, output;
    int generation = 0;
  };
  auto flags = std::make_shared<Flags>();
  auto* crl = app.add_subcommand("crl", "Escribe la CRL vigente de una CA emisora");
  crl->add_option("--ambiente", flags->environment, "produccion o pruebas");
  crl->add_option("--ca", flags->ca, "pf (persona física) o pj (persona jurídica)");
  crl->add_option("--salida", flags->output, "Archivo DER donde escribir la CRL");
  crl->add_option("--generacion", flags->generation,
                  "Generación de la CA (por omisión la que emite; ver 'llavero ca estado')");
  return {Command{
      crl, [flags](const std::string& data_flag) {
        require(flags->environment, "--ambiente");
        require(flags->ca, "--ca");
        require(flags->output, "--salida");
        const Environment env = must(parse_environment(flags->environment));
        const CaKind kind = must(parse_ca_kind(flags->ca));
        if (kind == CaKind::kRoot)
          fail(errc::kCaInvalida, "La raíz no emite certificados de contribuyentes: use pf o pj.");
        Session s = open_session(data_flag, true);
        auto ca = must(s.keyring->unlocked(env, kind));
        if (flags->generation > 0) {
          bool found = false;
          for (const auto& g : must(s.keyring->generations(env, kind)))
            if (g.authority->generation == flags->generation) {
              ca = g;
              found = true;
            }
          if (!found)
            fail(errc::kCaDesconocida, fmt::format("La CA {} no tiene la generación {}.",
                                                   ca_kind_name(kind), flags->generation));
        }
        Bytes der = must(service::build_current_crl(s.dir->store(), ca.authority_id, *ca.authority,
                                                    now_seconds(),
                                                    s.dir->config().crl_validity_days * 86400));
        must(write_file_atomically(
            flags->output,
            std::string_view(reinterpret_cast<const char*>(der.data()), der.size())));
        std::cout << flags->output << "\n";
        return 0;
      }}};
}

}  // namespace llavero::cli
