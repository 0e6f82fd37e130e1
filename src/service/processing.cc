#include "service/processing.h"

#include <fmt/format.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "id/identification.h"
#include "service/key_service.h"
#include "util/clock.h"
#include "xades/xades.h"

namespace llavero::service {

namespace {

using Doc = std::unique_ptr<xmlDoc, decltype(&xmlFreeDoc)>;
void free_xml_text(xmlChar* text) {
  xmlFree(text);
}
using XmlText = ossl::Owned<xmlChar, free_xml_text>;

constexpr std::string_view kNotEmisor =
    "El contribuyente que firma la factura electronica no es el emisor";
// The Ministry's own identification, for the certificate that signs its answers.
constexpr std::string_view kHaciendaId = "2-100-042005";

Doc parse_safely(const Bytes& xml) {
  // No network, no DTD loading, no entity substitution; a DOCTYPE is refused below.
  xmlDocPtr doc = xmlReadMemory(reinterpret_cast<const char*>(xml.data()),
                                static_cast<int>(xml.size()), "comprobante.xml", nullptr,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  return Doc(doc, xmlFreeDoc);
}

// The text of the first element reached by a path of local names from the
// root ("Emisor/Identificacion/Numero"), namespaces ignored.
std::string text_at(xmlDocPtr doc, std::string_view path) {
  xmlNodePtr node = xmlDocGetRootElement(doc);
  std::size_t start = 0;
  while (node != nullptr && start <= path.size()) {
    const std::size_t slash = path.find('/', start);
    const std::string_view step =
        path.substr(start, slash == std::string_view::npos ? path.npos : slash - start);
    xmlNodePtr child = node->children;
    for (; child != nullptr; child = child->next)
      if (child->type == XML_ELEMENT_NODE && step == reinterpret_cast<const char*>(child->name))
        break;
    node = child;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (node == nullptr) return {};
  XmlText content(xmlNodeGetContent(node));
  return content ? reinterpret_cast<const char*>(content.get()) : "";
}

std::string xml_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string subject_serial_number(const X509& cert) {
  const X509_NAME* name = X509_get_subject_name(&cert);
  const int index = X509_NAME_get_index_by_NID(name, NID_serialNumber, -1);
  if (index < 0) return {};
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                     static_cast<std::size_t>(ASN1_STRING_length(data)));
}

}  // namespace

ComprobanteProcessor::ComprobanteProcessor(Store& store, CaKeyring& keyring,
                                           RevocationChecker& revocation,
                                           const xml::SchemaValidator& schemas,
                                           const Config& config)
    : store_(store),
      keyring_(keyring),
      revocation_(revocation),
      schemas_(schemas),
      config_(config) {}

Status ComprobanteProcessor::start() {
  for (Environment env : kAllEnvironments) {
    auto ca = keyring_.unlocked(env, CaKind::kPersonaJuridica);
    if (!ca) return ca.error();
    auto root = keyring_.certificate(env, CaKind::kRoot);
    if (!root) return root.error();
    const std::string name = fmt::format("hacienda:{}", environment_name(env));
    auto stored = store_.service_key(name);
    if (!stored) return stored.error();
    if (!*stored) {
      // The Ministry is a taxpayer of its own installation: its signing
      // certificate is issued like any other (serial reserved first, active
      // in the store), so OCSP, the CRL and `llavero verificar` know it.
      auto hacienda = Identification::parse(kHaciendaId);
      auto existing = store_.find_taxpayer(hacienda->digits());
      if (!existing) return existing.error();
      TaxpayerRecord taxpayer;
      if (*existing) {
        taxpayer = **existing;
      } else {
        auto added = store_.add_taxpayer(
            NewTaxpayer{hacienda->digits(), std::string(id_type_code(hacienda->type())),
                        "MINISTERIO DE HACIENDA", "", ""},
            AuditEvent{"servidor", "contribuyente.crear", hacienda->digits(),
                       "firmante de MensajeHacienda"});
        if (!added) return added.error();
        taxpayer = *added;
      }
      KeyService keys(store_, config_, keyring_);
      std::string pem;
      auto issued = keys.issue(
          IssueOrder{taxpayer, env, false, "firmante de MensajeHacienda", std::nullopt},
          [&](const IssuedKey& k) -> Status {
            auto wrapped = keyring_.wrap_key(*k.key);
            if (!wrapped) return wrapped.error();
            pem = std::move(*wrapped);
            return Ok{};
          },
          "servidor");
      if (!issued) return issued.error();
      auto der = ossl::x509_to_der(*issued->key.certificate);
      if (!der) return der.error();
      const std::string serial_hex = issued->key.serial_hex;
      LLAVERO_TRY(store_.put_service_key(
          ServiceKey{name, pem, *der},
          AuditEvent{"servidor", "recepcion.firmante", name,
                     fmt::format("certificado de MensajeHacienda, serie {}", serial_hex)}));
      stored = store_.service_key(name);
      if (!stored || !*stored) return make_error("error_interno", "No se guardó el firmante.");
    }
    auto cert = ossl::x509_from_der((*stored)->certificate_der);
    if (!cert) return cert.error();
    auto key = keyring_.unwrap_key((*stored)->key_pem);
    if (!key) return key.error();
    signers_[env] = Signer{std::move(*cert),
                           std::move(*key),
                           {ca->authority->certificate.get(), (*root)->certificate.get()}};
  }
  return Ok{};
}

Result<ProcessingResult> ComprobanteProcessor::process(const ComprobanteRecord& c) {
  std::vector<std::string> reasons;
  const Environment env = c.environment;
  Doc doc = parse_safely(c.xml);
  std::string root_name;
  if (!doc || xmlDocGetRootElement(doc.get()) == nullptr) {
    reasons.push_back("El comprobante no es un XML bien formado.");
  } else if (doc->intSubset != nullptr) {
    reasons.push_back("El comprobante no puede tener una declaración DOCTYPE.");
    doc.reset();
  } else {
    root_name = reinterpret_cast<const char*>(xmlDocGetRootElement(doc.get())->name);
    for (const std::string& line : schemas_.validate(doc.get()))
      reasons.push_back(
          fmt::format("El comprobante no es válido según el esquema oficial v4.4: {}", line));
  }
  const bool mensaje_receptor = root_name == "MensajeReceptor";

  // The signature, against this environment's CAs only.
  std::vector<const X509*> roots, intermediates;
  for (CaKind kind : kAllCaKinds) {
    auto ca = keyring_.certificate(env, kind);
    if (!ca) return ca.error();
    (kind == CaKind::kRoot ? roots : intermediates).push_back((*ca)->certificate.get());
  }
  xades::VerifyOptions options;
  options.trusted_roots = roots;
  options.intermediates = intermediates;
  options.revocation = revocation_.callback();
  options.require_revocation_answer = true;
  const std::string_view text(reinterpret_cast<const char*>(c.xml.data()), c.xml.size());
  auto verification = xades::verify(text, options);
  if (!verification) return verification.error();
  for (const xades::Check* failed : verification->failures()) {
    if (failed->name == xades::kCheckChain && verification->signer) {
      // Say whose certificate it is, if it is ours at all.
      const Environment other =
          env == Environment::kProduccion ? Environment::kPruebas : Environment::kProduccion;
      bool from_other = false;
      for (CaKind kind : {CaKind::kPersonaFisica, CaKind::kPersonaJuridica}) {
        auto ca = keyring_.certificate(other, kind);
        if (ca &&
            X509_check_issued((*ca)->certificate.get(), verification->signer.get()) == X509_V_OK)
          from_other = true;
      }
      reasons.push_back(
          from_other ? fmt::format("El certificado del firmante es del ambiente de {}; no es "
                                   "válido en {}.",
                                   environment_label(other), environment_label(env))
                     : std::string("El certificado del firmante no fue emitido por la "
                                   "autoridad certificadora de este ambiente."));
      continue;
    }
    reasons.push_back(failed->reason);
  }

  // A certificate valid when the document says it was signed may have expired
  // since: the reception takes only keys that are valid when it receives.
  const xades::Check* validity = verification->find(xades::kCheckValidity);
  if (verification->signer && (!validity || validity->ok) &&
      X509_cmp_time(X509_get0_notAfter(verification->signer.get()), nullptr) < 0)
    reasons.push_back("El certificado del firmante está vencido.");

  // Who signed, and whether that is who should have.
  if (verification->signer && doc) {
    auto signer = Identification::parse(subject_serial_number(*verification->signer));
    const std::string expected =
        mensaje_receptor ? text_at(doc.get(), "NumeroCedulaReceptor") : c.emisor_numero;
    if (!signer || signer->digits() != expected)
      reasons.push_back(mensaje_receptor ? "El contribuyente que firma el mensaje no es el receptor"
                                         : std::string(kNotEmisor));
  }
  if (doc) {
    const std::string clave = text_at(doc.get(), "Clave");
    const std::string envelope_clave = c.clave.substr(0, 50);
    if (clave != envelope_clave)
      reasons.push_back(fmt::format("La clave del XML ({}) no coincide con la del envío ({}).",
                                    clave, envelope_clave));
    const std::string emisor = mensaje_receptor
                                   ? text_at(doc.get(), "NumeroCedulaEmisor")
                                   : text_at(doc.get(), "Emisor/Identificacion/Numero");
    if (emisor != c.emisor_numero)
      reasons.push_back(
          fmt::format("La identificación del emisor en el XML ({}) no coincide con la "
                      "del envío ({}).",
                      emisor, c.emisor_numero));
  }

  // The answer.
  const bool accepted = reasons.empty();
  std::string detail =
      accepted ? "Aceptado" : fmt::format("Rechazado: {}", fmt::join(reasons, " "));
  if (env == Environment::kPruebas) detail += fmt::format(" {}", kSandboxNotice);
  auto field = [&](std::string_view path) {
    return doc ? text_at(doc.get(), path) : std::string();
  };
  const std::string nombre_emisor = mensaje_receptor ? std::string() : field("Emisor/Nombre");
  const std::string nombre_receptor = mensaje_receptor ? std::string() : field("Receptor/Nombre");
  const std::string impuesto =
      mensaje_receptor ? field("MontoTotalImpuesto") : field("ResumenFactura/TotalImpuesto");
  std::string total =
      mensaje_receptor ? field("TotalFactura") : field("ResumenFactura/TotalComprobante");
  if (total.empty()) total = "0";
  std::string xml =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<MensajeHacienda xmlns=\"https://cdn.comprobanteselectronicos.go.cr/xml-schemas/"
      "v4.4/mensajeHacienda\">";
  xml += fmt::format("<Clave>{}</Clave>", xml_escape(c.clave.substr(0, 50)));
  xml += fmt::format("<NombreEmisor>{}</NombreEmisor>",
                     xml_escape(nombre_emisor.empty() ? c.emisor_numero : nombre_emisor));
  xml += fmt::format("<TipoIdentificacionEmisor>{}</TipoIdentificacionEmisor>",
                     xml_escape(c.emisor_tipo));
  xml += fmt::format("<NumeroCedulaEmisor>{}</NumeroCedulaEmisor>", xml_escape(c.emisor_numero));
  if (c.receptor_numero && c.receptor_tipo) {
    if (!nombre_receptor.empty())
      xml += fmt::format("<NombreReceptor>{}</NombreReceptor>", xml_escape(nombre_receptor));
    xml += fmt::format("<TipoIdentificacionReceptor>{}</TipoIdentificacionReceptor>",
                       xml_escape(*c.receptor_tipo));
    xml += fmt::format("<NumeroCedulaReceptor>{}</NumeroCedulaReceptor>",
                       xml_escape(*c.receptor_numero));
  }
  xml += fmt::format("<Mensaje>{}</Mensaje><EstadoMensaje>{}</EstadoMensaje>", accepted ? 1 : 3,
                     accepted ? "aceptado" : "rechazado");
  xml += fmt::format("<DetalleMensaje>{}</DetalleMensaje>", xml_escape(detail));
  // Amounts are copied only when they are plain decimals.
  auto decimal = [](const std::string& s) {
    return !s.empty() && s.size() < 24 && s.find_first_not_of("0123456789.") == std::string::npos;
  };
  if (decimal(impuesto))
    xml += fmt::format("<MontoTotalImpuesto>{}</MontoTotalImpuesto>", impuesto);
  xml += fmt::format("<TotalFactura>{}</TotalFactura>", decimal(total) ? total : "0");
  xml += "</MensajeHacienda>\n";

  const Signer& signer = signers_.at(env);
  auto signed_xml = xades::sign(
      xml, *signer.key, *signer.certificate, signer.chain,
      xades::SignOptions{xades::SignerRole::kEmisor, std::nullopt, xades::hacienda_policy()});
  if (!signed_xml) return signed_xml.error();
  return ProcessingResult{accepted, Bytes(signed_xml->begin(), signed_xml->end())};
}

}  // namespace llavero::service
