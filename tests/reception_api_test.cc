// The reception as integrators call it (issue 10, docs/recepcion.md): the
// RFC 3339 forms of `fecha`, the Costa Rica date of an instant, Hacienda's
// DetalleMensaje shape, the totals rule (with property tests: what
// compute_totals derives always passes check_totals, and one changed
// centavo never does), the rate limiter, the scenarios of pruebas and the
// settings that switch all of it.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <rapidcheck/gtest.h>

#include <limits>

#include "service/callbacks.h"
#include "service/config.h"
#include "service/detalle_mensaje.h"
#include "service/document_rules.h"
#include "service/fecha.h"
#include "service/rate_limit.h"
#include "service/reception.h"
#include "service/totals.h"
#include "testing.h"
#include "xml/document.h"

namespace llavero {

using namespace llavero::service;
namespace {

// --- fecha --------------------------------------------------------------------------

TEST(Fecha, EveryFormClientsSend) {
  // 2026-11-26T16:00:00Z in each form.
  const std::int64_t expected = 1795708800;
  for (const char* text :
       {"2026-11-26T10:00:00-06:00", "2026-11-26T10:00:00-0600", "2026-11-26T16:00:00Z",
        "2026-11-26T16:00:00z", "2026-11-26t16:00:00+00:00", "2026-11-26T10:00:00.000-06:00",
        "2026-11-26T10:00:00.0000000-06:00", "2026-11-26T17:00:00+01:00"}) {
    auto f = parse_fecha(text);
    ASSERT_TRUE(f) << text;
    EXPECT_EQ(unix_seconds(*f), expected) << text;
  }
  auto fraction = parse_fecha("2026-11-26T10:00:00.25-06:00");
  ASSERT_TRUE(fraction);
  EXPECT_EQ(fraction->instant.time_since_epoch().count() % 1000000000, 250000000);
  EXPECT_EQ(parse_fecha("2026-11-26T10:00:00-0600")->offset, std::chrono::minutes(-360));
}

TEST(Fecha, WrongFormsAreRefused) {
  for (const char* text :
       {"", "2026-11-26", "2026-11-26T10:00:00", "2026-11-26 10:00:00-06:00",
        "2026-13-26T10:00:00-06:00", "2026-11-31T10:00:00-06:00", "2026-11-26T25:00:00-06:00",
        "2026-11-26T10:00:00-06:00x", "2026-11-26T10:00:00+15:00", "26/11/2026 10:00",
        "2026-11-26T10:00:00-6"})
    EXPECT_FALSE(parse_fecha(text)) << text;
}

TEST(Fecha, CostaRicaDateIsUtcMinusSix) {
  // 01:00 UTC on the 27th is still the 26th in Costa Rica: the case a client
  // writing UTC after 18:00 hits.
  auto late = parse_fecha("2026-11-27T01:00:00Z");
  ASSERT_TRUE(late);
  EXPECT_EQ(costa_rica_date(late->instant), (CivilDate{2026, 11, 26}));
  auto early = parse_fecha("2026-11-27T06:00:00Z");
  EXPECT_EQ(costa_rica_date(early->instant), (CivilDate{2026, 11, 27}));
}

// --- DetalleMensaje -------------------------------------------------------------------

TEST(DetalleMensaje, HaciendasShape) {
  EXPECT_EQ(detalle_mensaje(Environment::kProduccion, {}), "Aceptado");
  EXPECT_EQ(detalle_mensaje(Environment::kPruebas, {}), std::string(kSandboxNotice));
  const std::string d =
      detalle_mensaje(Environment::kPruebas,
                      {{codigo::kEsquema,
                        "cvc-datatype-valid.1.2.1: '' is not a valid value for 'decimal'.", 90, 26},
                       {codigo::kConsecutivoUsado, "El consecutivo \"x\" ya fue utilizado."}});
  EXPECT_EQ(d, fmt::format("{}\n\nEl comprobante electrónico tiene los siguientes errores:\n\n[\n"
                           "codigo, mensaje, fila, columna\n"
                           "-1, \"cvc-datatype-valid.1.2.1: '' is not a valid value for "
                           "'decimal'.\", 90, 26\n"
                           "-99, \"El consecutivo \\\"x\\\" ya fue utilizado.\", 0, 0\n\n]",
                           kSandboxNotice));
}

// --- totals ---------------------------------------------------------------------------

TEST(Amount, ParsesAndRoundsToFivePlaces) {
  EXPECT_EQ(Amount::parse("1234.5")->text(), "1234.50000");
  EXPECT_EQ(Amount::parse("0.000005")->text(), "0.00001");  // half away from zero
  EXPECT_EQ(Amount::parse("0.000004")->text(), "0.00000");
  EXPECT_EQ(Amount::parse("-2.5")->text(), "-2.50000");
  EXPECT_EQ(Amount::parse("10")->units(), 1000000);
  for (const char* bad : {"", "-", ".", "1,5", "1e5", "abc", "1.2.3", "1234567890123456789"})
    EXPECT_FALSE(Amount::parse(bad)) << bad;
  EXPECT_EQ(Amount::multiply(*Amount::parse("3"), *Amount::parse("0.333335")).text(),
            "1.00002");  // 0.33334 × 3
  EXPECT_EQ(Amount::multiply(*Amount::parse("0.5"), *Amount::parse("0.00001")).text(),
            "0.00001");  // 0.000005 rounds up
}

// A factura v4.4 body (no signature) with `lines` and the ResumenFactura
// `resumen` of compute_totals, unless `tamper` names a field to change by
// one centavo.
std::string factura(const std::vector<LineAmounts>& lines, const Summary& resumen,
                    std::string_view tamper = "") {
  auto value = [&](std::string_view name, Amount a) {
    if (name == tamper) a += Amount::units(1000);
    return fmt::format("<{0}>{1}</{0}>", name, a.text());
  };
  std::string body = "<FacturaElectronica><DetalleServicio>";
  int n = 0;
  for (const LineAmounts& l : lines) {
    body += fmt::format("<LineaDetalle><NumeroLinea>{}</NumeroLinea>", ++n);
    body += value("Cantidad", l.cantidad) + value("PrecioUnitario", l.precio_unitario) +
            value("MontoTotal", l.monto_total);
    if (l.descuentos != Amount())
      body += "<Descuento>" + value("MontoDescuento", l.descuentos) + "</Descuento>";
    body += value("SubTotal", l.sub_total) + "<Impuesto>" + value("Monto", l.impuestos) +
            "</Impuesto>" + value("ImpuestoNeto", *l.impuesto_neto) +
            value("MontoTotalLinea", l.monto_total_linea) + "</LineaDetalle>";
  }
  body += "</DetalleServicio><ResumenFactura>";
  body += value("TotalServGravados", resumen.venta) + value("TotalGravado", resumen.venta) +
          value("TotalVenta", resumen.venta) + value("TotalDescuentos", resumen.descuentos) +
          value("TotalVentaNeta", resumen.venta_neta) + value("TotalImpuesto", resumen.impuesto) +
          value("TotalComprobante", resumen.comprobante);
  return body + "</ResumenFactura></FacturaElectronica>";
}

// A consistent line from a quantity, a price, a discount and a tax rate.
LineAmounts line(std::int64_t cantidad_milesimas, std::int64_t precio, std::int64_t descuento,
                 int tarifa) {
  LineAmounts l;
  l.cantidad = Amount::units(cantidad_milesimas * 100);
  l.precio_unitario = Amount::units(precio);
  l.monto_total = Amount::multiply(l.cantidad, l.precio_unitario);
  l.descuentos = Amount::units(std::min(descuento, l.monto_total.units()));
  l.sub_total = l.monto_total - l.descuentos;
  l.impuestos = Amount::multiply(l.sub_total, Amount::units(tarifa * 1000));  // tarifa / 100
  l.impuesto_neto = l.impuestos;
  l.monto_total_linea = l.sub_total + l.impuestos;
  return l;
}

std::vector<TotalsMismatch> check(const std::string& xml) {
  auto doc = xml::parse(xml, 1 << 20);
  EXPECT_TRUE(doc);
  return check_totals(xmlDocGetRootElement(doc->get()), Amount());
}

TEST(Totals, TheExampleFacturaAddsUp) {
  std::vector<LineAmounts> lines = {line(10000, 2500000000, 0, 13), line(1000, 4000000000, 0, 13)};
  const Summary s = compute_totals(lines, Amount(), Amount());
  EXPECT_EQ(s.venta.text(), "290000.00000");
  EXPECT_EQ(s.impuesto.text(), "37700.00000");
  EXPECT_EQ(s.comprobante.text(), "327700.00000");
  EXPECT_TRUE(check(factura(lines, s)).empty());
  auto wrong = check(factura(lines, s, "TotalImpuesto"));
  ASSERT_EQ(wrong.size(), 1u);
  EXPECT_EQ(wrong[0].field, "TotalImpuesto");
  EXPECT_EQ(wrong[0].expected.text(), "37700.00000");
}

RC_GTEST_PROP(Totals, ComputedTotalsAlwaysCheck, ()) {
  const auto count = *rc::gen::inRange(1, 40);
  std::vector<LineAmounts> lines;
  for (int i = 0; i < count; ++i)
    lines.push_back(line(*rc::gen::inRange<std::int64_t>(1, 1000000),
                         *rc::gen::inRange<std::int64_t>(0, 10000000000),
                         *rc::gen::inRange<std::int64_t>(0, 100000000),
                         *rc::gen::element(0, 1, 2, 4, 8, 13)));
  const Summary s = compute_totals(lines, Amount(), Amount());
  RC_ASSERT(check(factura(lines, s)).empty());
  RC_ASSERT(s.comprobante == s.venta - s.descuentos + s.impuesto);
}

RC_GTEST_PROP(Totals, OneCentavoOffIsFound, ()) {
  std::vector<LineAmounts> lines = {line(*rc::gen::inRange<std::int64_t>(1, 100000),
                                         *rc::gen::inRange<std::int64_t>(1, 1000000000), 0, 13)};
  const Summary s = compute_totals(lines, Amount(), Amount());
  const std::string field = *rc::gen::element<std::string>(
      "TotalVenta", "TotalVentaNeta", "TotalImpuesto", "TotalComprobante", "MontoTotal", "SubTotal",
      "MontoTotalLinea");
  RC_ASSERT(!check(factura(lines, s, field)).empty());
}

// --- totals with hostile amounts --------------------------------------------------------
//
// DecimalDineroType is 18 digits, 5 of them decimal: at most
// 9999999999999.99999 (999999999999999999 units). Sums of such amounts
// leave that range (and int64's, past 9.2 × 10^18): they are out of range,
// never a wrong number, and a document whose lines imply one is rejected.

constexpr std::string_view kMaxDinero = "9999999999999.99999";

TEST(Amount, BeyondDecimalDineroTypeIsOutOfRangeAndStaysSo) {
  const Amount max = *Amount::parse(kMaxDinero);
  EXPECT_EQ(max.units(), Amount::kMaxUnits);
  EXPECT_EQ(max.text(), kMaxDinero);
  for (const char* bad : {"10000000000000", "9999999999999.999995", "9999999999999999999.99999",
                          "99999999999999999999999999999999999999"})
    EXPECT_FALSE(Amount::parse(bad)) << bad;
  const Amount two = max + max;
  EXPECT_FALSE(two.in_range());
  EXPECT_EQ(two.text(), "fuera de rango");
  EXPECT_FALSE((two - max).in_range());  // no way back
  EXPECT_FALSE((Amount() - max - max).in_range());
  EXPECT_FALSE(Amount::multiply(max, max).in_range());
  EXPECT_FALSE(Amount::multiply(two, Amount()).in_range());
  EXPECT_FALSE(Amount::units(std::numeric_limits<std::int64_t>::min()).in_range());
  EXPECT_FALSE(Amount::units(std::numeric_limits<std::int64_t>::max()).in_range());
  // At the edge, still exact.
  EXPECT_EQ((max - Amount::units(1) + Amount::units(1)), max);
  EXPECT_EQ(Amount::multiply(max, *Amount::parse("1")), max);
  EXPECT_EQ(Amount::multiply(*Amount::parse("-9999999999999.99999"), *Amount::parse("1")).text(),
            "-9999999999999.99999");
}

// A line whose every amount is `value` (Cantidad 1), as a hostile document
// would write it.
std::string hostile_line(int n, std::string_view value) {
  return fmt::format(
      "<LineaDetalle><NumeroLinea>{0}</NumeroLinea><Cantidad>1</Cantidad>"
      "<PrecioUnitario>{1}</PrecioUnitario><MontoTotal>{1}</MontoTotal><SubTotal>{1}</SubTotal>"
      "<Impuesto><Monto>{1}</Monto></Impuesto><ImpuestoNeto>{1}</ImpuestoNeto>"
      "<MontoTotalLinea>{1}</MontoTotalLinea></LineaDetalle>",
      n, value);
}

std::string hostile_factura(int lines, std::string_view value, std::string_view total) {
  std::string xml = "<FacturaElectronica><DetalleServicio>";
  for (int i = 1; i <= lines; ++i) xml += hostile_line(i, value);
  return xml + fmt::format(
                   "</DetalleServicio><ResumenFactura><TotalVenta>{0}</TotalVenta>"
                   "<TotalVentaNeta>{0}</TotalVentaNeta><TotalImpuesto>{0}</TotalImpuesto>"
                   "<TotalComprobante>{0}</TotalComprobante></ResumenFactura></FacturaElectronica>",
                   total);
}

TEST(Totals, AThousandLinesOfTheLargestAmountAreOutOfRangeNotAWrongSum) {
  // 1000 × 9999999999999.99999 is about 10^21 units: int64 would wrap.
  auto found = check(hostile_factura(1000, kMaxDinero, kMaxDinero));
  bool venta = false;
  for (const TotalsMismatch& m : found) {
    if (m.field == "TotalVenta") {
      venta = true;
      EXPECT_FALSE(m.expected.in_range());
      EXPECT_TRUE(m.stated.in_range());
    }
    // A line's own amounts are within range and consistent except
    // MontoTotalLinea (SubTotal + impuesto is twice the largest amount).
    if (m.field.starts_with("LineaDetalle")) {
      EXPECT_TRUE(m.field.ends_with("/MontoTotalLinea")) << m.field;
    }
  }
  EXPECT_TRUE(venta);
  // Values beyond the schema's bound are the schema's business: read as zero.
  EXPECT_TRUE(check(hostile_factura(3, "9999999999999999999.99999", "0")).empty());
}

// The rule's answer names the overflow instead of printing a wrong sum, with
// the code of the totals rule (-1).
TEST(Totals, TheRuleRejectsASumBeyondDecimalDineroTypeClearly) {
  auto doc = xml::parse(hostile_factura(1000, kMaxDinero, kMaxDinero), 1 << 22);
  ASSERT_TRUE(doc);
  auto inst = testing::make_installation();
  Config config;
  config.rule_clave = config.rule_consecutivo = config.rule_fecha_emision = false;
  config.rule_referencias = false;
  ComprobanteRecord c;
  c.clave = "50626112600010647095800100001010000000001148213765";
  auto outcome = apply_document_rules(c, xmlDocGetRootElement(doc->get()), *inst->store, config, 0);
  ASSERT_TRUE(outcome.ok());
  bool named = false;
  for (const HaciendaError& e : outcome->errors) {
    EXPECT_EQ(e.codigo, codigo::kContenido) << e.mensaje;
    EXPECT_EQ(e.mensaje.find("-"), std::string::npos) << e.mensaje;  // no wrapped negative sum
    if (e.mensaje ==
        "TotalVenta: la suma según las líneas excede 9999999999999.99999, el máximo de "
        "DecimalDineroType.")
      named = true;
  }
  EXPECT_TRUE(named);
}

// A DecimalDineroType text: up to 13 integer digits and 5 decimals, often
// the extremes.
std::string dinero_text() {
  switch (*rc::gen::inRange(0, 4)) {
    case 0: return std::string(kMaxDinero);
    case 1: return *rc::gen::element<std::string>("0", "0.00001", "1", "9999999999999");
    default: {
      std::string s = std::to_string(*rc::gen::inRange<std::int64_t>(0, 10000000000000));
      const int places = *rc::gen::inRange(0, 6);
      if (places > 0) {
        s += '.';
        for (int i = 0; i < places; ++i) s += static_cast<char>('0' + *rc::gen::inRange(0, 10));
      }
      return s;
    }
  }
}

// Whatever amounts within the schema's bounds a document states, totals
// neither crash nor overflow (run under -fsanitize=undefined, see
// docs/recepcion.md), and TotalVenta's expected value is the exact sum of
// MontoTotal when that sum is within range, out of range otherwise.
RC_GTEST_PROP(Totals, AnyAmountsWithinTheSchemaNeverOverflow, ()) {
  const int count = *rc::gen::inRange(1, 80);
  __int128 exact_venta = 0;
  std::string xml = "<FacturaElectronica><DetalleServicio>";
  for (int i = 1; i <= count; ++i) {
    const std::string monto = dinero_text();
    exact_venta += Amount::parse(monto)->units();
    xml += fmt::format(
        "<LineaDetalle><NumeroLinea>{}</NumeroLinea><Cantidad>{}</Cantidad>"
        "<PrecioUnitario>{}</PrecioUnitario><MontoTotal>{}</MontoTotal>"
        "<Descuento><MontoDescuento>{}</MontoDescuento></Descuento><SubTotal>{}</SubTotal>"
        "<Impuesto><Monto>{}</Monto></Impuesto><Impuesto><Monto>{}</Monto></Impuesto>"
        "<MontoTotalLinea>{}</MontoTotalLinea></LineaDetalle>",
        i, dinero_text(), dinero_text(), monto, dinero_text(), dinero_text(), dinero_text(),
        dinero_text(), dinero_text());
  }
  const std::string stated_venta = dinero_text();
  xml += fmt::format(
      "</DetalleServicio><ResumenFactura><TotalVenta>{}</TotalVenta>"
      "<TotalDescuentos>{}</TotalDescuentos><TotalImpuesto>{}</TotalImpuesto>"
      "<TotalOtrosCargos>{}</TotalOtrosCargos><TotalIVADevuelto>{}</TotalIVADevuelto>"
      "<TotalComprobante>{}</TotalComprobante></ResumenFactura></FacturaElectronica>",
      stated_venta, dinero_text(), dinero_text(), dinero_text(), dinero_text(), dinero_text());
  const auto found = check(xml);
  const TotalsMismatch* venta = nullptr;
  for (const TotalsMismatch& m : found) {
    RC_ASSERT(m.stated.in_range() || m.expected.in_range() || m.field.starts_with("TotalVenta ("));
    if (m.field == "TotalVenta") venta = &m;
  }
  const bool in_range = exact_venta <= Amount::kMaxUnits;
  if (in_range && exact_venta == Amount::parse(stated_venta)->units()) {
    RC_ASSERT(venta == nullptr);
  } else {
    RC_ASSERT(venta != nullptr);
    RC_ASSERT(venta->expected.in_range() == in_range);
    if (in_range) RC_ASSERT(venta->expected.units() == static_cast<std::int64_t>(exact_venta));
  }
}

TEST(DocumentRules, TypeCodesAndTheIssuerOfACompra) {
  EXPECT_EQ(document_type_code("FacturaElectronica"), "01");
  EXPECT_EQ(document_type_code("FacturaElectronicaCompra"), "08");
  EXPECT_EQ(document_type_code("MensajeReceptor"), "");
  auto doc = xml::parse(
      "<FacturaElectronicaCompra><Emisor><Identificacion><Numero>999</Numero></Identificacion>"
      "</Emisor><Receptor><Identificacion><Numero>108880888</Numero></Identificacion></Receptor>"
      "</FacturaElectronicaCompra>",
      4096);
  ASSERT_TRUE(doc);
  EXPECT_EQ(issuer_identification(xmlDocGetRootElement(doc->get())), "108880888");
}

// --- rate limit, scenarios, settings ---------------------------------------------------

TEST(RateLimiter, CountsPerSubjectAndResetsWithTheWindow) {
  RateLimiter limiter(3, 60);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.take("a", 1000).allowed);
  RateDecision over = limiter.take("a", 1010);
  EXPECT_FALSE(over.allowed);
  EXPECT_EQ(over.remaining, 0);
  EXPECT_EQ(over.reset, 50);
  EXPECT_TRUE(limiter.take("b", 1010).allowed);  // another subject
  EXPECT_TRUE(limiter.take("a", 1060).allowed);  // a new window
  EXPECT_EQ(limiter.peek("a", 1061).remaining, 2);
}

TEST(Scenario, ParsesEachKindAndRefusesTheRest) {
  EXPECT_EQ(parse_scenario("rechazar:-99")->value, -99);
  EXPECT_EQ(parse_scenario("procesando:30")->kind, Scenario::Kind::kProcesando);
  EXPECT_EQ(parse_scenario("no-indexado:2")->kind, Scenario::Kind::kNoIndexado);
  EXPECT_EQ(parse_scenario("error-5xx:3")->kind, Scenario::Kind::kError5xx);
  EXPECT_EQ(parse_scenario("limite")->kind, Scenario::Kind::kLimite);
  for (const char* bad :
       {"", "rechazar", "rechazar:0", "procesando:-1", "procesando:x", "otro:1", "limite:1"})
    EXPECT_FALSE(parse_scenario(bad)) << bad;
}

TEST(ReceptionConfig, SettingsRoundTripAndBadValuesNameTheLine) {
  auto c = parse_config(
      "recepcion_max_bytes = 2000000\nrecepcion_hosts_pruebas = a.example, b.example\n"
      "regla_totales = no\nescenarios_pruebas = 0108880888=rechazar:-99, 3101123456=limite\n"
      "token_refresh_segundos = 600\ncallback_reintentos = 1\n");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->reception_max_body, 2000000u);
  EXPECT_EQ(c->sandbox_hosts, (std::vector<std::string>{"a.example", "b.example"}));
  EXPECT_FALSE(c->rule_totales);
  EXPECT_EQ(c->scenarios.at("0108880888"), "rechazar:-99");
  EXPECT_EQ(c->refresh_expires_in, 600);
  auto again = parse_config(render_config(*c));
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->scenarios, c->scenarios);
  EXPECT_EQ(again->sandbox_hosts, c->sandbox_hosts);
  EXPECT_FALSE(again->rule_totales);
  for (const char* bad : {"regla_clave = quizas\n", "recepcion_max_bytes = 10\n",
                          "escenarios_pruebas = sinigual\n", "callback_reintentos = 99\n"}) {
    auto r = parse_config(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find("línea 1"), std::string::npos) << r.error().message;
  }
}

