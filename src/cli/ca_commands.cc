// `llavero ca renovar|aprobar|estado`: rolling an issuing CA over to a new
// generation, with two administrators (service/ca_lifecycle.h).
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "service/ca_lifecycle.h"
#include "service/token_service.h"
#include "util/clock.h"
#include "util/files.h"

namespace llavero::cli {

namespace {

std::string day(UnixSeconds t) {
  return format_utc(t).substr(0, 10);
}

}  // namespace

std::vector<Command> add_ca_commands(CLI::App& app) {
  struct Flags {
    std::string environment, ca, operator_name;
    std::int64_t request_id = 0;
  };
  auto flags = std::make_shared<Flags>();
  auto* ca = app.add_subcommand("ca", "Generaciones y renovación de las CA emisoras");
  ca->require_subcommand(1);
  auto* renew = ca->add_subcommand(
      "renovar", "Solicita una nueva generación de una CA emisora (otro administrador la aprueba)");
  renew->add_option("--ambiente", flags->environment, "produccion o pruebas");
  renew->add_option("--ca", flags->ca,
                    "pf (persona física), pj (persona jurídica) o token (la llave que firma los "
                    "tokens del API)");
  renew->add_option("--operador", flags->operator_name, "Administrador que la solicita");
  auto* approve = ca->add_subcommand(
      "aprobar", "Aprueba y ejecuta una renovación solicitada por otro administrador");
  approve->add_option("numero", flags->request_id, "Número de la solicitud")->required();
  approve->add_option("--operador", flags->operator_name, "Administrador que aprueba");
  auto* status =
      ca->add_subcommand("estado", "Lista las generaciones de las CA y las renovaciones");

  // The two administrators are operator accounts (`llavero operador crear
  // --rol administrador`).
  auto lifecycle = [](Session& s) {
    return service::CaLifecycle(s.dir->store(), *s.keyring, s.dir->config(),
                                service::active_administrators(s.dir->store()));
  };

  return {
      Command{renew,
              [flags, lifecycle](const std::string& data_flag) {
                require(flags->environment, "--ambiente");
                require(flags->ca, "--ca");
                require(flags->operator_name, "--operador");
                const Environment env = must(parse_environment(flags->environment));
                if (flags->ca == "token") {
                  // Not a CA: a new token key is undone by the next one, so
                  // it takes one operator, at once.
                  Session s = open_session(data_flag, true);
                  const std::string kid = must(service::TokenService::roll_over_key(
                      s.dir->store(), *s.keyring, env, "operador:" + flags->operator_name));
                  std::cout << fmt::format(
                      "Llave nueva de los tokens de {} (kid {}). Los servidores firman con ella "
                      "al reiniciarse; la anterior sigue en el JWKS y sus tokens siguen "
                      "valiendo.\n",
                      environment_name(env), kid);
                  return 0;
                }
                const CaKind kind = must(parse_ca_kind(flags->ca));
                Session s = open_session(data_flag, false);
                const std::int64_t id = must(lifecycle(s).request(env, kind, flags->operator_name));
                std::cout << fmt::format(
                    "Renovación {} de la CA {} de {} solicitada por {}. Otro administrador debe "
                    "aprobarla: llavero ca aprobar {} --operador NOMBRE\n",
                    id, ca_kind_name(kind), environment_name(env), flags->operator_name, id);
                return 0;
              }},
      Command{approve,
              [flags, lifecycle](const std::string& data_flag) {
                require(flags->operator_name, "--operador");
                Session s = open_session(data_flag, true);
                const service::CaGeneration made =
                    must(lifecycle(s).approve(flags->request_id, flags->operator_name));
                // Beside the certificates `init` exported.
                const auto pem_path =
                    s.dir->path() / "ca" / std::string(environment_name(made.environment)) /
                    fmt::format("{}-g{}.pem", ca_kind_name(made.kind), made.generation);
                must(write_file_atomically(pem_path, made.certificate_pem, 0644));
                std::cout << fmt::format(
                    "CA {} de {}, generación {}: {} (válida hasta {}).\nLos certificados nuevos "
                    "se emiten con ella cuando se reinicien los servidores; las generaciones "
                    "anteriores siguen respondiendo OCSP y publicando su CRL.\n",
                    ca_kind_name(made.kind), environment_name(made.environment), made.generation,
                    made.subject, day(made.not_after));
                std::cout << pem_path.string() << "\n";
                return 0;
              }},
      Command{status, [lifecycle](const std::string& data_flag) {
                Session s = open_session(data_flag, false);
                auto service = lifecycle(s);
                std::cout << "Generaciones de las CA:\n";
                for (const service::CaGeneration& g : must(service.generations()))
                  std::cout << fmt::format("  {:<10} {:<4} g{}  {}  {} a {}{}\n",
                                           environment_name(g.environment), ca_kind_name(g.kind),
                                           g.generation, g.subject, day(g.not_before),
                                           day(g.not_after), g.issuing ? "  (emite)" : "");
                auto rollovers = must(service.rollovers());
                std::cout << "Renovaciones:\n";
                if (rollovers.empty()) std::cout << "  (ninguna)\n";
                for (const RolloverRecord& r : rollovers)
                  std::cout << fmt::format("  {}  {} {}  solicitada por {} el {}  {}\n", r.id,
                                           environment_name(r.environment), ca_kind_name(r.kind),
                                           r.requested_by, format_utc(r.requested_at),
                                           r.approved_by.empty()
                                               ? std::string("pendiente de aprobación")
                                               : fmt::format("aprobada por {} el {}", r.approved_by,
                                                             format_utc(r.approved_at)));
                return 0;
              }}};
}

}  // namespace llavero::cli
