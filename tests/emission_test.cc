// The Herramienta Gratuita's emission (service/emission.h,
// docs/herramienta.md): each kind of bad input is a field error and leaves
// nothing numbered, signed or sent; concurrent emissions get distinct
// consecutivos without gaps; what is emitted is valid against the official
// schema, verifies with xmlsec1 and is aceptado by the reception; and for
// random lines ResumenFactura is what an independent computation says.
#include "service/emission.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <libxml/tree.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "official_schemas.h"
#include "service/accounts.h"
#include "service/pdf_invoice.h"
#include "service/processing.h"
#include "service/revocation_check.h"
#include "service/token_service.h"
#include "testing.h"
#include "tool_fixture.h"
#include "util/error_codes.h"
#include "xml/document.h"
#include "xmlsec_verify.h"

namespace fs = std::filesystem;

namespace llavero {

using namespace llavero::service;
namespace {

constexpr const char* kId = "1-0647-0958";

std::int64_t count(const testing::Installation& inst, const std::string& sql) {
  return testing::sql_count(inst, sql);
}

using testing::factura;
using testing::schemas;
using testing::Tool;

// --- bad input ---------------------------------------------------------------------

// Emits `input`, expects a field error on `field`, and that nothing was
// numbered, signed or sent.
void expect_refused(Tool& t, const EmissionInput& input, const std::string& field) {
  std::vector<FieldError> errors;
  auto out = t.emit(input, &errors);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, errc::kDatoInvalido);
  bool found = false;
  for (const FieldError& e : errors) found = found || e.field == field;
  EXPECT_TRUE(found) << field << (errors.empty() ? "" : " / first: " + errors.front().field);
  EXPECT_EQ(t.emitted_rows(), 0);
  EXPECT_EQ(t.signatures(), 0);
  EXPECT_EQ(count(*t.inst, "SELECT count(*) FROM consecutivos"), 0);
  EXPECT_EQ(count(*t.inst, "SELECT count(*) FROM comprobantes"), 0);
}

// Every emission test on both stores; the PDF's (EmissionPdf) on SQLite.
class Emission : public testing::OnBothBackends {};
LLAVERO_ON_BOTH_BACKENDS(Emission);

TEST_P(Emission, ANegativeQuantityIsAFieldError) {
  Tool t(true, backend());
  EmissionInput in = factura();
  in.lines[1].cantidad = "-1";
  expect_refused(t, in, "linea2_cantidad");
}

TEST_P(Emission, AMalformedCabysIsAFieldError) {
  Tool t(true, backend());
  EmissionInput in = factura();
  in.lines[0].cabys = "83131000000";
  expect_refused(t, in, "linea1_cabys");
  in.lines[0].cabys = "831310000000X";
  expect_refused(t, in, "linea1_cabys");
}

TEST_P(Emission, AnUnknownTariffCodeIsAFieldError) {
  Tool t(true, backend());
  EmissionInput in = factura();
  in.lines[2].tarifa = "12";
  expect_refused(t, in, "linea3_tarifa");
}

TEST_P(Emission, ANotaWithoutReferenceIsAFieldError) {
  Tool t(true, backend());
  EmissionInput in = factura();
  in.kind = DocumentKind::kNotaCredito;
  in.referencia_razon = "Devolución";
  expect_refused(t, in, "referencia_clave");
  in.referencia_clave = "123";
  expect_refused(t, in, "referencia_clave");
}

TEST_P(Emission, AMalformedReceptorIdentificationIsAFieldError) {
  Tool t(true, backend());
  EmissionInput in = factura();
  in.receptor_identificacion = "3-101-52289X";
  expect_refused(t, in, "receptor_identificacion");
  in.receptor_identificacion = "";
  expect_refused(t, in, "receptor_identificacion");  // a factura needs its receptor
}

TEST_P(Emission, DollarsWithoutAnExchangeRateAreAFieldError) {
  Tool t(true, backend());
  EmissionInput in = factura();
  in.moneda = "USD";
  expect_refused(t, in, "tipo_cambio");
  in.tipo_cambio = "0";
  expect_refused(t, in, "tipo_cambio");
}

TEST_P(Emission, ADiscountNeedsItsReasonAndCannotExceedTheLine) {
  Tool t(true, backend());
  EmissionInput in = factura();
  in.lines[1].naturaleza_descuento = "";
  expect_refused(t, in, "linea2_naturaleza");
  in = factura();
  in.lines[1].descuento = "40000.00001";
  expect_refused(t, in, "linea2_descuento");
}

TEST_P(Emission, WithoutAKeptKeyNothingIsEmitted) {
  Tool t(/*keep_key=*/false, backend());
  auto out = t.emit(factura());
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, errc::kSinLlaveCustodia);
  EXPECT_EQ(t.emitted_rows(), 0);
}

