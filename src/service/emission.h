// The Herramienta Gratuita's emission (docs/herramienta.md): from what a
// taxpayer types in the portal, a complete comprobante v4.4 (factura,
// tiquete, nota de crédito or de débito, factura electrónica de compra), with every amount computed
// by service/totals.h (the rule the reception checks them with), a consecutivo without gaps, the
// clave, a check against the official schema, the signature with the key kept in custody
// (service/custody.h), and the submission to the reception of the same environment, as an
// integrator's POST would be, without HTTP.
//
// Bad input is refused field by field before anything is numbered, signed
// or sent.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "id/identification.h"
#include "service/config.h"
#include "service/custody.h"
#include "service/reception.h"
#include "store/store.h"
#include "xml/schema.h"

namespace llavero::service {

// The sucursal and terminal of every consecutivo the tool gives (each
// document type, and each kind of MensajeReceptor, has its own counter).
inline constexpr std::string_view kToolSucursal = "001";
inline constexpr std::string_view kToolTerminal = "00001";

// kFacturaCompra: the taxpayer buys from a seller who does not invoice
// electronically (Régimen Especial) and issues the comprobante as the buyer.
enum class DocumentKind { kFactura, kNotaDebito, kNotaCredito, kTiquete, kFacturaCompra };
std::string_view document_tipo(DocumentKind kind);  // "01", "02", "03", "04", "08"
std::optional<DocumentKind> parse_document_tipo(std::string_view tipo);

// One line as typed; a line whose fields are all empty is left out.
struct LineInput {
  std::string cabys;  // 13 digits
  std::string detalle;
  std::string cantidad;  // positive, at most 3 decimals
  std::string unidad = "Unid";
  std::string precio_unitario;
  std::string descuento;             // empty or 0: none
  std::string naturaleza_descuento;  // required with a discount
  std::string tarifa = "08";         // CodigoTarifaIVA
  bool empty() const;
};

struct EmissionInput {
  Environment environment = Environment::kPruebas;
  DocumentKind kind = DocumentKind::kFactura;
  std::string actividad = "620100";  // CodigoActividadEmisor
  // The emisor's address and e-mail, which the schema requires.
  std::string provincia = "1", canton = "01", distrito = "01", otras_senas, correo;
  // Required for a factura; optional otherwise; not used in a factura de compra.
  std::string receptor_identificacion, receptor_nombre, receptor_correo;
  // Factura de compra only, and required there: the seller, who goes in the
  // XML's Emisor (the taxpayer, who buys, issues and signs, is its Receptor).
  std::string proveedor_identificacion, proveedor_nombre, proveedor_correo;
  std::string condicion_venta = "01";
  std::string medio_pago = "01";
  std::string moneda = "CRC";
  std::string tipo_cambio;  // required unless CRC
  // Notas: the clave of the document referred to, the code and the reason.
  std::string referencia_clave, referencia_codigo = "01", referencia_razon;
  std::vector<LineInput> lines;
};

// A field that is wrong: `field` names the form's field ("receptor_identificacion",
// "linea2_cabys"), `message` says what is wrong, in Spanish.
struct FieldError {
  std::string field;
  std::string message;
};

// The rules of a line's fields that a saved producto (service/tool_lists.h)
// shares, one function each: what is wrong, as the end of a sentence ("el
// código CABYS tiene 13 dígitos."), or nothing.
std::optional<std::string> cabys_problem(std::string_view cabys);
std::optional<std::string> detalle_problem(std::string_view detalle);
std::optional<std::string> unidad_problem(std::string_view unidad);
std::optional<std::string> precio_problem(std::string_view precio);
std::optional<std::string> tarifa_problem(std::string_view tarifa);

// The rules of a receptor's identification, name and e-mail, which a saved
// cliente shares: errors on the fields "<prefix>identificacion",
// "<prefix>nombre" and "<prefix>correo"; `who` names the party in the
// messages ("receptor", "cliente").
std::vector<FieldError> check_party(std::string_view identificacion, std::string_view nombre,
                                    std::string_view correo, std::string_view prefix,
                                    std::string_view who);
// An identification that parses but is not of the type chosen beside it
// (`tipo`: "01".."04"; empty: none chosen).
std::optional<std::string> identification_type_problem(std::string_view tipo,
                                                       std::string_view identificacion);

struct Emission {
  EmittedRecord record;
  // The reception's answer: 202 when received, else its status and cause.
  unsigned reception_status = 0;
  std::string reception_cause;
};

// One emitted comprobante with what the reception decided on it.
struct EmittedDocument {
  EmittedRecord record;
  std::optional<ComprobanteState> state;  // none: not received
  Bytes mensaje_hacienda;                 // empty until decided
  std::string detalle;                    // its DetalleMensaje: why, when rechazado
};

struct EmittedDocumentPage {
  std::vector<EmittedDocument> items;
  std::int64_t total = 0;
};

// The search of Comprobantes emitidos as typed in its GET form: the
// receptor's name or identification (in a factura de compra, the
// proveedor's), the first and last dates in Costa Rica's calendar
// (AAAA-MM-DD, both included) and the state ("aceptado", …, "no recibido").
// Each may be empty.
struct EmittedSearch {
  std::string receptor, desde, hasta, estado;
};
// The filter it means, or what is wrong with it, field by field.
struct ParsedSearch {
  EmittedFilter filter;
  std::vector<FieldError> errors;
};
ParsedSearch parse_search(const EmittedSearch& search);

// The state of an emitted document as the tool shows it (page and PDF):
// the reception's name for it, or "no recibido" before the reception has it.
std::string_view emitted_state_label(const std::optional<ComprobanteState>& state);
// The DetalleMensaje of a MensajeHacienda, as a person reads it.
std::string hacienda_detalle(const Bytes& mensaje_hacienda);
// "Factura electrónica", … for a document type's two digits (the clave's).
std::string_view document_kind_label(std::string_view tipo);

// What emission and Recibidos (service/receiver.h) share. sign_checked
// signs `xml` with the key in custody and checks the signed document
// against the official schema, so that a program error is caught before a
// number is spent (`what` names the document in the error).
// submit_to_reception hands a signed `record` to the reception of its
// environment as `sender`'s POST of `envelope_json` would be.
Result<std::string> sign_checked(const KeyCustody& custody, const CustodyRecord& key,
                                 std::string_view xml, const xml::SchemaValidator& schemas,
                                 std::string_view what);
Emission submit_to_reception(ReceptionService& reception, const Config& config,
                             const TaxpayerRecord& sender, const Identification& sender_id,
                             EmittedRecord record, const std::string& envelope_json);

class EmissionService {
 public:
  EmissionService(Store& store, const Config& config, KeyCustody& custody,
                  ReceptionService& reception, const xml::SchemaValidator& schemas);