// --- callback destinations -------------------------------------------------------------

TEST(CallbackDestination, PruebasTakesAnyHttpUrlProduccionNoInternalAddress) {
  Config c;
  for (const char* url : {"http://127.0.0.1:9/callback", "https://localhost/x", "http://10.0.0.1/"})
    EXPECT_TRUE(callback_destination_allowed(url, Environment::kPruebas, c).ok()) << url;
  for (const char* url : {"ftp://127.0.0.1/x", "file:///etc/passwd", "http://", "no es url"}) {
    EXPECT_FALSE(callback_destination_allowed(url, Environment::kPruebas, c).ok()) << url;
    EXPECT_FALSE(callback_destination_allowed(url, Environment::kProduccion, c).ok()) << url;
  }
  for (const char* url : {"http://127.0.0.1/x", "http://10.1.2.3/", "http://172.16.0.1/",
                          "http://192.168.1.1/", "http://169.254.169.254/latest/meta-data",
                          "http://[::1]:8080/", "http://[fe80::1]/", "http://[fd00::1]/",
                          "http://0.0.0.0/", "http://100.64.0.1/", "http://[::ffff:127.0.0.1]/"}) {
    auto r = callback_destination_allowed(url, Environment::kProduccion, c);
    ASSERT_FALSE(r.ok()) << url;
    EXPECT_NE(r.error().message.find("no permitida en producción"), std::string::npos)
        << r.error().message;
  }
  EXPECT_TRUE(callback_destination_allowed("http://8.8.8.8/cb", Environment::kProduccion, c).ok());
  c.callback_allowed_hosts = {"127.0.0.1"};
  EXPECT_TRUE(callback_destination_allowed("http://127.0.0.1/x", Environment::kProduccion, c).ok());
  EXPECT_FALSE(callback_destination_allowed("http://10.1.2.3/", Environment::kProduccion, c).ok());
}

}  // namespace
}  // namespace llavero