// --- what is emitted ---------------------------------------------------------------

// `xml` is valid against the official schema and its signature verifies with
// xmlsec1 against the pruebas root.
void expect_valid_and_verified(Tool& t, const std::string& xml) {
  auto doc = xml::parse(xml, xades::kMaxDocumentBytes);
  ASSERT_TRUE(doc.ok());
  const auto invalid = schemas().validate(doc->get());
  EXPECT_TRUE(invalid.empty()) << invalid.front();
  const auto verified = testing::xmlsec_verify(*t.inst, xml);
  EXPECT_TRUE(verified.verified) << verified.command;
}

// The state the reception gave `clave`, with its MensajeHacienda for the failure message.
std::pair<std::optional<ComprobanteState>, std::string> state_of(Tool& t,
                                                                 const std::string& clave) {
  auto d = t.emission.document(t.taxpayer, clave);
  EXPECT_TRUE(d.ok() && *d);
  if (!d.ok() || !*d) return {};
  return {(*d)->state, std::string((*d)->mensaje_hacienda.begin(), (*d)->mensaje_hacienda.end())};
}

TEST_P(Emission, AFacturaWithThreeLinesAndADiscountIsValidSignedAndAceptado) {
  Tool t(true, backend());
  auto out = t.emit(factura());
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->reception_status, 202u) << out->reception_cause;
  EXPECT_EQ(out->record.consecutivo, "00100001010000000001");
  EXPECT_EQ(out->record.clave.substr(21, 20), out->record.consecutivo);
  EXPECT_EQ(out->record.clave.substr(9, 12), "000106470958");
  // 10 × 25000 + (40000 − 4000) at 13%, 3.5 × 1234.56789 at 4%.
  // 250000 + 36000 = 286000 → IVA 37180; 4320.98762 → IVA 172.83950.
  EXPECT_EQ(out->record.total, "327673.82712");
  EXPECT_EQ(t.signatures(), 1);

  expect_valid_and_verified(t, std::string(out->record.xml.begin(), out->record.xml.end()));

  t.process_all();
  const auto [state, answer] = state_of(t, out->record.clave);
  EXPECT_EQ(state, ComprobanteState::kAceptado) << answer;
}

// --- factura electrónica de compra: the taxpayer buys, issues and signs ------------

EmissionInput compra() {
  EmissionInput in = factura();
  in.kind = DocumentKind::kFacturaCompra;
  in.receptor_identificacion = in.receptor_nombre = "";
  in.proveedor_identificacion = "1-0234-0567";
  in.proveedor_nombre = "JUAN PÉREZ, PRODUCTOR DE CAFÉ";
  in.proveedor_correo = "juan@example.com";
  in.lines.resize(2);
  return in;
}

