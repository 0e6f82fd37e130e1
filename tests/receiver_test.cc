// The Herramienta Gratuita's Recibidos (service/receiver.h,
// docs/herramienta.md): a factura one taxpayer emits to another through the
// tool appears in the receptor's Recibidos once received; the receptor's
// answer is a MensajeReceptor valid against the official schema, verified by
// xmlsec1, numbered with its own consecutivo and aceptado by the reception;
// a second answer, an answer to a document not yet accepted or to someone
// else's, a missing reason and a missing key are refused and number, sign
// and send nothing.
#include "service/receiver.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <thread>
#include <utility>

#include "official_schemas.h"
#include "testing.h"
#include "tool_fixture.h"
#include "util/error_codes.h"
#include "xml/document.h"
#include "xmlsec_verify.h"

namespace llavero {

using namespace llavero::service;
namespace {

constexpr const char* kEmisor = "1-0647-0958";
constexpr const char* kReceptor = "3-101-522899";

using testing::official_schemas;

// Two taxpayers of one installation, each with a key kept in custody in
// pruebas (the receptor's only when asked), the reception and its processor.
struct Parties : testing::ToolServices {
  ReceiverService receiver{*inst->store, inst->config,       custody,
                           reception,    official_schemas(), emission};
  TaxpayerRecord emisor = *inst->service->find_taxpayer(kEmisor);
  TaxpayerRecord receptor = *inst->service->find_taxpayer(kReceptor);

  explicit Parties(testing::Backend backend, bool receptor_keeps_key = true)
      : ToolServices(backend) {
    generate_key(kEmisor, true);
    generate_key(kReceptor, receptor_keeps_key);
  }

  // A factura from the emisor to the receptor, through the tool; decided
  // (aceptado) unless `decide` is false. With `compra`, a factura de compra
  // the emisor issues as the buyer, the receptor being its proveedor.
  std::string factura(bool decide = true, bool compra = false) {
    EmissionInput in;
    in.otras_senas = "Avenida 2, calles 5 y 7";
    in.correo = "prueba@example.com";
    in.receptor_identificacion = kReceptor;
    in.receptor_nombre = "EMPRESA PEÑA DE PRUEBA SOCIEDAD ANONIMA";
    in.lines = {LineInput{"8313100000000", "Consultoría", "2", "h", "25000", "", "", "08"},
                LineInput{"4321000000000", "Cable de red", "3", "M", "1000", "", "", "04"}};
    if (compra) {
      in.kind = DocumentKind::kFacturaCompra;
      in.proveedor_identificacion = std::exchange(in.receptor_identificacion, "");
      in.proveedor_nombre = std::exchange(in.receptor_nombre, "");
    }
    std::vector<FieldError> errors;
    auto out = emission.emit(emisor, in, errors, "test");
    EXPECT_TRUE(out.ok()) << (out ? "" : out.error().message);
    if (decide) process_all();
    return out ? out->record.clave : "";
  }

  Result<Emission> answer(const std::string& clave, const std::string& decision,
                          const std::string& detalle, std::vector<FieldError>* errors = nullptr,
                          const TaxpayerRecord* who = nullptr) {
    std::vector<FieldError> local;
    return receiver.answer(who ? *who : receptor,
                           AnswerInput{Environment::kPruebas, clave, decision, detalle},
                           errors ? *errors : local, "test");
  }

