// The representación gráfica of an emitted comprobante (docs/herramienta.md):
// an A4 PDF drawn with Cairo's PDF surface and Pango for the text, with the
// emisor, the receptor, the fecha in Costa Rica time, the consecutivo, the
// clave and its QR code, each line, ResumenFactura's totals and Hacienda's
// verdict. Every value is read from the signed XML by read_contents
// (service/comprobante_contents.h), so the PDF says what was signed and
// nothing else, as the comprobante's page does. Lines
// that do not fit on a page continue on the next.
#pragma once

#include <string>

#include "service/emission.h"
#include "util/result.h"

namespace llavero::service {

// The PDF's bytes. Errors: "xml_invalido" when the stored XML cannot be read
// (it was signed by llavero, so that is a program error), "error_interno"
// when Cairo fails.
Result<std::string> invoice_pdf(const EmittedDocument& doc);

}  // namespace llavero::service
