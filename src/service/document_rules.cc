#include "service/document_rules.h"

#include <fmt/format.h>
#include <libxml/tree.h>

#include "id/clave.h"
#include "service/fecha.h"
#include "service/totals.h"
#include "xml/document.h"

namespace llavero::service {

namespace {

std::string text_at(const xmlNode* root, std::string_view path) {
  return root != nullptr ? xml::text(xml::find_path(root, path)) : std::string();
}

std::string padded12(const std::string& digits) {
  return std::string(12 - std::min<std::size_t>(12, digits.size()), '0') + digits;
}

std::string_view root_name(const xmlNode* root) {
  return root ? std::string_view(xml::chars(root->name)) : std::string_view();
}

void clave_rules(const ComprobanteRecord& c, const xmlNode* root, std::vector<HaciendaError>& out) {
  auto clave = Clave::parse(c.clave.substr(0, 50));
  if (!clave) return;  // refused at POST
  const std::string type = document_type_code(root_name(root));
  if (!type.empty() && clave->tipo != type)
    out.push_back(
        {codigo::kContenido, fmt::format("El tipo de documento de la clave ({}) no corresponde al "
                                         "comprobante ({}).",
                                         clave->tipo, type)});
  const std::string issuer = issuer_identification(root);
  if (!issuer.empty() && clave->identification != padded12(issuer))
    out.push_back({codigo::kContenido,
                   fmt::format("La identificación de la clave ({}) no corresponde al emisor del "
                               "comprobante ({}).",
                               clave->identification, issuer)});
  const std::string consecutivo = text_at(root, "NumeroConsecutivo");
  if (!consecutivo.empty() && consecutivo != clave->consecutivo)
    out.push_back(
        {codigo::kContenido, fmt::format("El consecutivo de la clave ({}) no corresponde a "
                                         "NumeroConsecutivo ({}).",
                                         clave->consecutivo, consecutivo)});
  if (auto fecha = parse_fecha(text_at(root, "FechaEmision"))) {
    const CivilDate d = costa_rica_date(fecha->instant);
    if (d.day != clave->day || d.month != clave->month || d.year != clave->year)
      out.push_back({codigo::kContenido,
                     fmt::format("La fecha de la clave ({:02}/{:02}/{}) no corresponde a "
                                 "FechaEmision en Costa Rica ({:02}/{:02}/{}).",
                                 clave->day, clave->month, clave->year, d.day, d.month, d.year)});
  }
}

// -99: another comprobante of this emisor already used the consecutivo
// (NumeroConsecutivo, whose digits 9-10 are the document type, so the rule
// is per emisor and type). POST refuses most of these through the store's
// unique index; this catches the rest. A store failure is returned: an
// unanswered lookup must not pass for "not used" (docs/recepcion.md).
Status consecutivo_rules(const ComprobanteRecord& c, const xmlNode* root, Store& store,
                         std::vector<HaciendaError>& out) {
  std::string consecutivo = text_at(root, "NumeroConsecutivo");
  if (consecutivo.empty() && c.clave.size() >= 41) consecutivo = c.clave.substr(21, 20);
  if (consecutivo.empty()) return Ok{};
  auto other = store.clave_with_consecutivo(c.environment, c.emisor_numero, consecutivo, c.clave);
  if (!other) return other.error();
  if (!*other) return Ok{};
  out.push_back({codigo::kConsecutivoUsado,
                 fmt::format("El consecutivo {} ya fue utilizado por el emisor en el comprobante "
                             "{}.",
                             consecutivo, **other)});
  return Ok{};
}

void fecha_rules(const xmlNode* root, const Config& config, UnixSeconds now,
                 std::vector<HaciendaError>& out) {
  const std::string text = text_at(root, "FechaEmision");
  if (text.empty()) return;  // the schema's business (MensajeReceptor has none)
  auto fecha = parse_fecha(text);
  if (!fecha) return;
  const UnixSeconds at = unix_seconds(*fecha);
  if (at > now + config.fecha_future_seconds)
    out.push_back(
        {codigo::kExtemporaneo,
         fmt::format("La FechaEmision ({}) es posterior a la fecha de recepción.", text)});
  else if (at < now - static_cast<UnixSeconds>(config.fecha_max_age_days) * 86400)
    out.push_back(
        {codigo::kExtemporaneo, fmt::format("El archivo XML fue enviado de manera extemporánea: la "
                                            "FechaEmision ({}) tiene más de {} días.",
                                            text, config.fecha_max_age_days)});
}

void totals_rules(const xmlNode* root, const Config& config, std::vector<HaciendaError>& out) {
  for (const TotalsMismatch& m : check_totals(root, Amount::units(config.totals_tolerance_units))) {
    // A sum beyond DecimalDineroType (hostile or absurd amounts) is named as
    // such rather than printed as a number no document could state.
    if (!m.stated.in_range() || !m.expected.in_range())
      out.push_back({codigo::kContenido,
                     fmt::format("{}: la suma según las líneas excede 9999999999999.99999, el "
                                 "máximo de DecimalDineroType.",
                                 m.field)});
    else
      out.push_back({codigo::kContenido, fmt::format("{} es {} y según las líneas debe ser {}.",
                                                     m.field, m.stated.text(), m.expected.text())});
  }
}

Result<std::optional<std::string>> reference_rules(const ComprobanteRecord& c, const xmlNode* root,
                                                   Store& store, std::vector<HaciendaError>& out) {
  const std::string_view name = root_name(root);
  const bool nota = name == "NotaCreditoElectronica" || name == "NotaDebitoElectronica";
  const std::string numero = text_at(root, "InformacionReferencia/Numero");
  if (nota && numero.empty()) {
    out.push_back({codigo::kContenido,
                   "Una nota de crédito o débito debe referenciar un documento "
                   "(InformacionReferencia)."});
    return std::optional<std::string>();
  }
  if (!nota || numero.size() != 50) return std::optional<std::string>();
  auto referenced = store.find_comprobante(numero);
  if (!referenced) return referenced.error();
  if (!*referenced || (*referenced)->environment != c.environment)
    return std::optional<std::string>();  // not received here: nothing to compare
  if ((*referenced)->emisor_numero != c.emisor_numero)
    out.push_back({codigo::kContenido,
                   fmt::format("El documento referenciado ({}) es de otro emisor.", numero)});
  return std::optional<std::string>(numero);
}

Status mensaje_receptor_rules(const ComprobanteRecord& c, const xmlNode* root, Store& store,
                              std::vector<HaciendaError>& out) {
  auto invoice = store.find_comprobante(c.clave.substr(0, 50));
  if (!invoice) return invoice.error();
  if (!*invoice || (*invoice)->environment != c.environment) return Ok{};
  const std::string_view xml_text(reinterpret_cast<const char*>((*invoice)->xml.data()),
                                  (*invoice)->xml.size());
  auto doc = xml::parse(xml_text, (*invoice)->xml.size() + 1);
  if (!doc) return Ok{};
  const xmlNode* invoice_root = xmlDocGetRootElement(doc->get());
  auto compare = [&](std::string_view mine, std::string_view theirs, std::string_view label) {
    auto a = Amount::parse(text_at(root, mine));
    auto b = Amount::parse(text_at(invoice_root, theirs));
    if (a && b && *a != *b)
      out.push_back({codigo::kContenido,
                     fmt::format("{} del mensaje ({}) no corresponde al del comprobante ({}).",
                                 label, a->text(), b->text())});
  };
  compare("TotalFactura", "ResumenFactura/TotalComprobante", "El TotalFactura");
  compare("MontoTotalImpuesto", "ResumenFactura/TotalImpuesto", "El MontoTotalImpuesto");
  if (text_at(root, "NumeroCedulaEmisor") != (*invoice)->emisor_numero)
    out.push_back({codigo::kContenido,
                   "NumeroCedulaEmisor del mensaje no corresponde al emisor del comprobante."});
  return Ok{};
}

}  // namespace

std::string document_type_code(std::string_view name) {
  static const std::pair<std::string_view, std::string_view> kTypes[] = {
      {"FacturaElectronica", "01"},       {"NotaDebitoElectronica", "02"},
      {"NotaCreditoElectronica", "03"},   {"TiqueteElectronico", "04"},
      {"FacturaElectronicaCompra", "08"}, {"FacturaElectronicaExportacion", "09"},
      {"ReciboElectronicoPago", "10"}};
  for (const auto& [root, code] : kTypes)
    if (root == name) return std::string(code);
  return {};
}

Parties parties(const xmlNode* root) {
  return root_name(root) == "FacturaElectronicaCompra" ? Parties{"Receptor", "Emisor"}
                                                       : Parties{"Emisor", "Receptor"};
}

std::string issuer_identification(const xmlNode* root) {
  return text_at(root, fmt::format("{}/Identificacion/Numero", parties(root).issuer));
}

Result<RuleOutcome> apply_document_rules(const ComprobanteRecord& c, const xmlNode* root,
                                         Store& store, const Config& config, UnixSeconds now) {
  RuleOutcome r;
  if (root == nullptr) return r;
  if (root_name(root) == "MensajeReceptor") {
    if (config.rule_mensaje_receptor) LLAVERO_TRY(mensaje_receptor_rules(c, root, store, r.errors));
    return r;
  }
  if (config.rule_clave) clave_rules(c, root, r.errors);
  if (config.rule_consecutivo) LLAVERO_TRY(consecutivo_rules(c, root, store, r.errors));
  if (config.rule_fecha_emision) fecha_rules(root, config, now, r.errors);
  if (config.rule_totales) totals_rules(root, config, r.errors);
  if (config.rule_referencias) {
    auto referencia = reference_rules(c, root, store, r.errors);
    if (!referencia) return referencia.error();
    r.referencia = std::move(*referencia);
  }
  return r;
}

}  // namespace llavero::service