TEST_P(Emission, AFacturaDeCompraWithoutItsProveedorIsAFieldError) {
  Tool t(true, backend());
  EmissionInput in = compra();
  in.proveedor_identificacion = "";
  expect_refused(t, in, "proveedor_identificacion");
  in.proveedor_identificacion = "1-0234-056X";
  expect_refused(t, in, "proveedor_identificacion");
  in = compra();
  in.proveedor_nombre = "JUAN";  // the XML's Emisor/Nombre has at least 5 characters
  expect_refused(t, in, "proveedor_nombre");
  in = compra();
  in.proveedor_correo = "juan.example.com";
  expect_refused(t, in, "proveedor_correo");
  // A receptor typed for another kind is not asked for, nor checked.
  in = compra();
  in.receptor_identificacion = "no es una cédula";
  EXPECT_TRUE(t.emission.check(in).empty());
}

TEST_P(Emission, AFacturaDeCompraIsIssuedByTheBuyerValidSignedAndAceptado) {
  Tool t(true, backend());
  auto out = t.emit(compra());
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->reception_status, 202u) << out->reception_cause;
  EXPECT_EQ(out->record.tipo, "08");
  EXPECT_EQ(out->record.consecutivo, "00100001080000000001");
  EXPECT_EQ(out->record.clave.substr(9, 12), "000106470958");  // the buyer's clave
  EXPECT_EQ(out->record.receptor_nombre, "JUAN PÉREZ, PRODUCTOR DE CAFÉ");
  const std::string xml(out->record.xml.begin(), out->record.xml.end());
  expect_valid_and_verified(t, xml);
  // The seller is the XML's Emisor, the taxpayer (the buyer) its Receptor.
  auto doc = xml::parse(xml, xades::kMaxDocumentBytes);
  ASSERT_TRUE(doc.ok());
  const xmlNode* root = xmlDocGetRootElement(doc->get());
  EXPECT_EQ(std::string(xml::chars(root->name)), "FacturaElectronicaCompra");
  auto at = [&](std::string_view path) {
    return xml::trimmed(xml::text(xml::find_path(root, path)));
  };
  EXPECT_EQ(at("Emisor/Identificacion/Numero"), "102340567");
  EXPECT_EQ(at("Emisor/Nombre"), "JUAN PÉREZ, PRODUCTOR DE CAFÉ");
  EXPECT_EQ(at("Receptor/Identificacion/Numero"), "106470958");
  EXPECT_EQ(at("CodigoActividadReceptor"), "620100");
  EXPECT_EQ(at("InformacionReferencia/TipoDocIR"), "14");
  // The reception has the taxpayer as emisor and the seller as receptor.
  auto received = t.inst->store->find_comprobante(out->record.clave);
  ASSERT_TRUE(received.ok() && *received);
  EXPECT_EQ((*received)->emisor_numero, "106470958");
  EXPECT_EQ((*received)->receptor_numero, "102340567");

  t.process_all();
  const auto [state, answer] = state_of(t, out->record.clave);
  EXPECT_EQ(state, ComprobanteState::kAceptado) << answer;
  // Hacienda's answer names the buyer as emisor and the seller as receptor.
  EXPECT_NE(answer.find("<NombreReceptor>JUAN PÉREZ, PRODUCTOR DE CAFÉ</NombreReceptor>"),
            std::string::npos)
      << answer;
  EXPECT_NE(answer.find("<NumeroCedulaEmisor>106470958</NumeroCedulaEmisor>"), std::string::npos);
  EXPECT_EQ(answer.find("<NombreEmisor>JUAN"), std::string::npos) << answer;
}

