// The totals of a comprobante v4.4 recomputed from its lines: the one rule
// the reception applies (ResumenFactura must match its LineaDetalle) and
// that the Herramienta Gratuita uses to compute its lines and fill
// ResumenFactura (service/emission.h). Amounts are
// exact decimals with five places (DecimalDineroType: 18 digits, 5 of them
// decimal); products are rounded half away from zero to five places, as
// Anexo 4.4's "redondeo a 5 decimales" asks, and sums are exact.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct _xmlNode;

namespace llavero::service {

// A decimal amount in units of 0.00001.
class Amount {
 public:
  static constexpr std::int64_t kScale = 100000;
  constexpr Amount() = default;
  static constexpr Amount units(std::int64_t u) {
    Amount a;
    a.units_ = u;
    return a;
  }
  // "1234.5", "-0.00001", "10"; more than five decimals are rounded half away
  // from zero; nullopt when not a plain decimal or too large.
  static std::optional<Amount> parse(std::string_view text);
  std::int64_t units() const { return units_; }
  std::string text() const;  // always five decimals: "1234.50000"
  Amount operator+(Amount o) const { return units(units_ + o.units_); }
  Amount operator-(Amount o) const { return units(units_ - o.units_); }
  Amount& operator+=(Amount o) {
    units_ += o.units_;
    return *this;
  }
  auto operator<=>(const Amount&) const = default;
  // a × b rounded half away from zero to five places.
  static Amount multiply(Amount a, Amount b);

 private:
  std::int64_t units_ = 0;
};

// What one LineaDetalle states.
struct LineAmounts {
  Amount cantidad, precio_unitario, monto_total, descuentos, sub_total;
  Amount impuestos;  // Σ Impuesto/Monto
  std::optional<Amount> impuesto_neto;
  Amount monto_total_linea;
  // Where the line goes in ResumenFactura's split: a service or goods, taxed
  // (gravado) or exempt (exento).
  bool servicio = false;
  bool exento = false;
};

// One line computed from what the emisor types: MontoTotal = cantidad ×
// precio; SubTotal = MontoTotal − descuento; the tax (one IVA, `tarifa` in
// percent, e.g. 13) = SubTotal × tarifa / 100, each rounded to five places;
// MontoTotalLinea = SubTotal + tax.
LineAmounts compute_line(Amount cantidad, Amount precio_unitario, Amount descuento,
                         Amount tarifa_percent, bool servicio, bool exento);

// What ResumenFactura states (absent elements are zero).
struct Summary {
  Amount serv_gravados, serv_exentos, serv_exonerado, serv_no_sujeto;
  Amount merc_gravadas, merc_exentas, merc_exonerada, merc_no_sujeta;
  Amount gravado, exento, exonerado, no_sujeto;
  Amount venta, descuentos, venta_neta, impuesto, iva_devuelto, otros_cargos, comprobante;
};

// The ResumenFactura the lines imply: venta = Σ MontoTotal, descuentos =
// Σ descuentos, venta_neta = venta − descuentos, impuesto = Σ ImpuestoNeto
// (Σ Impuesto/Monto where a line has none), comprobante = venta_neta +
// impuesto + otros_cargos − iva_devuelto. The split into gravado/exento
// follows each line's servicio/exento (the lines read back by check_totals
// have neither, and there the stated split is checked only for consistency).
Summary compute_totals(const std::vector<LineAmounts>& lines, Amount otros_cargos,
                       Amount iva_devuelto);

// A difference between what a document states and what it should.
struct TotalsMismatch {
  std::string field;  // "TotalVenta", "LineaDetalle 3/MontoTotal", …
  Amount stated, expected;
};

// Reads the lines and ResumenFactura of a comprobante (root element) and
// returns every mismatch beyond `tolerance`; a document without
// ResumenFactura (MensajeReceptor) has none. An amount that is not a
// decimal is the schema's business and is read as zero here.
std::vector<TotalsMismatch> check_totals(const _xmlNode* root, Amount tolerance);

}  // namespace llavero::service