  // What is wrong with `input`, field by field; empty when nothing is.
  std::vector<FieldError> check(const EmissionInput& input) const;

  // Emits a comprobante for `emisor`. Error "dato_invalido" with `errors`
  // filled when the input is wrong; "sin_llave_custodia" when the taxpayer
  // has no key kept for automatic signing in that environment. In both cases
  // nothing is numbered, signed or sent.
  Result<Emission> emit(const TaxpayerRecord& emisor, const EmissionInput& input,
                        std::vector<FieldError>& errors, const std::string& actor);

  // The comprobantes `emisor` emitted in `env` that match `filter`, newest
  // first, each with the reception's verdict (one query).
  Result<EmittedDocumentPage> emitted(const TaxpayerRecord& emisor, Environment env,
                                      const EmittedFilter& filter, std::int64_t offset,
                                      std::int64_t limit);
  // A comprobante of `emisor` by clave, with the reception's verdict; none
  // when it does not exist or is someone else's.
  Result<std::optional<EmittedDocument>> document(const TaxpayerRecord& emisor,
                                                  const std::string& clave);
  // The same whoever emitted it: for the server's own work (the correo to
  // the receptor, service/mailer.h), never to answer a taxpayer.
  Result<std::optional<EmittedDocument>> document(const std::string& clave);

 private:
  Store& store_;
  const Config& config_;
  KeyCustody& custody_;
  ReceptionService& reception_;
  const xml::SchemaValidator& schemas_;
};

}  // namespace llavero::service
