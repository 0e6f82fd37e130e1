// The portal's pages as the router serves them (issue 14): Post/Redirect/Get
// answers, the flash cookie that never carries a PIN, and the 404, 410 and
// 500 pages in the portal's frame. The same pages in a real browser, with
// axe-core, are in e2e/portal-ux.test.mjs.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <regex>

#include "http/http.h"
#include "portal/portal.h"
#include "portal_browser.h"
#include "service/accounts.h"
#include "service/downloads.h"
#include "service/token_service.h"
#include "testing.h"

namespace llavero {

using namespace llavero::service;
namespace {

constexpr const char* kPerson = "1-0647-0958";
constexpr const char* kPassword = "correcta-123";

// The portal's routes over a test installation, through testing::PortalBrowser.
struct Browser : testing::PortalBrowser {
  std::unique_ptr<testing::Installation> inst;
  AccountService accounts{*inst->store, inst->config};
  testing::TempDir dir;
  DownloadVault vault{*inst->store, *load_or_create_server_key(dir.path() / "portal.key")};

  // The Herramienta Gratuita, for the tests that ask for it: its emission
  // hands documents to the reception, which nobody processes here.
  struct Tool {
    xml::SchemaValidator schemas{xml::schema_directory("")};
    KeyCustody custody;
    TokenService tokens;
    ReceptionService reception;
    EmissionService emission;
    Tool(testing::Installation& inst, AccountService& accounts)
        : custody{*inst.store, *inst.keyring, *load_or_create_custody_key(inst.dir.path(), "")},
          tokens{*inst.store, accounts, *inst.keyring, inst.config},
          reception{*inst.store, tokens, inst.config},
          emission{*inst.store, inst.config, custody, reception, schemas} {
      EXPECT_TRUE(schemas.load().ok());
    }
  };
  std::unique_ptr<Tool> tool;

