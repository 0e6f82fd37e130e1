// `llavero recepcion estado --clave C`: a comprobante's state and every
// attempt to deliver its callback; `llavero recepcion limpiar --ambiente
// pruebas`: empties the sandbox's comprobantes, as Hacienda may empty its own
// sandbox at any time (docs/recepcion.md). Producción is never emptied.
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "service/reception.h"

namespace llavero::cli {

namespace {

std::string_view callback_state_text(CallbackState s) {
  switch (s) {
    case CallbackState::kNinguno: return "sin callbackUrl";
    case CallbackState::kPendiente: return "pendiente";
    case CallbackState::kEntregado: return "entregado";
    case CallbackState::kAbandonado: return "abandonado";
  }
  return "";
}

}  // namespace

std::vector<Command> add_reception_commands(CLI::App& app) {
  auto* reception = app.add_subcommand("recepcion", "Comprobantes recibidos por la API");
  reception->require_subcommand(1);

  auto* status = reception->add_subcommand("estado", "Estado de un comprobante y de su callback");
  auto clave = std::make_shared<std::string>();
  status->add_option("--clave", *clave, "Clave (o clave-consecutivoReceptor)")->required();

  auto* purge =
      reception->add_subcommand("limpiar", "Vacía los comprobantes del ambiente de pruebas");
  auto ambiente = std::make_shared<std::string>();
  purge->add_option("--ambiente", *ambiente, "Solo: pruebas")->required();

  return {
      Command{status,
              [clave](const std::string& data_flag) {
                Session s = open_session(data_flag, false);
                Store& store = s.dir->store();
                auto found = must(store.find_comprobante(*clave));
                if (!found) {
                  std::cerr << fmt::format("No hay un comprobante con clave {}.\n", *clave);
                  return 1;
                }
                std::cout << fmt::format(
                    "Clave: {}\nAmbiente: {}\nEstado: {}\nRecibido: {}\nCallback: {}{}\n",
                    found->clave, environment_label(found->environment),
                    service::state_name(found->state), format_utc(found->received_at),
                    callback_state_text(found->callback_state),
                    found->callback_url ? fmt::format(" ({})", *found->callback_url) : "");
                for (const CallbackAttempt& a : must(store.callback_attempts(*clave)))
                  std::cout << fmt::format("  intento {}: {} {}{}\n", a.number, format_utc(a.at),
                                           a.status == 0 ? std::string("sin respuesta")
                                                         : fmt::format("HTTP {}", a.status),
                                           a.error.empty() ? "" : " — " + a.error);
                if (found->callback_state == CallbackState::kPendiente)
                  std::cout << fmt::format("  siguiente intento: {}\n",
                                           format_utc(found->callback_next));
                return 0;
              }},
      Command{
          purge, [ambiente](const std::string& data_flag) {
            if (*ambiente != "pruebas") {
              std::cerr << "Solo el ambiente de pruebas se puede limpiar "
                           "(--ambiente pruebas).\n";
              return 2;
            }
            Session s = open_session(data_flag, false);
            const std::int64_t n = must(s.dir->store().purge_comprobantes(Environment::kPruebas));
            std::cout << fmt::format("Se eliminaron {} comprobantes del ambiente de pruebas.\n", n);
            return 0;
          }}};
}

}  // namespace llavero::cli