  std::int64_t count(const std::string& sql) { return testing::sql_count(*inst, sql); }
  // What an answer leaves behind: its number, its row, its signature, its submission.
  std::int64_t traces() {
    return count("SELECT count(*) FROM consecutivos WHERE tipo IN ('05','06','07')") +
           count("SELECT count(*) FROM emitidos WHERE tipo IN ('05','06','07')") +
           count(
               "SELECT count(*) FROM audit_log WHERE action = 'herramienta.firmar' AND detail "
               "LIKE '%mensaje=%'") +
           count("SELECT count(*) FROM comprobantes WHERE clave LIKE '%-%'");
  }
};

// Every test runs on both stores.
class Recibidos : public testing::OnBothBackends {};
LLAVERO_ON_BOTH_BACKENDS(Recibidos);

std::string text(const Bytes& b) {
  return std::string(b.begin(), b.end());
}

TEST_P(Recibidos, ARejectionIsASignedValidMensajeReceptorThatTheReceptionAccepts) {
  Parties p(backend());
  const std::string clave = p.factura();

  auto page = p.receiver.received(p.receptor, Environment::kPruebas, 0, 20);
  ASSERT_TRUE(page.ok()) << page.error().message;
  ASSERT_EQ(page->total, 1);
  const ReceivedDocument& listed = page->items.at(0);
  EXPECT_EQ(listed.record.clave, clave);
  EXPECT_EQ(listed.record.state, ComprobanteState::kAceptado);
  EXPECT_EQ(listed.emisor_nombre, "CONTRIBUYENTE PEÑA DE PRUEBA");
  EXPECT_EQ(listed.emisor_identificacion, "1-0647-0958");
  // 2 × 25000 at 13% + 3 × 1000 at 4%: 50000 + 6500 + 3000 + 120.
  EXPECT_EQ(listed.total, "59620.00000");
  EXPECT_EQ(listed.impuesto, "6620.00000");
  EXPECT_TRUE(listed.can_answer());

  auto sent = p.answer(clave, "rechazar", "  Los precios no son los pactados  ");
  ASSERT_TRUE(sent.ok()) << sent.error().message;
  EXPECT_EQ(sent->reception_status, 202u) << sent->reception_cause;
  EXPECT_EQ(sent->record.tipo, "07");
  EXPECT_EQ(sent->record.consecutivo, "00100001070000000001");
  EXPECT_EQ(sent->record.clave, clave + "-00100001070000000001");

  const std::string xml = text(sent->record.xml);
  auto doc = xml::parse(xml, xades::kMaxDocumentBytes);
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(official_schemas().validate(doc->get()), std::vector<std::string>());
  const xmlNode* root = xmlDocGetRootElement(doc->get());
  auto at = [&](std::string_view path) { return xml::text(xml::find_path(root, path)); };
  EXPECT_EQ(at("Clave"), clave);
  EXPECT_EQ(at("NumeroCedulaEmisor"), "106470958");
  EXPECT_EQ(at("Mensaje"), "3");
  EXPECT_EQ(at("DetalleMensaje"), "Los precios no son los pactados");
  EXPECT_EQ(at("MontoTotalImpuesto"), "6620.00000");
  EXPECT_EQ(at("TotalFactura"), "59620.00000");
  EXPECT_EQ(at("NumeroCedulaReceptor"), "3101522899");
  EXPECT_EQ(at("NumeroConsecutivoReceptor"), "00100001070000000001");
  EXPECT_NE(xml.find("<xades:ClaimedRole>receptor</xades:ClaimedRole>"), std::string::npos);
  const auto verified = testing::xmlsec_verify(*p.inst, xml);
  EXPECT_TRUE(verified.verified) << verified.command;
  EXPECT_EQ(p.count("SELECT count(*) FROM audit_log WHERE action = 'herramienta.firmar' AND "
                    "detail LIKE '%mensaje=3%' AND detail LIKE '%" +
                    sent->record.clave + "%'"),
            1);

  // Before the reception decides, the answer is shown as received; then aceptado.
  auto shown = p.receiver.document(p.receptor, Environment::kPruebas, clave);
  ASSERT_TRUE(shown.ok() && *shown);
  ASSERT_TRUE((*shown)->answer);
  EXPECT_EQ((*shown)->decision, ReceptorDecision::kRechazar);
  EXPECT_EQ((*shown)->answer_detalle, "Los precios no son los pactados");
  EXPECT_EQ((*shown)->answer->state, ComprobanteState::kRecibido);
  EXPECT_FALSE((*shown)->can_answer());
  p.process_all();
  shown = p.receiver.document(p.receptor, Environment::kPruebas, clave);
  ASSERT_TRUE(shown.ok() && *shown && (*shown)->answer);
  EXPECT_EQ((*shown)->answer->state, ComprobanteState::kAceptado)
      << text((*shown)->answer->mensaje_hacienda);

  // The answer is no comprobante emitido of the receptor's.
  auto emitted = p.emission.emitted(p.receptor, Environment::kPruebas, EmittedFilter{}, 0, 20);
  ASSERT_TRUE(emitted.ok());
  EXPECT_EQ(emitted->total, 0);
  EXPECT_TRUE(emitted->items.empty());
}

TEST_P(Recibidos, AnAcceptanceAndAPartialOneHaveTheirOwnConsecutivos) {
  Parties p(backend());
  const std::string first = p.factura(), second = p.factura();
  auto accepted = p.answer(first, "aceptar", "");  // no reason needed
  ASSERT_TRUE(accepted.ok()) << accepted.error().message;
  EXPECT_EQ(accepted->record.consecutivo, "00100001050000000001");
  EXPECT_EQ(text(accepted->record.xml).find("DetalleMensaje"), std::string::npos);
  auto partial = p.answer(second, "parcial", "Se acepta solo el cable de red");
  ASSERT_TRUE(partial.ok()) << partial.error().message;
  EXPECT_EQ(partial->record.consecutivo, "00100001060000000001");
  EXPECT_NE(text(partial->record.xml).find("<Mensaje>2</Mensaje>"), std::string::npos);
  p.process_all();
  for (const std::string& clave : {first, second}) {
    auto shown = p.receiver.document(p.receptor, Environment::kPruebas, clave);
    ASSERT_TRUE(shown.ok() && *shown && (*shown)->answer);
    EXPECT_EQ((*shown)->answer->state, ComprobanteState::kAceptado)
        << text((*shown)->answer->mensaje_hacienda);
  }
}

TEST_P(Recibidos, ASecondAnswerIsRefusedAndSendsNothing) {
  Parties p(backend());
  const std::string clave = p.factura();
  ASSERT_TRUE(p.answer(clave, "aceptar", "").ok());
  const std::int64_t before = p.traces();
  auto again = p.answer(clave, "rechazar", "Cambié de opinión");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, errc::kYaRespondido);
  EXPECT_NE(again.error().message.find("ya fue respondido (aceptado)"), std::string::npos)
      << again.error().message;
  EXPECT_EQ(p.traces(), before);
  EXPECT_EQ(p.count("SELECT count(*) FROM consecutivos WHERE tipo = '07'"), 0);
}

TEST_P(Recibidos, TwoAnswersAtTheSameInstantSendOne) {
  Parties p(backend());
  const std::string clave = p.factura();
  std::vector<Result<Emission>> results;
  std::mutex mu;
  std::vector<std::thread> threads;
  for (const char* decision : {"aceptar", "aceptar", "rechazar", "parcial"})
    threads.emplace_back([&, decision] {
      auto r = p.answer(clave, decision, "Motivo de la respuesta");
      std::lock_guard lock(mu);
      results.push_back(std::move(r));
    });
  for (auto& t : threads) t.join();
  int ok = 0;
  for (const auto& r : results) {
    if (r) {
      ++ok;
    } else {
      EXPECT_EQ(r.error().code, errc::kYaRespondido) << r.error().message;
    }
  }
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(p.count("SELECT count(*) FROM emitidos WHERE tipo IN ('05','06','07')"), 1);
  EXPECT_EQ(p.count("SELECT count(*) FROM comprobantes WHERE clave LIKE '%-%'"), 1);
  EXPECT_EQ(p.count("SELECT sum(ultimo) FROM consecutivos WHERE tipo IN ('05','06','07')"), 1);
}

TEST_P(Recibidos, ADocumentNotYetAcceptedCannotBeAnswered) {
  Parties p(backend());
  const std::string clave = p.factura(/*decide=*/false);
  auto shown = p.receiver.document(p.receptor, Environment::kPruebas, clave);
  ASSERT_TRUE(shown.ok() && *shown);
  EXPECT_EQ((*shown)->record.state, ComprobanteState::kRecibido);
  EXPECT_FALSE((*shown)->can_answer());
  auto refused = p.answer(clave, "aceptar", "");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, errc::kComprobanteNoAceptado);
  EXPECT_NE(refused.error().message.find("recibido"), std::string::npos);
  EXPECT_EQ(p.traces(), 0);
}

