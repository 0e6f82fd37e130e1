#include "service/comprobante_contents.h"

#include <string_view>

#include "xades/xades.h"
#include "xml/document.h"

namespace llavero::service {

namespace {

std::string at(const xmlNode* root, std::string_view path) {
  return xml::trimmed(xml::text(xml::find_path(root, path)));
}

}  // namespace

Result<ComprobanteContents> read_contents(const Bytes& xml) {
  const std::string text(xml.begin(), xml.end());
  auto parsed = xml::parse(text, xades::kMaxDocumentBytes);
  if (!parsed) return parsed.error();
  const xmlNode* root = xmlDocGetRootElement(parsed->get());
  ComprobanteContents in;
  in.clave = at(root, "Clave");
  in.consecutivo = at(root, "NumeroConsecutivo");
  in.fecha_emision = at(root, "FechaEmision");
  in.emisor_nombre = at(root, "Emisor/Nombre");
  in.emisor_id = at(root, "Emisor/Identificacion/Numero");
  in.receptor_nombre = at(root, "Receptor/Nombre");
  in.receptor_id = at(root, "Receptor/Identificacion/Numero");
  in.moneda = at(root, "ResumenFactura/CodigoTipoMoneda/CodigoMoneda");
  in.venta = at(root, "ResumenFactura/TotalVenta");
  in.descuentos = at(root, "ResumenFactura/TotalDescuentos");
  in.impuesto = at(root, "ResumenFactura/TotalImpuesto");
  in.comprobante = at(root, "ResumenFactura/TotalComprobante");
  in.referencia_tipo = at(root, "InformacionReferencia/TipoDocIR");
  in.referencia_numero = at(root, "InformacionReferencia/Numero");
  // The lines are the LineaDetalle children of DetalleServicio, whatever the
  // namespace of the kind of comprobante.
  if (const xmlNode* detalle = xml::find_path(root, "DetalleServicio")) {
    for (const xmlNode* n = detalle->children; n != nullptr; n = n->next) {
      if (n->type != XML_ELEMENT_NODE || std::string_view(xml::chars(n->name)) != "LineaDetalle")
        continue;
      in.lines.push_back(ContentsLine{at(n, "Detalle"), at(n, "Cantidad"), at(n, "UnidadMedida"),
                                      at(n, "PrecioUnitario"), at(n, "Descuento/MontoDescuento"),
                                      at(n, "ImpuestoNeto"), at(n, "MontoTotalLinea")});
    }
  }
  return in;
}

}  // namespace llavero::service
