#include "service/totals.h"

#include <fmt/format.h>
#include <libxml/tree.h>

#include <cstdlib>

#include "xml/document.h"

namespace llavero::service {

namespace {

// Division of a non-negative or negative 128-bit value, rounded half away
// from zero.
__int128 round_div(__int128 value, __int128 divisor) {
  const bool negative = value < 0;
  const __int128 magnitude = negative ? -value : value;
  const __int128 q = (magnitude + divisor / 2) / divisor;
  return negative ? -q : q;
}

std::string_view local_name(const xmlNode* n) {
  return n && n->name ? std::string_view(reinterpret_cast<const char*>(n->name))
                      : std::string_view();
}

// The direct children of `parent` named `name`.
std::vector<const xmlNode*> children(const xmlNode* parent, std::string_view name) {
  std::vector<const xmlNode*> out;
  if (parent == nullptr) return out;
  for (const xmlNode* c = parent->children; c != nullptr; c = c->next)
    if (c->type == XML_ELEMENT_NODE && local_name(c) == name) out.push_back(c);
  return out;
}

const xmlNode* child(const xmlNode* parent, std::string_view name) {
  auto all = children(parent, name);
  return all.empty() ? nullptr : all.front();
}

std::optional<Amount> amount_at(const xmlNode* parent, std::string_view name) {
  const xmlNode* c = child(parent, name);
  if (c == nullptr) return std::nullopt;
  return Amount::parse(xml::text(c));
}

Amount amount_or_zero(const xmlNode* parent, std::string_view name) {
  return amount_at(parent, name).value_or(Amount());
}

}  // namespace

std::optional<Amount> Amount::parse(std::string_view text) {
  if (text.empty() || text.size() > 40) return std::nullopt;
  bool negative = false;
  if (text.front() == '-' || text.front() == '+') {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  const auto dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view fraction =
      dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  if (whole.empty() && fraction.empty()) return std::nullopt;
  if (whole.size() > 18) return std::nullopt;
  __int128 units = 0;
  for (char c : whole) {
    if (c < '0' || c > '9') return std::nullopt;
    units = units * 10 + (c - '0');
  }
  int places = 0;
  bool round_up = false;
  for (std::size_t i = 0; i < fraction.size(); ++i) {
    const char c = fraction[i];
    if (c < '0' || c > '9') return std::nullopt;
    if (places < 5) {
      units = units * 10 + (c - '0');
      ++places;
    } else if (i == 5) {
      round_up = c >= '5';
    }
  }
  for (; places < 5; ++places) units *= 10;
  if (round_up) ++units;
  if (units > Amount::kMaxUnits) return std::nullopt;
  return Amount::units(static_cast<std::int64_t>(negative ? -units : units));
}

std::string Amount::text() const {
  if (out_of_range_) return "fuera de rango";
  const std::uint64_t magnitude =
      units_ < 0 ? static_cast<std::uint64_t>(-units_) : static_cast<std::uint64_t>(units_);
  return fmt::format("{}{}.{:05}", units_ < 0 ? "-" : "", magnitude / kScale, magnitude % kScale);
}

Amount Amount::multiply(Amount a, Amount b) {
  if (a.out_of_range_ || b.out_of_range_) return out_of_range();
  const __int128 product = round_div(static_cast<__int128>(a.units_) * b.units_, kScale);
  if (product > kMaxUnits || product < -kMaxUnits) return out_of_range();
  return units(static_cast<std::int64_t>(product));
}

Summary compute_totals(const std::vector<LineAmounts>& lines, Amount otros_cargos,
                       Amount iva_devuelto) {
  Summary s;
  for (const LineAmounts& line : lines) {
    Amount& split = line.servicio ? (line.exento ? s.serv_exentos : s.serv_gravados)
                                  : (line.exento ? s.merc_exentas : s.merc_gravadas);
    split += line.monto_total;
    s.venta += line.monto_total;
    s.descuentos += line.descuentos;
    s.impuesto += line.impuesto_neto.value_or(line.impuestos);
  }
  s.gravado = s.serv_gravados + s.merc_gravadas;
  s.exento = s.serv_exentos + s.merc_exentas;
  s.venta_neta = s.venta - s.descuentos;
  s.otros_cargos = otros_cargos;
  s.iva_devuelto = iva_devuelto;
  s.comprobante = s.venta_neta + s.impuesto + otros_cargos - iva_devuelto;
  return s;
}

LineAmounts compute_line(Amount cantidad, Amount precio_unitario, Amount descuento,
                         Amount tarifa_percent, bool servicio, bool exento) {
  LineAmounts l;
  l.cantidad = cantidad;
  l.precio_unitario = precio_unitario;
  l.monto_total = Amount::multiply(cantidad, precio_unitario);
  l.descuentos = descuento;
  l.sub_total = l.monto_total - descuento;
  // tarifa / 100 is exact in five places for any tariff with three decimals.
  l.impuestos = Amount::multiply(l.sub_total, Amount::units(tarifa_percent.units() / 100));
  l.impuesto_neto = l.impuestos;
  l.monto_total_linea = l.sub_total + l.impuestos;
  l.servicio = servicio;
  l.exento = exento;
  return l;
}

std::vector<TotalsMismatch> check_totals(const xmlNode* root, Amount tolerance) {
  std::vector<TotalsMismatch> out;
  const xmlNode* resumen = child(root, "ResumenFactura");
  if (resumen == nullptr) return out;
  // Out of range (a sum of hostile amounts, or a difference of two huge
  // ones) is always a mismatch: no valid document states such a total.
  auto compare = [&](std::string field, Amount stated, Amount expected) {
    const Amount diff = stated - expected;
    if (!diff.in_range() || diff > tolerance || Amount() - diff > tolerance)
      out.push_back(TotalsMismatch{std::move(field), stated, expected});
  };

  std::vector<LineAmounts> lines;
  int number = 0;
  for (const xmlNode* linea : children(child(root, "DetalleServicio"), "LineaDetalle")) {
    ++number;
    LineAmounts l;
    l.cantidad = amount_or_zero(linea, "Cantidad");
    l.precio_unitario = amount_or_zero(linea, "PrecioUnitario");
    l.monto_total = amount_or_zero(linea, "MontoTotal");
    for (const xmlNode* d : children(linea, "Descuento"))
      l.descuentos += amount_or_zero(d, "MontoDescuento");
    l.sub_total = amount_or_zero(linea, "SubTotal");
    for (const xmlNode* i : children(linea, "Impuesto")) l.impuestos += amount_or_zero(i, "Monto");
    l.impuesto_neto = amount_at(linea, "ImpuestoNeto");
    l.monto_total_linea = amount_or_zero(linea, "MontoTotalLinea");
    // The line itself: MontoTotal = Cantidad × PrecioUnitario, SubTotal =
    // MontoTotal − descuentos, MontoTotalLinea = SubTotal + impuesto.
    const std::string at = fmt::format("LineaDetalle {}", number);
    compare(at + "/MontoTotal", l.monto_total, Amount::multiply(l.cantidad, l.precio_unitario));
    compare(at + "/SubTotal", l.sub_total, l.monto_total - l.descuentos);
    compare(at + "/MontoTotalLinea", l.monto_total_linea,
            l.sub_total + l.impuesto_neto.value_or(l.impuestos));
    lines.push_back(l);
  }
  const Summary expected = compute_totals(lines, amount_or_zero(resumen, "TotalOtrosCargos"),
                                          amount_or_zero(resumen, "TotalIVADevuelto"));
  Summary stated;
  stated.serv_gravados = amount_or_zero(resumen, "TotalServGravados");
  stated.serv_exentos = amount_or_zero(resumen, "TotalServExentos");
  stated.serv_exonerado = amount_or_zero(resumen, "TotalServExonerado");
  stated.serv_no_sujeto = amount_or_zero(resumen, "TotalServNoSujeto");
  stated.merc_gravadas = amount_or_zero(resumen, "TotalMercanciasGravadas");
  stated.merc_exentas = amount_or_zero(resumen, "TotalMercanciasExentas");
  stated.merc_exonerada = amount_or_zero(resumen, "TotalMercExonerada");
  stated.merc_no_sujeta = amount_or_zero(resumen, "TotalMercNoSujeta");
  stated.gravado = amount_or_zero(resumen, "TotalGravado");
  stated.exento = amount_or_zero(resumen, "TotalExento");
  stated.exonerado = amount_or_zero(resumen, "TotalExonerado");
  stated.no_sujeto = amount_or_zero(resumen, "TotalNoSujeto");
  stated.venta = amount_or_zero(resumen, "TotalVenta");
  stated.descuentos = amount_or_zero(resumen, "TotalDescuentos");
  stated.venta_neta = amount_or_zero(resumen, "TotalVentaNeta");
  stated.impuesto = amount_or_zero(resumen, "TotalImpuesto");
  stated.comprobante = amount_or_zero(resumen, "TotalComprobante");

  compare("TotalGravado", stated.gravado, stated.serv_gravados + stated.merc_gravadas);
  compare("TotalExento", stated.exento, stated.serv_exentos + stated.merc_exentas);
  compare("TotalExonerado", stated.exonerado, stated.serv_exonerado + stated.merc_exonerada);
  compare("TotalNoSujeto", stated.no_sujeto, stated.serv_no_sujeto + stated.merc_no_sujeta);
  compare("TotalVenta", stated.venta, expected.venta);
  compare("TotalVenta (gravado + exento + exonerado + no sujeto)", expected.venta,
          stated.gravado + stated.exento + stated.exonerado + stated.no_sujeto);
  compare("TotalDescuentos", stated.descuentos, expected.descuentos);
  compare("TotalVentaNeta", stated.venta_neta, expected.venta_neta);
  compare("TotalImpuesto", stated.impuesto, expected.impuesto);
  compare("TotalComprobante", stated.comprobante, expected.comprobante);
  return out;
}

}  // namespace llavero::service