  explicit Browser(testing::Backend backend, bool with_tool = false)
      : inst(testing::make_installation(backend)) {
    EXPECT_TRUE(accounts.set_portal_password(kPerson, SecretString(kPassword), "test").ok());
    portal::PortalServices services{*inst->service, accounts, vault};
    if (with_tool) {
      tool = std::make_unique<Tool>(*inst, accounts);
      inst->service->keep_in_custody_with(&tool->custody);
      services.emission = &tool->emission;
      services.custody = &tool->custody;
    }
    portal::add_portal_routes(router, services);
  }
  std::string log_in() { return PortalBrowser::log_in(kPerson, kPassword); }
};

// Both suites run on both stores (SQLite and PostgreSQL).
class PortalPages : public testing::OnBothBackends {};
LLAVERO_ON_BOTH_BACKENDS(PortalPages);
class PortalTool : public testing::OnBothBackends {};
LLAVERO_ON_BOTH_BACKENDS(PortalTool);

// A page in the portal's frame: the layout's skip link, main and footer.
void expect_framed(const http::Response& r, std::string_view heading) {
  EXPECT_EQ(r[http::field::content_type], "text/html; charset=utf-8");
  const std::string& html = r.body();
  EXPECT_NE(html.find("Saltar al contenido principal"), std::string::npos);
  EXPECT_NE(html.find("<main id=\"contenido\""), std::string::npos);
  EXPECT_NE(html.find("<footer"), std::string::npos);
  EXPECT_NE(html.find("<h1>" + std::string(heading) + "</h1>"), std::string::npos) << html;
}

TEST_P(PortalPages, AnUnknownPathIsA404InThePortalFrame) {
  Browser b(backend());
  const http::Response anonymous = b.get("/nada");
  EXPECT_EQ(anonymous.result(), http::status::not_found);
  expect_framed(anonymous, "Página no encontrada");
  EXPECT_EQ(anonymous.body().find("Salir"), std::string::npos);
  b.log_in();
  for (const char* path : {"/nada", "/llaves/pruebas/nada", "/llaves/otro/generar"}) {
    const http::Response r = b.get(path);
    EXPECT_EQ(r.result(), http::status::not_found) << path;
    expect_framed(r, "Página no encontrada");
    EXPECT_NE(r.body().find("Salir"), std::string::npos) << "with the menu when logged in";
  }
}

TEST_P(PortalPages, TheRouterKeeps405ForAKnownPathAndAWrongMethod) {
  Browser b(backend());
  const http::Router::Match match = b.router.find(http::verb::put, "/ingresar");
  EXPECT_EQ(match.route, nullptr);
  EXPECT_TRUE(match.path_known);
  ASSERT_NE(b.router.not_found(), nullptr);
}

TEST_P(PortalPages, ASpentDownloadIsA410InThePortalFrame) {
  Browser b(backend());
  const std::string csrf = b.log_in();
  http::Response r = b.post("/llaves/descargar", "csrf=" + csrf + "&descarga=gastada");
  EXPECT_EQ(r.result(), http::status::gone);
  expect_framed(r, "El archivo ya no está disponible");
}

TEST_P(PortalPages, AStoreFailureIsA500InThePortalFrameAndChangesNothing) {
  Browser b(backend());
  b.log_in();
  ASSERT_EQ(testing::raw_sql(*b.inst, "ALTER TABLE certificates RENAME TO certificados_perdidos"),
            "");
  const http::Response r = b.get("/llaves/pruebas/generar");
  EXPECT_EQ(r.result(), http::status::internal_server_error);
  expect_framed(r, "Algo salió mal");
  EXPECT_NE(r.body().find("No se realizó ningún cambio"), std::string::npos);
}

TEST_P(PortalPages, GenerarWithWrongPinsRedirectsWithFieldCodesNeverThePins) {
  Browser b(backend());
  const std::string csrf = b.log_in();
  const std::string form = b.get("/llaves/pruebas/generar").body();
  http::Response r = b.post("/llaves/pruebas/generar",
                            "csrf=" + csrf + "&solicitud=" + Browser::hidden(form, "solicitud") +
                                "&pin=12a4&pin2=9876&facturador=si");
  EXPECT_EQ(r.result(), http::status::see_other);
  EXPECT_EQ(r[http::field::location], "/llaves/pruebas/generar");
  const std::string flash = b.cookies["llavero_aviso"];
  EXPECT_NE(flash.find("pin=invalido"), std::string::npos) << flash;
  EXPECT_NE(flash.find("facturador=si"), std::string::npos) << flash;
  EXPECT_EQ(flash.find("12a4"), std::string::npos);
  EXPECT_EQ(flash.find("9876"), std::string::npos);
  // The page after the redirect: the summary links to the field, the field
  // is marked, the checkbox kept; the flash is read once.
  http::Response page = b.get("/llaves/pruebas/generar");
  EXPECT_EQ(page.result(), http::status::ok);
  const std::string& html = page.body();
  EXPECT_NE(html.find("<a href=\"#pin\">El PIN debe contener exactamente 4 números.</a>"),
            std::string::npos);
  EXPECT_NE(html.find("aria-invalid=\"true\" aria-describedby=\"pin-error\""), std::string::npos);
  EXPECT_NE(html.find("<title>Error: [PRUEBAS] Generar llave criptográfica en pruebas"),
            std::string::npos);
  EXPECT_NE(html.find("checked"), std::string::npos);
  EXPECT_EQ(b.cookies.count("llavero_aviso"), 0u);
  EXPECT_EQ(b.get("/llaves/pruebas/generar").body().find("aria-invalid"), std::string::npos);
  // Nothing was generated.
  auto keys = b.inst->service->status(kPerson, Environment::kPruebas);
  ASSERT_TRUE(keys.ok());
  EXPECT_TRUE(keys->empty());
}

TEST_P(PortalPages, TheSameGenerarFormSentTwiceMakesOneKey) {
  Browser b(backend());
  const std::string csrf = b.log_in();
  const std::string solicitud =
      Browser::hidden(b.get("/llaves/pruebas/generar").body(), "solicitud");
  const std::string body = "csrf=" + csrf + "&solicitud=" + solicitud + "&pin=2580&pin2=2580";
  http::Response first = b.post("/llaves/pruebas/generar", body);
  EXPECT_EQ(first.result(), http::status::see_other);
  EXPECT_TRUE(first[http::field::location].starts_with("/llaves/pruebas/generar/aviso?serie="));
  http::Response again = b.post("/llaves/pruebas/generar", body);  // Back, then resubmit
  EXPECT_EQ(again.result(), http::status::see_other);
  EXPECT_EQ(again[http::field::location], "/llaves/pruebas/generar");
  EXPECT_NE(b.get("/llaves/pruebas/generar").body().find("no se generó otra llave"),
            std::string::npos);
  auto keys = b.inst->service->status(kPerson, Environment::kPruebas);
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ(keys->front().state, KeyState::kPendiente);
}

// --- the Herramienta Gratuita's Comprobantes emitidos and a comprobante's page ------

// A key kept for the tool and `n` facturas to EMPRESA PEÑA, emitted through
// the service; the claves, oldest first.
std::vector<std::string> emit_facturas(Browser& b, int n) {
  Bytes p12;
  EXPECT_TRUE(b.inst->service
                  ->generate(GenerateRequest{kPerson, Environment::kPruebas, std::nullopt, true},
                             *Pin::parse("1234"), testing::keep_p12(p12), "test")
                  .ok());
  const TaxpayerRecord taxpayer = *b.inst->service->find_taxpayer(kPerson);
  EmissionInput in;
  in.otras_senas = "Avenida 2, calles 5 y 7";
  in.correo = "prueba@example.com";
  in.receptor_identificacion = "3-101-522899";
  in.receptor_nombre = "EMPRESA PEÑA DE PRUEBA";
  in.lines = {
      LineInput{"8313100000000", "Consultoría", "2", "h", "25000", "", "", "08"},
      LineInput{"4321000000000", "Cable de red", "3", "M", "1000", "500", "Promoción", "04"}};
  std::vector<std::string> claves;
  std::vector<service::FieldError> errors;
  for (int i = 0; i < n; ++i) {
    auto made = b.tool->emission.emit(taxpayer, in, errors, "test");
    EXPECT_TRUE(made.ok()) << (made ? "" : made.error().message);
    if (made) claves.push_back(made->record.clave);
  }
  return claves;
}

// The rows of the Emitidos table.
std::size_t rows(const std::string& html) {
  constexpr std::string_view kCell = "<td data-etiqueta=\"Comprobante\">";
  std::size_t n = 0;
  for (auto at = html.find(kCell); at != std::string::npos; at = html.find(kCell, at + 1)) ++n;
  return n;
}

TEST_P(PortalTool, EmitidosKeepsTheSearchAcrossPages) {
  Browser b(backend(), /*with_tool=*/true);
  b.log_in();
  const auto claves = emit_facturas(b, 21);
  ASSERT_EQ(claves.size(), 21u);
  http::Response first = b.get("/herramienta/pruebas/emitidos?receptor=empresa&estado=recibido");
  ASSERT_EQ(first.result(), http::status::ok);
  EXPECT_EQ(rows(first.body()), 20u);
  EXPECT_NE(first.body().find("Comprobantes 1 a 20 de 21"), std::string::npos);
  EXPECT_NE(first.body().find("value=\"empresa\""), std::string::npos) << "the search is kept";
  const std::string next =
      "/herramienta/pruebas/emitidos?pagina=2&amp;estado=recibido&amp;receptor=empresa";
  EXPECT_NE(first.body().find(next), std::string::npos) << first.body();
  http::Response second =
      b.get("/herramienta/pruebas/emitidos?pagina=2&receptor=empresa&estado=recibido");
  EXPECT_EQ(rows(second.body()), 1u);
  EXPECT_NE(second.body().find(claves.front()), std::string::npos) << "the oldest, last";
  EXPECT_NE(second.body().find("pagina=1&amp;estado=recibido&amp;receptor=empresa"),
            std::string::npos);
  // Another search finds none of them.
  http::Response none = b.get("/herramienta/pruebas/emitidos?estado=aceptado");
  EXPECT_EQ(rows(none.body()), 0u);
  EXPECT_NE(none.body().find("Ningún comprobante coincide con la búsqueda."), std::string::npos);
}

TEST_P(PortalTool, AMalformedSearchIsA400WithItsMessageNotA500) {
  Browser b(backend(), /*with_tool=*/true);
  b.log_in();
  emit_facturas(b, 1);
  for (const char* query : {"desde=2026-13-45", "hasta=31%2F12%2F2026", "estado=borrado",
                            "desde=2026-12-02&hasta=2026-12-01"}) {
    http::Response r = b.get(std::string("/herramienta/pruebas/emitidos?") + query);
    EXPECT_EQ(r.result(), http::status::bad_request) << query;
    expect_framed(r, "Comprobantes emitidos en pruebas");
    EXPECT_NE(r.body().find("aria-invalid=\"true\""), std::string::npos) << query;
    EXPECT_EQ(rows(r.body()), 0u) << query;
  }
  EXPECT_NE(b.get("/herramienta/pruebas/emitidos?desde=2026-13-45")
                .body()
                .find("La fecha «desde» no es válida: escríbala como AAAA-MM-DD"),
            std::string::npos);
}

TEST_P(PortalTool, AComprobantesPageShowsItsLinesAndTotalsAndOffersNotasOnlyWhenAceptado) {
  Browser b(backend(), /*with_tool=*/true);
  b.log_in();
  const auto claves = emit_facturas(b, 1);
  ASSERT_EQ(claves.size(), 1u);
  const std::string html = b.get("/herramienta/pruebas/comprobante?clave=" + claves[0]).body();
  EXPECT_NE(html.find("<td data-etiqueta=\"Descripción\">Cable de red</td>"), std::string::npos)
      << html;
  EXPECT_NE(html.find("<td data-etiqueta=\"Cantidad\">3.000 M</td>"), std::string::npos);
  EXPECT_NE(html.find("<td data-etiqueta=\"Descuento\">500.00000</td>"), std::string::npos);
  // 2 × 25000 at 13 % + (3000 − 500) at 4 %: 56500 + 2600.
  EXPECT_NE(html.find("<dt>Total comprobante</dt><dd>59100.00000 CRC</dd>"), std::string::npos);
  EXPECT_NE(html.find("EMPRESA PEÑA DE PRUEBA (3101522899)"), std::string::npos);
  // Not decided yet: no nota is offered.
  EXPECT_EQ(html.find("Emitir nota de crédito"), std::string::npos);
  // Emitir prefilled from a link; what is not a kind or a clave is ignored.
  const std::string form =
      b.get("/herramienta/pruebas/emitir?tipo=03&referencia=" + claves[0]).body();
  EXPECT_NE(form.find("<option value=\"03\" selected>"), std::string::npos);
  EXPECT_NE(form.find("value=\"" + claves[0] + "\""), std::string::npos);
  const std::string odd = b.get("/herramienta/pruebas/emitir?tipo=99&referencia=123").body();
  EXPECT_NE(odd.find("<option value=\"01\" selected>"), std::string::npos);
  EXPECT_EQ(odd.find("value=\"123\""), std::string::npos);
}

// An oversized Emitir form (more fields than 100 lines have) is refused as
// too big, saying so, and nothing is numbered, signed or stored.
TEST_P(PortalTool, AnOversizedEmitirFormIsA413ThatSaysSoAndEmitsNothing) {
  Browser b(backend(), /*with_tool=*/true);
  const std::string csrf = b.log_in();
  Bytes p12;
  ASSERT_TRUE(b.inst->service
                  ->generate(GenerateRequest{kPerson, Environment::kPruebas, std::nullopt, true},
                             *Pin::parse("1234"), testing::keep_p12(p12), "test")
                  .ok());
  std::string body = "csrf=" + csrf + "&solicitud=x&tipo_documento=01";
  for (int i = 1; i <= 130; ++i)
    for (const char* f : {"cabys", "detalle", "cantidad", "unidad", "precio", "descuento",
                          "naturaleza_descuento", "tarifa"})
      body += fmt::format("&linea{}_{}=1", i, f);
  http::Response r = b.post("/herramienta/pruebas/emitir", body);
  EXPECT_EQ(r.result(), http::status::payload_too_large);
  expect_framed(r, "Formulario demasiado grande");
  EXPECT_NE(r.body().find("No se emitió, firmó ni guardó nada."), std::string::npos);
  EXPECT_EQ(testing::sql_count(*b.inst, "SELECT count(*) FROM emitidos"), 0);
  EXPECT_EQ(testing::sql_count(*b.inst, "SELECT count(*) FROM consecutivos"), 0);
  // A form of normal size with a wrong CSRF token is still the forbidden page.
  http::Response forged = b.post("/herramienta/pruebas/emitir", "csrf=otro&tipo_documento=01");
  EXPECT_EQ(forged.result(), http::status::forbidden);
}

}  // namespace
}  // namespace llavero