TEST_P(Emission, ATiqueteAndANotaDeCreditoAreAceptado) {
  Tool t(true, backend());
  auto factura_out = t.emit(factura());
  ASSERT_TRUE(factura_out.ok());
  EmissionInput tiquete = factura();
  tiquete.kind = DocumentKind::kTiquete;
  tiquete.receptor_identificacion = tiquete.receptor_nombre = "";
  auto tiquete_out = t.emit(tiquete);
  ASSERT_TRUE(tiquete_out.ok()) << tiquete_out.error().message;
  EXPECT_EQ(tiquete_out->record.consecutivo, "00100001040000000001");
  EmissionInput nota = factura();
  nota.kind = DocumentKind::kNotaCredito;
  nota.referencia_clave = factura_out->record.clave;
  nota.referencia_razon = "Devolución de una parte";
  nota.lines.resize(1);
  auto nota_out = t.emit(nota);
  ASSERT_TRUE(nota_out.ok()) << nota_out.error().message;
  t.process_all();
  for (const auto* e : {&*factura_out, &*tiquete_out, &*nota_out}) {
    auto d = t.emission.document(t.taxpayer, e->record.clave);
    ASSERT_TRUE(d.ok() && *d && (*d)->state);
    const std::string answer((*d)->mensaje_hacienda.begin(), (*d)->mensaje_hacienda.end());
    EXPECT_EQ(*(*d)->state, ComprobanteState::kAceptado) << e->record.tipo << "\n" << answer;
  }
  auto page = t.emission.emitted(t.taxpayer, Environment::kPruebas, {}, 0, 10);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total, 3);
  // Another taxpayer does not see them.
  auto other = *t.inst->service->find_taxpayer("3-101-522899");
  auto hidden = t.emission.document(other, factura_out->record.clave);
  ASSERT_TRUE(hidden.ok());
  EXPECT_FALSE(*hidden);
}

TEST_P(Emission, TwentyConcurrentEmissionsGetTwentyConsecutivosWithoutGaps) {
  Tool t(true, backend());
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<std::string> consecutivos;
  for (int i = 0; i < 20; ++i)
    threads.emplace_back([&] {
      EmissionInput in = factura();
      in.lines.resize(1);
      auto out = t.emit(in);
      std::lock_guard lock(mu);
      EXPECT_TRUE(out.ok()) << (out ? "" : out.error().message);
      if (out) consecutivos.push_back(out->record.consecutivo);
    });
  for (auto& th : threads) th.join();
  ASSERT_EQ(consecutivos.size(), 20u);
  std::set<std::string> distinct(consecutivos.begin(), consecutivos.end());
  EXPECT_EQ(distinct.size(), 20u);
  for (int n = 1; n <= 20; ++n)
    EXPECT_TRUE(distinct.contains(fmt::format("0010000101{:010}", n))) << n;
  EXPECT_EQ(t.signatures(), 20);
  EXPECT_EQ(count(*t.inst, "SELECT count(*) FROM comprobantes"), 20);
}

// --- Comprobantes emitidos: searched by receptor, date and state -------------------

// What Comprobantes emitidos finds, on either store.
class EmissionSearch : public testing::OnBothBackends {};
LLAVERO_ON_BOTH_BACKENDS(EmissionSearch);

std::vector<std::string> claves(Tool& t, const EmittedSearch& search) {
  const ParsedSearch parsed = parse_search(search);
  EXPECT_TRUE(parsed.errors.empty()) << parsed.errors.front().message;
  auto page = t.emission.emitted(t.taxpayer, Environment::kPruebas, parsed.filter, 0, 50);
  EXPECT_TRUE(page.ok());
  std::vector<std::string> out;
  if (!page.ok()) return out;
  EXPECT_EQ(page->total, static_cast<std::int64_t>(page->items.size()));
  for (const EmittedDocument& d : page->items) out.push_back(d.record.clave);
  return out;
}

// A factura to EMPRESA PEÑA (3-101-522899), one to ANA MORA SOLÍS
// (2-0456-0789) and a tiquete without receptor; the claves in that order.
std::vector<std::string> three_documents(Tool& t) {
  EmissionInput ana = factura();
  ana.receptor_identificacion = "2-0456-0789";
  ana.receptor_nombre = "ANA MORA SOLÍS";
  EmissionInput tiquete = factura();
  tiquete.kind = DocumentKind::kTiquete;
  tiquete.receptor_identificacion = tiquete.receptor_nombre = "";
  std::vector<std::string> out;
  for (const EmissionInput& in : {factura(), ana, tiquete}) {
    auto made = t.emit(in);
    EXPECT_TRUE(made.ok()) << (made ? "" : made.error().message);
    out.push_back(made ? made->record.clave : "");
  }
  return out;
}

