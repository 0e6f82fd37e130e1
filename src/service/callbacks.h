// Callbacks of the reception (docs/recepcion.md, "callbackUrl"): when a
// comprobante reaches its final state, the JSON of GET …/recepcion/{clave}
// is POSTed to the callbackUrl of its envelope with libcurl. An answer 200
// ends it; any other answer, a timeout or a connection error is retried
// `callback_reintentos` times with growing delays (callback_espera_segundos,
// doubled each time), then given up. Redirects are not followed. Every
// attempt is stored (`llavero recepcion estado --clave C` shows them) and
// logged; the pending ones are in the store, so they survive a restart.
#pragma once

#include <mutex>
#include <string>

#include "service/config.h"
#include "store/store.h"

namespace llavero::service {

// Whether a callbackUrl may be used in `env`: http(s) only; in pruebas any
// host (integrators test on localhost); in producción a host that resolves
// to a private, loopback or link-local address only when it is listed in
// callback_destinos_permitidos.
Status callback_destination_allowed(const std::string& url, Environment env, const Config& config);

class CallbackSender {
 public:
  CallbackSender(Store& store, const Config& config);

  // Sends the callbacks that are due; returns how many attempts were made.
  // One caller at a time: a second caller returns 0 at once.
  Result<int> deliver_due();

 private:
  // One POST: the HTTP status (0 when none came) and the error text.
  std::pair<int, std::string> post(const ComprobanteRecord& c);

  Store& store_;
  const Config& config_;
  std::mutex busy_;
};

}  // namespace llavero::service
