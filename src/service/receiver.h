// The Herramienta Gratuita's Recibidos (docs/herramienta.md): the
// comprobantes received by this reception where the taxpayer is the
// receptor, and their answer. Aceptar, aceptar parcialmente or rechazar one
// makes a MensajeReceptor v4.4 (Mensaje 1, 2 or 3) numbered with its own
// consecutivo (tipo 05, 06, 07), checked against the official schema, signed
// with the key kept in custody (service/custody.h) and submitted to the
// reception of the same environment as an integrator's POST with clave and
// consecutivoReceptor would be.
//
// Only a document Hacienda accepted is answered, and only once; bad input,
// a document that is not the taxpayer's or not yet accepted, a second answer
// or no key in custody number, sign and send nothing.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "service/emission.h"

namespace llavero::service {

// The receptor's answer: MensajeReceptor's Mensaje 1, 2 or 3.
enum class ReceptorDecision { kAceptar = 1, kAceptarParcial = 2, kRechazar = 3 };
// The form's values: "aceptar", "parcial", "rechazar".
std::optional<ReceptorDecision> parse_receptor_decision(std::string_view value);
// "aceptado", "aceptado parcialmente", "rechazado": what the taxpayer answered.
std::string_view receptor_decision_label(ReceptorDecision decision);

// A comprobante received where the taxpayer is the receptor, with what its
// XML says and the taxpayer's answer, if any.
struct ReceivedDocument {
  ComprobanteRecord record;  // as the reception keeps it (clave, state, XML)
  std::string tipo;          // the clave's document type, "01"
  std::string consecutivo;   // NumeroConsecutivo
  std::string emisor_nombre, emisor_identificacion;
  std::string fecha_emision;            // FechaEmision as written
  std::string total, impuesto, moneda;  // TotalComprobante, TotalImpuesto, CodigoMoneda
  // The MensajeReceptor sent, with Hacienda's verdict on it.
  std::optional<EmittedDocument> answer;
  std::optional<ReceptorDecision> decision;  // the answer's Mensaje
  std::string answer_detalle;                // the answer's DetalleMensaje (the reason)

  // Only a document Hacienda accepted is answered, once.
  bool can_answer() const;
};

struct ReceivedPage {
  std::vector<ReceivedDocument> items;
  std::int64_t total = 0;
};

// The form: which document, what answer, and the reason (DetalleMensaje),
// required for a partial acceptance and a rejection.
struct AnswerInput {
  Environment environment = Environment::kPruebas;
  std::string clave;
  std::string decision;  // "aceptar", "parcial", "rechazar"
  std::string detalle;
};

class ReceiverService {
 public:
  ReceiverService(Store& store, const Config& config, KeyCustody& custody,
                  ReceptionService& reception, const xml::SchemaValidator& schemas,
                  EmissionService& emission);

  // The comprobantes of `env` whose receptor is `receptor`, newest first.
  Result<ReceivedPage> received(const TaxpayerRecord& receptor, Environment env,
                                std::int64_t offset, std::int64_t limit);
  // One of them by clave; none when it does not exist, is of another
  // environment or someone else is its receptor.
  Result<std::optional<ReceivedDocument>> document(const TaxpayerRecord& receptor, Environment env,
                                                   const std::string& clave);

  // What is wrong with the form's fields ("decision", "detalle").
  std::vector<FieldError> check(const AnswerInput& input) const;

  // Answers a received document. Errors: "dato_invalido" with `errors`
  // filled; "comprobante_desconocido" (not the taxpayer's, or none);
  // "comprobante_no_aceptado"; "ya_respondido"; "sin_llave_custodia". In
  // every case nothing is numbered, signed or sent.
  Result<Emission> answer(const TaxpayerRecord& receptor, const AnswerInput& input,
                          std::vector<FieldError>& errors, const std::string& actor);

 private:
  Result<ReceivedDocument> describe(const TaxpayerRecord& receptor, ComprobanteRecord record);

  Store& store_;
  const Config& config_;
  KeyCustody& custody_;
  ReceptionService& reception_;
  const xml::SchemaValidator& schemas_;
  EmissionService& emission_;
};

}  // namespace llavero::service