TEST_P(EmissionSearch, ByReceptorNameOrIdentification) {
  Tool t(true, backend());
  const auto c = three_documents(t);
  using V = std::vector<std::string>;
  EXPECT_EQ(claves(t, {"empresa", "", "", ""}), V{c[0]});  // ASCII letters in any case
  EXPECT_EQ(claves(t, {"MORA", "", "", ""}), V{c[1]});
  EXPECT_EQ(claves(t, {" 3-101-522899 ", "", "", ""}), V{c[0]});  // as printed
  EXPECT_EQ(claves(t, {"204560789", "", "", ""}), V{c[1]});       // as digits
  EXPECT_EQ(claves(t, {"%", "", "", ""}), V{});                   // LIKE's wildcard is literal
  EXPECT_EQ(claves(t, {"PÉREZ", "", "", ""}), V{});
  EXPECT_EQ(claves(t, {"", "", "", ""}), (V{c[2], c[1], c[0]}));  // newest first
  // A page of a search: the total counts what matches, not everything.
  const EmittedFilter facturas = parse_search({"a", "", "", ""}).filter;  // EMPRESA, ANA
  auto page = t.emission.emitted(t.taxpayer, Environment::kPruebas, facturas, 1, 1);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total, 2);
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].record.clave, c[0]);
}

TEST_P(EmissionSearch, ByState) {
  Tool t(true, backend());
  const auto c = three_documents(t);
  using V = std::vector<std::string>;
  EXPECT_EQ(claves(t, {"", "", "", "recibido"}), (V{c[2], c[1], c[0]}));
  EXPECT_EQ(claves(t, {"", "", "", "aceptado"}), V{});
  t.process_all();
  EXPECT_EQ(claves(t, {"", "", "", "aceptado"}), (V{c[2], c[1], c[0]}));
  EXPECT_EQ(claves(t, {"", "", "", "recibido"}), V{});
  EXPECT_EQ(claves(t, {"", "", "", "rechazado"}), V{});
  EXPECT_EQ(claves(t, {"", "", "", "no recibido"}), V{});
  // The sandbox's reception emptied: the tool still lists them, not received.
  ASSERT_TRUE(t.inst->store->purge_comprobantes(Environment::kPruebas).ok());
  EXPECT_EQ(claves(t, {"", "", "", "no recibido"}), (V{c[2], c[1], c[0]}));
  EXPECT_EQ(claves(t, {"", "", "", "aceptado"}), V{});
  // Without the reception's row the identification is not known; the name is.
  EXPECT_EQ(claves(t, {"MORA", "", "", "no recibido"}), V{c[1]});
}

TEST_P(EmissionSearch, ByDateInCostaRicasCalendar) {
  Tool t(true, backend());
  const auto c = three_documents(t);
  using V = std::vector<std::string>;
  const auto day = [](UnixSeconds at) {
    const std::string text = format_utc(at - 6 * 3600);  // Costa Rica's wall clock
    return text.substr(0, 10);
  };
  const UnixSeconds now = now_seconds();
  const std::string today = day(now), yesterday = day(now - 86400), tomorrow = day(now + 86400);
  EXPECT_EQ(claves(t, {"", today, today, ""}).size(), 3u);
  EXPECT_EQ(claves(t, {"", yesterday, "", ""}).size(), 3u);
  EXPECT_EQ(claves(t, {"", "", tomorrow, ""}).size(), 3u);
  EXPECT_EQ(claves(t, {"", tomorrow, "", ""}), V{});
  EXPECT_EQ(claves(t, {"", "", yesterday, ""}), V{});
  EXPECT_EQ(claves(t, {"MORA", today, today, "recibido"}), V{c[1]});  // all together
}

