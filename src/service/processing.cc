#include "service/processing.h"

#include <fmt/format.h>

#include <cstdio>

#include "id/identification.h"
#include "service/detalle_mensaje.h"
#include "service/document_rules.h"
#include "service/key_service.h"
#include "util/clock.h"
#include "util/error_codes.h"
#include "xades/xades.h"
#include "xml/document.h"

namespace llavero::service {

namespace {

constexpr std::string_view kNotEmisor =
    "El contribuyente que firma la factura electronica no es el emisor";
// The Ministry's own identification, for the certificate that signs its answers.
constexpr std::string_view kHaciendaId = "2-100-042005";
constexpr std::string_view kMensajeHaciendaNamespace =
    "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/mensajeHacienda";

// The comprobante's document, or null with the reason it has none.
xml::Document parse_comprobante(const Bytes& bytes, std::vector<std::string>& reasons) {
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  auto doc = xml::parse(text, xades::kMaxDocumentBytes);
  if (doc) return std::move(*doc);
  if (doc.error().code == errc::kXmlDtd)
    reasons.push_back("El comprobante no puede tener una declaración DOCTYPE.");
  else if (doc.error().code == errc::kXmlGrande)
    reasons.push_back(doc.error().message);
  else
    reasons.push_back("El comprobante no es un XML bien formado.");
  return nullptr;
}

// The text of the element reached from the root by a path of local names
// ("Emisor/Identificacion/Numero"), namespaces ignored; empty if there is
// no document or no such element.
std::string text_at(const xmlNode* root, std::string_view path) {
  return root != nullptr ? xml::text(xml::find_path(root, path)) : std::string();
}

std::string subject_serial_number(const X509& cert) {
  const X509_NAME* name = X509_get_subject_name(&cert);
  const int index = X509_NAME_get_index_by_NID(name, NID_serialNumber, -1);
  if (index < 0) return {};
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                     static_cast<std::size_t>(ASN1_STRING_length(data)));
}

// The signature of `c`, against its environment's CAs and the extra roots.
// The store always answers for this installation's certificates, so an
// unanswered revocation check is an external CA's, decided by the setting
// revocacion_no_disponible; advertencias fail under politica_estricta.
Result<xades::Verification> verify_signature(const ComprobanteRecord& c, CaKeyring& keyring,
                                             RevocationChecker& revocation,
                                             const std::vector<ossl::X509Ptr>& extra_trust,
                                             const Config& config) {
  xades::VerifyOptions options;
  for (CaKind kind : kAllCaKinds) {
    auto generations = keyring.certificates(c.environment, kind);
    if (!generations) return generations.error();
    for (const Authority* ca : *generations)
      (kind == CaKind::kRoot ? options.trusted_roots : options.intermediates)
          .push_back(ca->certificate.get());
  }
  for (const auto& cert : extra_trust) {
    const bool root = X509_check_issued(cert.get(), cert.get()) == X509_V_OK;
    (root ? options.trusted_roots : options.intermediates).push_back(cert.get());
  }
  options.revocation = revocation.callback();
  options.require_revocation_answer = config.revocation_answer_required;
  options.strict = config.strict_signature_policy;
  const std::string_view text(reinterpret_cast<const char*>(c.xml.data()), c.xml.size());
  return xades::verify(text, options);
}

// Why the signature is not acceptable in `env`, as the reception says it.
void signature_reasons(const xades::Verification& verification, Environment env, CaKeyring& keyring,
                       std::vector<std::string>& reasons) {
  for (const xades::Check* failed : verification.failures()) {
    if (failed->name == xades::kCheckChain && verification.signer) {
      // Say whose certificate it is, if it is ours at all.
      const Environment other =
          env == Environment::kProduccion ? Environment::kPruebas : Environment::kProduccion;
      bool from_other = false;
      for (CaKind kind : {CaKind::kPersonaFisica, CaKind::kPersonaJuridica}) {
        auto ca = keyring.certificate(other, kind);
        if (ca &&
            X509_check_issued((*ca)->certificate.get(), verification.signer.get()) == X509_V_OK)
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
  const xades::Check* validity = verification.find(xades::kCheckValidity);
  if (verification.signer && (!validity || validity->ok) &&
      X509_cmp_time(X509_get0_notAfter(verification.signer.get()), nullptr) < 0)
    reasons.push_back("El certificado del firmante está vencido.");
}

// Whether the signer, the clave and the emisor of the document are those
// of the envelope; the reasons why not.
void identity_reasons(const ComprobanteRecord& c, const xmlNode* root, bool mensaje_receptor,
                      const X509* signer_cert, std::vector<std::string>& reasons) {
  if (root == nullptr) return;
  if (signer_cert != nullptr) {
    auto signer = Identification::parse(subject_serial_number(*signer_cert));
    const std::string expected =
        mensaje_receptor ? text_at(root, "NumeroCedulaReceptor") : c.emisor_numero;
    if (!signer || signer->digits() != expected)
      reasons.push_back(mensaje_receptor ? "El contribuyente que firma el mensaje no es el receptor"
                                         : std::string(kNotEmisor));
  }
  const std::string clave = text_at(root, "Clave");
  const std::string envelope_clave = c.clave.substr(0, 50);
  if (clave != envelope_clave)
    reasons.push_back(fmt::format("La clave del XML ({}) no coincide con la del envío ({}).", clave,
                                  envelope_clave));
  // A FacturaElectronicaCompra is issued and signed by the buyer, its XML
  // Receptor: the envelope's emisor (and the clave's) is the buyer.
  const std::string emisor =
      mensaje_receptor ? text_at(root, "NumeroCedulaEmisor") : issuer_identification(root);
  if (emisor != c.emisor_numero)
    reasons.push_back(
        fmt::format("La identificación del emisor en el XML ({}) no coincide con la "
                    "del envío ({}).",
                    emisor, c.emisor_numero));
}

// Amounts are copied only when they are plain decimals.
bool plain_decimal(const std::string& s) {
  return !s.empty() && s.size() < 24 && s.find_first_not_of("0123456789.") == std::string::npos;
}

// The (unsigned) MensajeHacienda v4.4 of a decision on `c`, with the names
// and amounts of its document (`root`, null if it did not parse); libxml2
// escapes the text.
Result<std::string> mensaje_hacienda(const ComprobanteRecord& c, const xmlNode* root,
                                     bool mensaje_receptor, bool accepted,
                                     const std::string& detail) {
  // The names of the issuer and the other party (swapped in a FacturaElectronicaCompra).
  const Parties who = parties(root);
  const std::string nombre_emisor =
      mensaje_receptor ? "" : text_at(root, fmt::format("{}/Nombre", who.issuer));
  const std::string nombre_receptor =
      mensaje_receptor ? "" : text_at(root, fmt::format("{}/Nombre", who.other));
  const std::string impuesto = mensaje_receptor ? text_at(root, "MontoTotalImpuesto")
                                                : text_at(root, "ResumenFactura/TotalImpuesto");
  const std::string total = mensaje_receptor ? text_at(root, "TotalFactura")
                                             : text_at(root, "ResumenFactura/TotalComprobante");

  xml::Document doc = xml::new_document("MensajeHacienda", std::string(kMensajeHaciendaNamespace));
  xmlNode* m = doc ? xmlDocGetRootElement(doc.get()) : nullptr;
  bool complete = m != nullptr;
  auto add = [&](const std::string& name, const std::string& text) {
    complete = xml::add_element(m, name, text) != nullptr && complete;
  };
  add("Clave", c.clave.substr(0, 50));
  add("NombreEmisor", nombre_emisor.empty() ? c.emisor_numero : nombre_emisor);
  add("TipoIdentificacionEmisor", c.emisor_tipo);
  add("NumeroCedulaEmisor", c.emisor_numero);
  if (c.receptor_numero && c.receptor_tipo) {
    if (!nombre_receptor.empty()) add("NombreReceptor", nombre_receptor);
    add("TipoIdentificacionReceptor", *c.receptor_tipo);
    add("NumeroCedulaReceptor", *c.receptor_numero);
  }
  add("Mensaje", accepted ? "1" : "3");
  add("EstadoMensaje", accepted ? "aceptado" : "rechazado");
  add("DetalleMensaje", detail);
  if (plain_decimal(impuesto)) add("MontoTotalImpuesto", impuesto);
  add("TotalFactura", plain_decimal(total) ? total : "0");
  if (!complete) return make_error(errc::kErrorInterno, "No se pudo escribir el MensajeHacienda.");
  return xml::to_string(doc.get());
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
            NewTaxpayer{hacienda->digits(), hacienda->type(), "MINISTERIO DE HACIENDA", "", ""},
            AuditEvent{"servidor", "contribuyente.crear", hacienda->digits(),
                       "firmante de MensajeHacienda"});
        if (!added) return added.error();
        taxpayer = *added;
      }
      KeyService keys(store_, config_, keyring_);
      // The seal's key is made by the CA key store (in the token, when there is one).
      auto seal_key = keyring_.new_key(2048, name);
      if (!seal_key) return seal_key.error();
      std::string pem = std::move(seal_key->reference);
      IssueOrder order{taxpayer, env, false, "firmante de MensajeHacienda", std::nullopt};
      order.key = &seal_key->key;
      auto issued = keys.issue(
          order, [](const IssuedKey&) -> Status { return Ok{}; }, "servidor");
      if (!issued) return issued.error();
      auto der = ossl::x509_to_der(*issued->key.certificate);
      if (!der) return der.error();
      const std::string serial_hex = issued->key.serial_hex;
      LLAVERO_TRY(store_.put_service_key(
          ServiceKey{name, pem, *der},
          AuditEvent{"servidor", "recepcion.firmante", name,
                     fmt::format("certificado de MensajeHacienda, serie {}", serial_hex)}));
      stored = store_.service_key(name);
      if (!stored || !*stored) return make_error(errc::kErrorInterno, "No se guardó el firmante.");
    }
    auto cert = ossl::x509_from_der((*stored)->certificate_der);
    if (!cert) return cert.error();
    auto key = keyring_.open_key((*stored)->key_pem);
    if (!key) return key.error();
    signers_[env] = Signer{std::move(*cert),
                           std::move(*key),
                           {ca->authority->certificate.get(), (*root)->certificate.get()}};
  }
  return Ok{};
}

