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

// A decimal amount in units of 0.00001, no larger in magnitude than what
// DecimalDineroType admits (18 digits, 5 of them decimal: at most
// 9999999999999.99999), or "out of range": the result of arithmetic whose
// exact value is larger. An out-of-range amount stays so through further
// arithmetic (as NaN does), so hostile amounts give no wrong sum, only one
// that cannot be stated in a valid document; and since two in-range values
// add to less than 2^63, the int64 arithmetic never overflows.
class Amount {
 public:
  static constexpr std::int64_t kScale = 100000;
  static constexpr std::int64_t kMaxUnits = 999999999999999999LL;  // 9999999999999.99999
  constexpr Amount() = default;
  // `u` units; out of range beyond kMaxUnits in magnitude.
  static constexpr Amount units(std::int64_t u) {
    Amount a;
    if (u > kMaxUnits || u < -kMaxUnits)
      a.out_of_range_ = true;
    else
      a.units_ = u;
    return a;
  }
  static constexpr Amount out_of_range() { return units(kMaxUnits + 1); }
  // "1234.5", "-0.00001", "10"; more than five decimals are rounded half away
  // from zero; nullopt when not a plain decimal or beyond kMaxUnits.
  static std::optional<Amount> parse(std::string_view text);
  bool in_range() const { return !out_of_range_; }
  std::int64_t units() const { return units_; }  // 0 when out of range
  // Always five decimals: "1234.50000"; "fuera de rango" when out of range.
  std::string text() const;
  Amount operator+(Amount o) const {
    return out_of_range_ || o.out_of_range_ ? out_of_range() : units(units_ + o.units_);
  }
  Amount operator-(Amount o) const {
    return out_of_range_ || o.out_of_range_ ? out_of_range() : units(units_ - o.units_);
  }
  Amount& operator+=(Amount o) { return *this = *this + o; }
  // Meaningful between in-range amounts only (check_totals asks first).
  auto operator<=>(const Amount&) const = default;
  // a × b rounded half away from zero to five places (out of range beyond
  // kMaxUnits; computed in 128 bits: |a × b| < 10^36).
  static Amount multiply(Amount a, Amount b);

 private:
  std::int64_t units_ = 0;
  bool out_of_range_ = false;
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
// decimal, or beyond DecimalDineroType, is the schema's business and is read
// as zero here. A total the lines imply beyond DecimalDineroType is a
// mismatch whose `expected` is out of range: no valid document can state it.
std::vector<TotalsMismatch> check_totals(const _xmlNode* root, Amount tolerance);

}  // namespace llavero::service
