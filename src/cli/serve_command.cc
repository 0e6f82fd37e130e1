// `llavero serve`: the server assembled by app::Application, until SIGTERM.
#include <spdlog/spdlog.h>

#include <iostream>

#include "app/application.h"
#include "app/data_dir.h"
#include "cli/commands.h"
#include "cli/common.h"

namespace llavero::cli {

std::vector<Command> add_serve_command(CLI::App& app) {
  auto options = std::make_shared<app::ServeOptions>();
  auto* serve = app.add_subcommand("serve", "Sirve CRL, OCSP, certificados de las CA y el portal");
  serve->add_option("--listen", options->listen, "Dirección y puerto, p. ej. 127.0.0.1:8080");
  serve->add_option("--tls-cert", options->tls_certificate, "Certificado TLS (PEM, con su cadena)");
  serve->add_option("--tls-key", options->tls_private_key, "Llave privada TLS (PEM)");
  serve->add_option("--metricas", options->metrics_listen,
                    "Dirección y puerto de un segundo puerto que solo sirve GET /metrics "
                    "(Prometheus), p. ej. 127.0.0.1:9464; sin esta opción no se sirven");
  serve->add_flag("--registro-json", options->json_logs,
                  "Cada línea del registro como un objeto JSON (hora, nivel, registro, mensaje)");
  serve
      ->add_option("--baseline-bytes", options->baseline_bytes,
                   "Solo para medir: GET /_baseline responde N bytes fijos desde memoria")
      ->group("");
  return {Command{serve, [options](const std::string& data_flag) {
                    auto server =
                        must(app::Application::open(app::default_data_path(data_flag), *options));
                    // With --registro-json every line the server writes is
                    // JSON, these two included (spdlog writes to standard output).
                    auto say = [&options](const std::string& line) {
                      if (options->json_logs)
                        spdlog::info("{}", line);
                      else
                        std::cout << line << std::endl;
                    };
                    say(server->banner());
                    server->run();
                    say("llavero detenido.");
                    return 0;
                  }}};
}

}  // namespace llavero::cli