TEST(EmissionFilter, ABadFilterIsAFieldErrorWithAClearMessage) {
  auto errors = [](const EmittedSearch& s) {
    std::map<std::string, std::string> out;
    for (const FieldError& e : parse_search(s).errors) out[e.field] = e.message;
    return out;
  };
  for (const char* bad : {"2026-13-01", "2026-02-30", "01/12/2026", "2026-1-5", "ayer",
                          "2026-12-01T00:00:00Z", "２０２６-12-01"}) {
    auto e = errors({"", bad, "", ""});
    ASSERT_TRUE(e.contains("desde")) << bad;
    EXPECT_EQ(e["desde"],
              "La fecha «desde» no es válida: escríbala como AAAA-MM-DD, p. ej. 2026-12-01.");
    EXPECT_TRUE(errors({"", "", bad, ""}).contains("hasta")) << bad;
  }
  EXPECT_TRUE(errors({"", "2026-02-28", "2026-02-28", ""}).empty());
  EXPECT_TRUE(errors({"", "2028-02-29", "", ""}).empty());  // a leap day
  EXPECT_EQ(errors({"", "2026-12-02", "2026-12-01", ""})["hasta"],
            "La fecha «hasta» no puede ser anterior a «desde».");
  EXPECT_EQ(errors({"", "", "", "borrado"})["estado"], "Elija un estado de la lista.");
  EXPECT_TRUE(errors({std::string(101, 'a'), "", "", ""}).contains("receptor"));
}

// --- ResumenFactura against an independent computation -----------------------------

// Half away from zero, in units of 0.00001, with 128-bit integers.
__int128 round_units(__int128 numerator, __int128 denominator) {
  return (numerator + denominator / 2) / denominator;  // all values here are non-negative
}

std::string units_text(__int128 u) {
  return fmt::format("{}.{:05}", static_cast<long long>(u / 100000),
                     static_cast<long long>(u % 100000));
}

std::string element(const std::string& xml, const std::string& name) {
  const auto open = "<" + name + ">";
  const auto at = xml.find(open);
  if (at == std::string::npos) return "<ausente>";
  const auto end = xml.find("</" + name + ">", at);
  return xml.substr(at + open.size(), end - at - open.size());
}

RC_GTEST_PROP(EmissionProperty, ResumenFacturaMatchesAnIndependentComputation, ()) {
  static Tool* tool = new Tool();  // one installation for every case
  const int n = *rc::gen::inRange(1, 6);
  const std::vector<std::pair<std::string, int>> tariff = {{"01", 0},   {"02", 100},  {"03", 200},
                                                           {"04", 400}, {"08", 1300}, {"09", 50}};
  EmissionInput in = factura();
  in.lines.clear();
  __int128 venta = 0, descuentos = 0, impuesto = 0;
  for (int i = 0; i < n; ++i) {
    const long long qty_milli = *rc::gen::inRange<long long>(1, 100000);         // 0.001 … 100
    const long long price_units = *rc::gen::inRange<long long>(0, 10000000000);  // … 100000
    const auto [code, basis_points] = *rc::gen::elementOf(tariff);
    const __int128 monto = round_units(static_cast<__int128>(qty_milli) * price_units, 1000);
    const long long discount =
        monto == 0 ? 0 : *rc::gen::inRange<long long>(0, static_cast<long long>(monto));
    const __int128 sub = monto - discount;
    venta += monto;
    descuentos += discount;
    impuesto += round_units(sub * basis_points, 10000);
    in.lines.push_back(LineInput{"8313100000000", "Línea de prueba",
                                 fmt::format("{}.{:03}", qty_milli / 1000, qty_milli % 1000),
                                 "Unid", units_text(price_units),
                                 discount ? units_text(discount) : "", "Promoción", code});
  }
  auto out = tool->emit(in);
  RC_ASSERT(out.ok());
  const std::string xml(out->record.xml.begin(), out->record.xml.end());
  RC_ASSERT(element(xml, "TotalVenta") == units_text(venta));
  RC_ASSERT(element(xml, "TotalVentaNeta") == units_text(venta - descuentos));
  RC_ASSERT(element(xml, "TotalImpuesto") == units_text(impuesto));
  RC_ASSERT(element(xml, "TotalComprobante") == units_text(venta - descuentos + impuesto));
  if (descuentos > 0) RC_ASSERT(element(xml, "TotalDescuentos") == units_text(descuentos));
}

