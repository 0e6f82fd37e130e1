// What an emitted comprobante says, read from its signed XML with the one
// safe parser (xml/document.h): its page in the Herramienta Gratuita and its
// PDF (service/pdf_invoice.h) show what was signed, read by this one reader,
// and nothing typed afterwards. Amounts are the XML's text (five decimals).
#pragma once

#include <string>
#include <vector>

#include "util/hash.h"
#include "util/result.h"

namespace llavero::service {

struct ContentsLine {
  std::string detalle, cantidad, unidad, precio, descuento, impuesto, total;
};

struct ComprobanteContents {
  std::string emisor_nombre, emisor_id, receptor_nombre, receptor_id, fecha_emision;
  std::string consecutivo, clave, moneda;
  std::vector<ContentsLine> lines;
  // ResumenFactura: TotalVenta, TotalDescuentos (empty: none), TotalImpuesto,
  // TotalComprobante.
  std::string venta, descuentos, impuesto, comprobante;
  // The first InformacionReferencia: TipoDocIR and Numero (a nota's: the
  // clave of the document it refers to); empty without one.
  std::string referencia_tipo, referencia_numero;
};

// Error "xml_invalido" when `xml` cannot be read.
Result<ComprobanteContents> read_contents(const Bytes& xml);

}  // namespace llavero::service