TEST_P(Recibidos, NobodyElseSeesOrAnswersTheReceptorsDocuments) {
  Parties p(backend());
  const std::string clave = p.factura();
  // The emisor is not the receptor: its own factura is not in its Recibidos.
  auto listed = p.receiver.received(p.emisor, Environment::kPruebas, 0, 20);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->total, 0);
  auto hidden = p.receiver.document(p.emisor, Environment::kPruebas, clave);
  ASSERT_TRUE(hidden.ok());
  EXPECT_FALSE(*hidden);
  auto refused = p.answer(clave, "rechazar", "No es mío", nullptr, &p.emisor);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, errc::kComprobanteDesconocido);
  // Nor is it the receptor's in the other environment, nor under a made-up key.
  auto other_env = p.receiver.document(p.receptor, Environment::kProduccion, clave);
  ASSERT_TRUE(other_env.ok());
  EXPECT_FALSE(*other_env);
  auto made_up = p.receiver.document(p.receptor, Environment::kPruebas, clave + "-1");
  ASSERT_TRUE(made_up.ok());
  EXPECT_FALSE(*made_up);
  EXPECT_EQ(p.traces(), 0);
}

TEST_P(Recibidos, APartialAcceptanceOrARejectionNeedsItsReason) {
  Parties p(backend());
  const std::string clave = p.factura();
  for (const std::string decision : {"parcial", "rechazar"}) {
    for (const std::string& detalle :
         std::vector<std::string>{"", "  ", "no", std::string(161, 'x')}) {
      std::vector<FieldError> errors;
      auto refused = p.answer(clave, decision, detalle, &errors);
      ASSERT_FALSE(refused.ok());
      EXPECT_EQ(refused.error().code, errc::kDatoInvalido);
      ASSERT_EQ(errors.size(), 1u) << decision << " / " << detalle;
      EXPECT_EQ(errors[0].field, "detalle");
    }
  }
  // 160 characters of two bytes each fit (the schema counts characters).
  std::string accents;
  for (int i = 0; i < 160; ++i) accents += "ñ";
  EXPECT_TRUE(p.receiver.check({Environment::kPruebas, clave, "rechazar", accents}).empty());
  std::vector<FieldError> errors;
  auto no_decision = p.answer(clave, "quizas", "", &errors);
  ASSERT_FALSE(no_decision.ok());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "decision");
  EXPECT_EQ(p.traces(), 0);
}

