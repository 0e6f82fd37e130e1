// The correo to the receptor (docs/herramienta.md, "El correo al receptor"):
// once a comprobante the Herramienta Gratuita emitted is aceptado and its
// signed XML names a Receptor/CorreoElectronico, the signed XML
// (<clave>.xml), Hacienda's MensajeHacienda (<clave>-respuesta.xml) and the
// PDF (<clave>.pdf, service/pdf_invoice.h) are sent there through the SMTP
// server of llavero.conf (service/smtp.h).
//
// The store makes the comprobante pending in the transaction that makes it
// aceptado (migration 9), so a rechazado one is never sent and a restart
// loses nothing. deliver_due runs on a worker of the server, never an I/O
// thread: an attempt that fails (the SMTP server answers 4xx or 5xx, or
// cannot be reached) is retried correo_reintentos times, waiting
// correo_espera_segundos, then twice that, …, then given up. Every attempt
// is stored and shown on the comprobante's page, where the emisor can ask to
// send it again. Without an SMTP server configured nothing is sent.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "service/config.h"
#include "service/emission.h"
#include "service/smtp.h"
#include "store/store.h"

namespace llavero::service {

// What a comprobante's page says about its correo.
struct MailStatus {
  bool configured = false;         // an SMTP server is configured
  std::string to;                  // the receptor's correo in the signed XML; empty: none
  std::optional<MailRecord> mail;  // none: never pending (not aceptado, rechazado)
  std::vector<MailAttempt> attempts;
  // Why "Enviar de nuevo" cannot be used now (in Spanish); empty: it can.
  std::string cannot_send;
};

class ComprobanteMailer {
 public:
  // `smtp_password` is correo_contrasena_archivo's content (empty without a user).
  ComprobanteMailer(Store& store, const Config& config, EmissionService& emission,
                    SecretString smtp_password);

  // Sends the correos that are due; returns how many attempts were made.
  // One caller at a time: a second caller returns 0 at once.
  Result<int> deliver_due();

  // The correo of `doc` (a document the caller may show: service
  // EmissionService::document(emisor, clave)).
  Result<MailStatus> status(const EmittedDocument& doc);

  // "Enviar de nuevo": the emisor's comprobante is pending again, due now,
  // with a fresh budget of retries. Error "correo_no_disponible" (with the
  // reason) when it cannot be sent: not the emisor's, no SMTP server, no
  // receptor correo, not aceptado, or already on its way.
  Status send_again(const TaxpayerRecord& emisor, const std::string& clave,
                    const std::string& actor);

  // The message of an aceptado comprobante: subject and body in Spanish
  // naming it, and its three attachments.
  Result<MailMessage> message(const EmittedDocument& doc);

 private:
  Store& store_;
  const Config& config_;
  EmissionService& emission_;
  SmtpSender smtp_;
  std::mutex busy_;
};

}  // namespace llavero::service