// --- the representación gráfica (service/pdf_invoice.h) ----------------------------

// The output of `command`, or what it printed before failing.
std::string run(const std::string& command) {
  std::string out;
  if (FILE* p = popen(command.c_str(), "r")) {
    char buf[4096];
    std::size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    pclose(p);
  }
  return out;
}

// Writes the PDF of `clave` to `dir`/name and returns its path.
std::string write_pdf(Tool& t, const std::string& clave, const testing::TempDir& dir,
                      const std::string& name) {
  auto document = t.emission.document(t.taxpayer, clave);
  EXPECT_TRUE(document.ok() && *document);
  if (!document.ok() || !*document) return {};
  auto pdf = invoice_pdf(**document);
  EXPECT_TRUE(pdf.ok()) << (pdf ? "" : pdf.error().message);
  if (!pdf) return {};
  EXPECT_EQ(pdf->substr(0, 5), "%PDF-");
  const std::string path = (dir.path() / name).string();
  std::ofstream(path, std::ios::binary) << *pdf;
  return path;
}

TEST(EmissionPdf, AnAceptadoFacturaShowsItsClaveReceptorTotalAndState) {
  Tool t;
  auto out = t.emit(factura());
  ASSERT_TRUE(out.ok()) << out.error().message;
  t.process_all();
  testing::TempDir dir;
  const std::string path = write_pdf(t, out->record.clave, dir, "factura.pdf");
  ASSERT_FALSE(path.empty());
  const std::string text = run("pdftotext -layout " + path + " -");
  EXPECT_NE(text.find(out->record.clave), std::string::npos) << text;
  EXPECT_NE(text.find("EMPRESA PEÑA DE PRUEBA SOCIEDAD ANONIMA"), std::string::npos) << text;
  EXPECT_NE(text.find("327673.82712"), std::string::npos) << text;
  EXPECT_NE(text.find("Consultoría en facturación"), std::string::npos) << text;
  EXPECT_NE(text.find("aceptado"), std::string::npos) << text;
  EXPECT_NE(run("pdfinfo " + path).find("Pages:           1\n"), std::string::npos);
}

TEST(EmissionPdf, ManyLinesContinueOnMorePages) {
  Tool t;
  EmissionInput in = factura();
  for (int i = 0; i < 120; ++i)
    in.lines.push_back(LineInput{"8313100000000", fmt::format("Servicio número {}", i), "1", "h",
                                 "1000", "", "", "08"});
  auto out = t.emit(in);
  ASSERT_TRUE(out.ok()) << out.error().message;
  testing::TempDir dir;
  const std::string path = write_pdf(t, out->record.clave, dir, "larga.pdf");
  ASSERT_FALSE(path.empty());
  const std::string info = run("pdfinfo " + path);
  const auto at = info.find("Pages:");
  ASSERT_NE(at, std::string::npos) << info;
  EXPECT_GT(std::stoi(info.substr(at + 6)), 1) << info;
  const std::string text = run("pdftotext -layout " + path + " -");
  EXPECT_NE(text.find("Servicio número 119"), std::string::npos);
  EXPECT_NE(text.find(out->record.total), std::string::npos);
}

}  // namespace
}  // namespace llavero