TEST_P(Recibidos, WithoutAKeptKeyNothingIsSent) {
  Parties p(backend(), /*receptor_keeps_key=*/false);
  const std::string clave = p.factura();
  auto shown = p.receiver.document(p.receptor, Environment::kPruebas, clave);
  ASSERT_TRUE(shown.ok() && *shown);  // still readable
  auto refused = p.answer(clave, "aceptar", "");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, errc::kSinLlaveCustodia);
  EXPECT_EQ(p.traces(), 0);
}

TEST_P(Recibidos, TheListIsNewestFirstAndPaginated) {
  Parties p(backend());
  std::vector<std::string> claves;
  for (int i = 0; i < 3; ++i) claves.push_back(p.factura(/*decide=*/false));
  auto first = p.receiver.received(p.receptor, Environment::kPruebas, 0, 2);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->total, 3);
  ASSERT_EQ(first->items.size(), 2u);
  EXPECT_EQ(first->items[0].record.clave, claves[2]);
  EXPECT_EQ(first->items[1].record.clave, claves[1]);
  auto second = p.receiver.received(p.receptor, Environment::kPruebas, 2, 2);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->items.size(), 1u);
  EXPECT_EQ(second->items[0].record.clave, claves[0]);
}

TEST_P(Recibidos, AFacturaDeCompraNamesTheBuyerWhoIssuedItAsEmisor) {
  Parties p(backend());
  const std::string clave = p.factura(/*decide=*/true, /*compra=*/true);
  auto shown = p.receiver.document(p.receptor, Environment::kPruebas, clave);
  ASSERT_TRUE(shown.ok() && *shown);
  EXPECT_EQ((*shown)->tipo, "08");
  EXPECT_EQ((*shown)->emisor_nombre, "CONTRIBUYENTE PEÑA DE PRUEBA");
  EXPECT_EQ((*shown)->emisor_identificacion, "1-0647-0958");
  auto sent = p.answer(clave, "aceptar", "");
  ASSERT_TRUE(sent.ok()) << sent.error().message;
  p.process_all();
  shown = p.receiver.document(p.receptor, Environment::kPruebas, clave);
  ASSERT_TRUE(shown.ok() && *shown && (*shown)->answer);
  EXPECT_EQ((*shown)->answer->state, ComprobanteState::kAceptado)
      << text((*shown)->answer->mensaje_hacienda);
}

}  // namespace
}  // namespace llavero
