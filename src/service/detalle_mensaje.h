// The DetalleMensaje of a MensajeHacienda in the shape Hacienda writes it,
// and the one table of the error codes llavero puts in it. Integrators'
// code reads these lines (`codigo, mensaje, fila, columna`), so the shape
// and the codes follow what public clients have received from Hacienda;
// each code cites where it was seen (docs/recepcion.md has the same table).
#pragma once

#include <string>
#include <vector>

#include "id/environment.h"

namespace llavero::service {

// The codes. Hacienda publishes no list; these are the ones seen in answers
// that public clients quote.
namespace codigo {
// Schema validation, with libxml2's line and column. Seen in
// CRLibre/API_Hacienda#90 and #53, odoocr/l10n_cr#216,
// CRLibre/fe-hacienda-cr-odoo#74.
inline constexpr int kEsquema = -1;
// A rule on the document's content other than the schema: Hacienda answers
// -1 with its own sentence ("El tipo de documento no corresponde.",
// johann04/xades-signer-cr#6). llavero uses it for the signature, the clave,
// totals, references and the MensajeReceptor checks: no other code for them
// appears in any public source found (docs/recepcion.md).
inline constexpr int kContenido = -1;
// FechaEmision too old ("… de manera extemporánea …"),
// CRLibre/fe-hacienda-cr-odoo#63. llavero uses it for a FechaEmision in the
// future beyond the tolerance as well.
inline constexpr int kExtemporaneo = -16;
// The consecutivo was already used by this emisor for this document type
// (issue 10 of llavero; no public answer quoting it was found).
inline constexpr int kConsecutivoUsado = -99;
}  // namespace codigo

struct HaciendaError {
  int codigo = codigo::kContenido;
  std::string mensaje;
  int fila = 0, columna = 0;
};

// "El comprobante electrónico tiene los siguientes errores:" and one line
// per error, after the pruebas sentence in that environment; for an
// accepted comprobante (no errors) the pruebas sentence or "Aceptado".
std::string detalle_mensaje(Environment env, const std::vector<HaciendaError>& errors);

}  // namespace llavero::service
