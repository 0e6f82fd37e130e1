#include "service/receiver.h"

#include <fmt/format.h>
#include <libxml/tree.h>

#include <boost/json.hpp>

#include "id/clave.h"
#include "id/identification.h"
#include "service/document_rules.h"
#include "util/base64.h"
#include "util/clock.h"
#include "util/error_codes.h"
#include "xades/xades.h"
#include "xml/document.h"

namespace llavero::service {

namespace {

constexpr std::string_view kNamespace =
    "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/mensajeReceptor";
constexpr std::size_t kMaxDetalle = 160;  // DetalleMensaje's maxLength

struct DecisionInfo {
  ReceptorDecision decision;
  std::string_view value, label, tipo;  // the form's value, the label, the consecutivo's type
};
constexpr DecisionInfo kDecisions[] = {
    {ReceptorDecision::kAceptar, "aceptar", "aceptado", "05"},
    {ReceptorDecision::kAceptarParcial, "parcial", "aceptado parcialmente", "06"},
    {ReceptorDecision::kRechazar, "rechazar", "rechazado", "07"},
};
const DecisionInfo& info(ReceptorDecision decision) {
  for (const DecisionInfo& d : kDecisions)
    if (d.decision == decision) return d;
  return kDecisions[0];
}

// Characters, not bytes: the schema's maxLength counts characters.
std::size_t characters(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string text_at(const xmlNode* root, std::string_view path) {
  return xml::trimmed(xml::text(xml::find_path(root, path)));
}

Result<xml::Document> parse(const Bytes& xml) {
  return xml::parse(std::string_view(reinterpret_cast<const char*>(xml.data()), xml.size()),
                    xades::kMaxDocumentBytes);
}

// The reception's key of a MensajeReceptor: "<clave>-<consecutivoReceptor>".
bool is_mensaje_receptor_key(std::string_view key) {
  return key.find('-') != std::string_view::npos;
}

}  // namespace

std::optional<ReceptorDecision> parse_receptor_decision(std::string_view value) {
  for (const DecisionInfo& d : kDecisions)
    if (d.value == value) return d.decision;
  return std::nullopt;
}

std::string_view receptor_decision_label(ReceptorDecision decision) {
  return info(decision).label;
}

bool ReceivedDocument::can_answer() const {
  return record.state == ComprobanteState::kAceptado && !answer;
}

ReceiverService::ReceiverService(Store& store, const Config& config, KeyCustody& custody,
                                 ReceptionService& reception, const xml::SchemaValidator& schemas,
                                 EmissionService& emission)
    : store_(store),
      config_(config),
      custody_(custody),
      reception_(reception),
      schemas_(schemas),
      emission_(emission) {}

Result<ReceivedDocument> ReceiverService::describe(const TaxpayerRecord& receptor,
                                                   ComprobanteRecord record) {
  ReceivedDocument d;
  if (auto clave = Clave::parse(record.clave.substr(0, 50))) d.tipo = clave->tipo;
  // The reception took it; if it is no XML at all, the page still shows the envelope.
  if (auto doc = parse(record.xml)) {
    const xmlNode* root = xmlDocGetRootElement(doc->get());
    d.consecutivo = text_at(root, "NumeroConsecutivo");
    // Who issued it: the buyer, for a factura de compra (document_rules.h).
    d.emisor_nombre = text_at(root, std::string(parties(root).issuer) + "/Nombre");
    d.fecha_emision = text_at(root, "FechaEmision");
    d.total = text_at(root, "ResumenFactura/TotalComprobante");
    d.impuesto = text_at(root, "ResumenFactura/TotalImpuesto");
    d.moneda = text_at(root, "ResumenFactura/CodigoTipoMoneda/CodigoMoneda");
  }
  if (d.moneda.empty()) d.moneda = "CRC";
  d.emisor_identificacion = record.emisor_numero;
  if (auto id = Identification::parse(record.emisor_numero))
    d.emisor_identificacion = id->printed();

  auto answered = store_.receptor_answer(record.environment, record.clave);
  if (!answered) return answered.error();
  if (*answered) {
    auto sent = emission_.document(receptor, (*answered)->clave);
    if (!sent) return sent.error();
    if (*sent) {
      for (const DecisionInfo& i : kDecisions)
        if (i.tipo == (*answered)->tipo) d.decision = i.decision;
      if (auto doc = parse(sent.value()->record.xml))
        d.answer_detalle = text_at(xmlDocGetRootElement(doc->get()), "DetalleMensaje");
      d.answer = std::move(**sent);
    }
  }
  d.record = std::move(record);
  return d;
}

Result<ReceivedPage> ReceiverService::received(const TaxpayerRecord& receptor, Environment env,
                                               std::int64_t offset, std::int64_t limit) {
  auto id = Identification::parse(receptor.identification);
  if (!id) return id.error();
  ComprobanteQuery q;
  q.environment = env;
  q.party = id->digits();
  q.receptor = id->digits();
  q.offset = offset;
  q.limit = limit;
  q.newest_first = true;
  auto page = store_.list_comprobantes(q);
  if (!page) return page.error();
  ReceivedPage out;
  out.total = page->total;
  for (ComprobanteRecord& c : page->items) {
    auto d = describe(receptor, std::move(c));
    if (!d) return d.error();
    out.items.push_back(std::move(*d));
  }
  return out;
}

Result<std::optional<ReceivedDocument>> ReceiverService::document(const TaxpayerRecord& receptor,
                                                                  Environment env,
                                                                  const std::string& clave) {
  auto id = Identification::parse(receptor.identification);
  if (!id) return id.error();
  if (clave.size() != 50 || is_mensaje_receptor_key(clave))
    return std::optional<ReceivedDocument>();
  auto found = store_.find_comprobante(clave);
  if (!found) return found.error();
  if (!*found || (*found)->environment != env || (*found)->receptor_numero != id->digits())
    return std::optional<ReceivedDocument>();
  auto d = describe(receptor, std::move(**found));
  if (!d) return d.error();
  return std::optional<ReceivedDocument>(std::move(*d));
}

std::vector<FieldError> ReceiverService::check(const AnswerInput& input) const {
  std::vector<FieldError> e;
  auto decision = parse_receptor_decision(input.decision);
  if (!decision)
    e.push_back({"decision", "Elija una respuesta: aceptar, aceptar parcialmente o rechazar."});
  const std::size_t length = characters(xml::trimmed(input.detalle));
  const bool needed = decision && *decision != ReceptorDecision::kAceptar;
  if (length > kMaxDetalle)
    e.push_back({"detalle", "El motivo tiene como máximo 160 caracteres."});
  else if (needed && length < 3)
    e.push_back({"detalle", *decision == ReceptorDecision::kRechazar
                                ? "Escriba el motivo del rechazo (de 3 a 160 caracteres)."
                                : "Escriba qué acepta y qué no (de 3 a 160 caracteres)."});
  return e;
}

Result<Emission> ReceiverService::answer(const TaxpayerRecord& receptor, const AnswerInput& input,
                                         std::vector<FieldError>& errors,
                                         const std::string& actor) {
  errors = check(input);
  if (!errors.empty()) return make_error(errc::kDatoInvalido, "Revise la respuesta.");
  auto found = document(receptor, input.environment, input.clave);
  if (!found) return found.error();
  if (!*found)
    return make_error(errc::kComprobanteDesconocido,
                      "No recibió un comprobante con esa clave en este ambiente.");
  const ReceivedDocument& doc = **found;
  if (doc.answer)
    return make_error(
        errc::kYaRespondido,
        fmt::format("Este comprobante ya fue respondido ({}): no se envió otra respuesta.",
                    receptor_decision_label(*doc.decision)));
  if (doc.record.state != ComprobanteState::kAceptado)
    return make_error(errc::kComprobanteNoAceptado,
                      "Solo se puede responder un comprobante que Hacienda aceptó; este está " +
                          std::string(state_name(doc.record.state)) + ".");
  auto receptor_id = Identification::parse(receptor.identification);
  if (!receptor_id) return receptor_id.error();
  auto key = custody_.find(receptor.id, input.environment);
  if (!key) return key.error();
  if (!*key)
    return make_error(errc::kSinLlaveCustodia,
                      "No tiene una llave guardada para firmar automáticamente en este ambiente.");

  const ReceptorDecision decision = *parse_receptor_decision(input.decision);
  const DecisionInfo& kind = info(decision);
  const std::string detalle = xml::trimmed(input.detalle);
  const std::string clave = doc.record.clave;
  const ConsecutivoKey counter{input.environment, receptor_id->digits(), std::string(kToolSucursal),
                               std::string(kToolTerminal), std::string(kind.tipo)};
  const UnixSeconds now = now_seconds();
  const std::string fecha = xades::costa_rica_time(now);

  auto stored = store_.emit_numbered(counter, [&](std::int64_t numero) -> Result<NumberedEmission> {
    const std::string consecutivo =
        compose_consecutivo(kToolSucursal, kToolTerminal, kind.tipo, numero);
    xml::Document message = xml::new_document("MensajeReceptor", std::string(kNamespace));
    if (!message) return make_error(errc::kErrorInterno, "Sin memoria.");
    xmlNode* root = xmlDocGetRootElement(message.get());
    auto add = [&](const std::string& name, const std::string& text) {
      xml::add_element(root, name, text);
    };
    add("Clave", clave);
    add("NumeroCedulaEmisor", doc.record.emisor_numero);
    add("FechaEmisionDoc", fecha);
    add("Mensaje", std::to_string(static_cast<int>(decision)));
    if (!detalle.empty()) add("DetalleMensaje", detalle);
    // The schema: the tax of the comprobante "que es obligatorio si el
    // comprobante tenga impuesto", and TotalFactura its total; the reception
    // checks both against the comprobante (regla_mensaje_receptor).
    if (!doc.impuesto.empty()) add("MontoTotalImpuesto", doc.impuesto);
    add("TotalFactura", doc.total);
    add("NumeroCedulaReceptor", receptor_id->digits());
    add("NumeroConsecutivoReceptor", consecutivo);

    auto text = xml::to_string(message.get());
    if (!text) return text.error();
    // SignerRole receptor: xades::sign's default for a MensajeReceptor.
    auto signed_xml = sign_checked(custody_, **key, *text, schemas_, "El MensajeReceptor");
    if (!signed_xml) return signed_xml.error();

    NumberedEmission out;
    out.record.clave = clave + "-" + consecutivo;  // the reception's key
    out.record.environment = input.environment;
    out.record.taxpayer_id = receptor.id;
    out.record.tipo = std::string(kind.tipo);
    out.record.consecutivo = consecutivo;
    out.record.receptor_nombre = doc.emisor_nombre;  // whom the message answers
    out.record.total = doc.total;
    out.record.moneda = doc.moneda;
    out.record.xml = Bytes(signed_xml->begin(), signed_xml->end());
    out.audit = AuditEvent{
        actor, "herramienta.firmar", receptor.identification,
        fmt::format("ambiente={} clave={} mensaje={} serie={}", environment_name(input.environment),
                    out.record.clave, static_cast<int>(decision), (*key)->serial_hex)};
    return out;
  });
  if (!stored) {
    // Two answers at the same instant: the store's unique index refused the
    // second (migration 10); say so rather than report a store error.
    auto now_answered = store_.receptor_answer(input.environment, clave);
    if (now_answered && *now_answered)
      return make_error(errc::kYaRespondido,
                        "Este comprobante ya fue respondido: no se envió otra respuesta.");
    return stored.error();
  }

  boost::json::object envelope;
  envelope["clave"] = clave;
  envelope["fecha"] = fecha;
  envelope["emisor"] = boost::json::object{{"tipoIdentificacion", doc.record.emisor_tipo},
                                           {"numeroIdentificacion", doc.record.emisor_numero}};
  envelope["receptor"] =
      boost::json::object{{"tipoIdentificacion", std::string(id_type_code(receptor_id->type()))},
                          {"numeroIdentificacion", receptor_id->digits()}};
  envelope["consecutivoReceptor"] = stored->consecutivo;
  envelope["comprobanteXml"] = base64_encode(stored->xml, kBase64Standard);
  return submit_to_reception(reception_, config_, receptor, *receptor_id, std::move(*stored),
                             boost::json::serialize(envelope));
}

}  // namespace llavero::service