void ComprobanteProcessor::trust_also(std::vector<ossl::X509Ptr> certificates) {
  extra_trust_ = std::move(certificates);
}

Result<ProcessingResult> ComprobanteProcessor::process(const ComprobanteRecord& c) {
  std::vector<std::string> reasons;
  const xml::Document doc = parse_comprobante(c.xml, reasons);
  const xmlNode* root = doc ? xmlDocGetRootElement(doc.get()) : nullptr;
  // Hacienda's code -1 with the line libxml2 reports (a parsed tree keeps no
  // columns: 0, as Hacienda writes for errors without one).
  std::vector<HaciendaError> errors;
  if (doc)
    for (const std::string& line : schemas_.validate(doc.get())) {
      int fila = 0;
      std::string mensaje = line;
      if (std::sscanf(line.c_str(), "línea %d:", &fila) == 1)
        mensaje = line.substr(line.find(':') + 2);
      errors.push_back(
          {codigo::kEsquema,
           fmt::format("El comprobante no es válido según el esquema oficial v4.4: {}", mensaje),
           fila, 0});
    }
  // Not XML, or no comprobante at all: the state "error", not "rechazado".
  const bool unprocessable =
      root == nullptr || xml::SchemaValidator::schema_file_for(xml::chars(root->name)).empty();
  const bool mensaje_receptor =
      root != nullptr && std::string_view(xml::chars(root->name)) == "MensajeReceptor";

  auto verification = verify_signature(c, keyring_, revocation_, extra_trust_, config_);
  if (!verification) return verification.error();
  signature_reasons(*verification, c.environment, keyring_, reasons);
  identity_reasons(c, root, mensaje_receptor, verification->signer.get(), reasons);

  // The answer: every reason as Hacienda's [codigo, mensaje, fila, columna].
  for (const std::string& reason : reasons) errors.push_back({codigo::kContenido, reason});
  // A store that does not answer decides nothing: the error goes back to
  // process_next, which puts the comprobante back in the queue (recibido)
  // for the next round, so a transient failure never becomes "aceptado".
  auto rules = apply_document_rules(c, root, store_, config_, now_seconds());
  if (!rules) return rules.error();
  errors.insert(errors.end(), rules->errors.begin(), rules->errors.end());
  if (c.environment == Environment::kPruebas && c.escenario)
    if (auto scenario = parse_scenario(*c.escenario);
        scenario && scenario->kind == Scenario::Kind::kRechazar)
      errors.push_back(
          {scenario->value,
           fmt::format("Rechazo solicitado por el escenario de pruebas {}.", *c.escenario)});
  const bool accepted = errors.empty();
  const std::string detail = detalle_mensaje(c.environment, errors);
  auto answer = mensaje_hacienda(c, root, mensaje_receptor, accepted, detail);
  if (!answer) return answer.error();

  const Signer& signer = signers_.at(c.environment);
  auto signed_xml = xades::sign(
      *answer, *signer.key, *signer.certificate, signer.chain,
      xades::SignOptions{xades::SignerRole::kEmisor, std::nullopt, xades::hacienda_policy()});
  if (!signed_xml) return signed_xml.error();
  return ProcessingResult{accepted, unprocessable, Bytes(signed_xml->begin(), signed_xml->end()),
                          rules->referencia};
}

}  // namespace llavero::service
