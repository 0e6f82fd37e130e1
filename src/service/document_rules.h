// The rules Hacienda applies to a comprobante's content besides its schema
// and signature (docs/recepcion.md, part 4), each switched by a setting and
// on by default: the clave matches the document (type, Costa Rica date,
// emisor, consecutivo), the consecutivo is not another comprobante's (-99),
// FechaEmision within the allowed window, totals
// recomputed from the lines (service/totals.h), a nota references a
// document (of the same emisor when that document was received here), a
// MensajeReceptor matches the document it answers. Each failure is a
// HaciendaError with the code of detalle_mensaje.h.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "service/config.h"
#include "service/detalle_mensaje.h"
#include "store/store.h"

struct _xmlNode;

namespace llavero::service {

// The code of the document type in a consecutivo ("01" factura, … "10"
// recibo de pago; 05–07 the receptor's messages), from the root element's
// local name; empty when it is none of them.
std::string document_type_code(std::string_view root_name);

// Who issues a document: the XML Emisor, except for FacturaElectronicaCompra,
// which the buyer (its XML Receptor) issues and signs about a supplier.
// `issuer` and `other` name those two elements.
struct Parties {
  std::string_view issuer, other;
};
Parties parties(const _xmlNode* root);
std::string issuer_identification(const _xmlNode* root);

struct RuleOutcome {
  std::vector<HaciendaError> errors;
  std::optional<std::string> referencia;  // the clave a nota references
};

// The rules' errors, or the store's error when a rule could not look up
// what it needs (the referenced document, another use of the consecutivo,
// the document a MensajeReceptor answers): a comprobante is never decided
// on an unanswered lookup, it waits for the next try (docs/recepcion.md).
Result<RuleOutcome> apply_document_rules(const ComprobanteRecord& c, const _xmlNode* root,
                                         Store& store, const Config& config, UnixSeconds now);

}  // namespace llavero::service
