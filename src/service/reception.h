// The reception API (docs/api.md): POST …/recepcion takes a signed comprobante
// with its JSON envelope, checks what can be checked at once (token, JSON,
// clave, emisor) and answers 202 with a Location, or 400 with X-Error-Cause.
// Each comprobante is then processed on its own (recibido → procesando →
// aceptado | rechazado) and GET …/recepcion/{clave} reports its state and,
// once decided, the signed MensajeHacienda. State lives in the store, so a
// restart loses nothing that was answered 202.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "service/token_service.h"
#include "store/store.h"

namespace llavero::service {

// The sentence every answer of the pruebas environment carries (docs/api.md).
inline constexpr std::string_view kSandboxNotice =
    "Este comprobante fue recibido en el ambiente de pruebas, por lo cual no tiene validez para "
    "fines tributarios.";

struct ReceptionAnswer {
  unsigned status = 200;
  std::map<std::string, std::string> headers;
  std::string body;  // JSON, possibly empty
};

// The outcome of processing one comprobante: the MensajeHacienda to store.
struct ProcessingResult {
  bool accepted = false;
  Bytes mensaje_hacienda;  // signed XML
};

class ReceptionService {
 public:
  ReceptionService(Store& store, const TokenService& tokens, const Config& config);

  ReceptionAnswer receive(Environment env, std::string_view authorization, std::string_view body);
  ReceptionAnswer query(Environment env, std::string_view authorization, const std::string& clave);

  // Takes one waiting comprobante, if any, runs `process` on it and records
  // the answer. Returns whether there was one. For a worker-pool timer.
  using Processor = std::function<Result<ProcessingResult>(const ComprobanteRecord&)>;
  Result<bool> process_next(const Processor& process);
  // Puts back in the queue what a stopped server was deciding, at start-up.
  Status requeue_unfinished();

  // The path of the reception endpoint of an environment.
  static std::string_view path(Environment env);

 private:
  Result<std::int64_t> caller_taxpayer(const ApiCaller& caller);

  Store& store_;
  const TokenService& tokens_;
  const Config& config_;
};

// Text fit for an HTTP header: Spanish accents folded to ASCII.
std::string header_safe(std::string_view text);

}  // namespace llavero::service
