// Verification: one function per check, run in the order they are reported
// (xades.h). Each returns its Check; verify() strings them together and stops
// early only where later checks would have nothing to look at.
#include <fmt/format.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>

#include "util/hash.h"
#include "xades/certificate_names.h"
#include "xades/chain.h"
#include "xades/dates.h"
#include "xades/policy.h"
#include "xades/signature.h"
#include "xades/xades.h"
#include "xades/xmlsec.h"
#include "xml/document.h"

namespace llavero::xades {

const Check* Verification::find(std::string_view name) const {
  for (const Check& c : checks)
    if (c.name == name) return &c;
  return nullptr;
}

std::vector<const Check*> Verification::failures() const {
  std::vector<const Check*> performed, skipped;
  for (const Check& c : checks)
    if (!c.ok) (c.performed ? performed : skipped).push_back(&c);
  return performed.empty() ? skipped : performed;
}

std::vector<const Check*> Verification::warnings() const {
  std::vector<const Check*> out;
  for (const Check& c : checks)
    if (c.ok && c.warning) out.push_back(&c);
  return out;
}

namespace {

Check make_check(std::string_view name, bool ok, std::string reason, bool performed = true) {
  return Check{std::string(name), ok, std::move(reason), performed, false};
}

Check make_warning(std::string_view name, std::string reason) {
  return Check{std::string(name), true, std::move(reason), true, true};
}

// A reference of SignedInfo in the role it must play, and what is wrong
// with it (empty: nothing). With more than one candidate, the last one.
struct RoleReference {
  const Reference* ref = nullptr;
  std::string problem;
};

// What the checks share: the document, its one signature and what was read
// from it, in the order the checks need it.
struct Signed {
  Signed(const VerifyOptions& o, xml::Document d) : options(o), doc(std::move(d)) {}
  const VerifyOptions& options;
  xml::Document doc;
  SignatureParts parts;
  RoleReference document;    // URI=""
  RoleReference properties;  // Type=SignedProperties
  const X509* signer = nullptr;
  std::optional<CoreResult> core;  // when there is a signer
  xmlNode* ssp = nullptr;          // xades:SignedSignatureProperties
};

// --- xml and firma_unica -------------------------------------------------------------

Check check_xml(const Result<xml::Document>& doc) {
  if (!doc) return make_check(kCheckXml, false, doc.error().message);
  return make_check(kCheckXml, true, "El XML está bien formado, sin DTD ni entidades.");
}

// The element of `subtree` whose Id attribute is `value`, or null; `duplicate`
// is set if there is more than one.
xmlAttr* find_id(xmlNode* subtree, std::string_view value, bool& duplicate) {
  xmlAttr* found = nullptr;
  std::vector<xmlNode*> stack{subtree};
  while (!stack.empty()) {
    xmlNode* n = stack.back();
    stack.pop_back();
    if (n->type != XML_ELEMENT_NODE) continue;
    if (xmlAttr* a = xmlHasProp(n, BAD_CAST "Id"); a != nullptr && a->ns == nullptr) {
      if (xml::attribute(n, "Id") == std::string(value)) {
        if (found != nullptr) duplicate = true;
        found = a;
      }
    }
    for (xmlNode* c = n->children; c != nullptr; c = c->next) stack.push_back(c);
  }
  return found;
}

// Besides the document itself, a reference may only point inside the
// signature; those targets are the only IDs xmlsec may resolve, and they
// are registered here.
std::string reference_target_problem(xmlDoc* doc, xmlNode* signature, const Reference& ref) {
  if (is_document_reference(ref)) return "";
  if (ref.uri->front() != '#' || ref.uri->find('(') != std::string::npos)
    return fmt::format(
        "La referencia \"{}\" no está permitida: solo el documento y elementos de la firma.",
        *ref.uri);
  bool duplicate = false;
  xmlAttr* target = find_id(signature, std::string_view(*ref.uri).substr(1), duplicate);
  if (target == nullptr)
    return fmt::format("La referencia \"{}\" no apunta a un elemento de la firma.", *ref.uri);
  if (duplicate || !xml::register_id(doc, target))
    return fmt::format("El identificador \"{}\" está repetido en el documento.",
                       ref.uri->substr(1));
  return "";
}

// An XPath transform is the one thing xmlsec would evaluate that the
// signature itself writes: only the signature exclusion of the document
// reference gets that far.
std::string transform_problem(const Reference& ref) {
  for (const xmlNode* t : ref.transform_nodes)
    if (xml::attribute(t, "Algorithm") == kXPathUri &&
        (!is_document_reference(ref) || !is_signature_exclusion(t)))
      return fmt::format(
          "La referencia ({}) usa una transformación XPath no permitida: solo se admite {} en la "
          "referencia al documento, con el prefijo ds del espacio de nombres de XML-DSig.",
          describe(ref), kSignatureExclusionXPath);
  return "";
}

std::string structure_problem(xmlDoc* doc, const SignatureParts& parts) {
  if (parts.signature->parent != xmlDocGetRootElement(doc))
    return "La firma no está en el elemento raíz del documento (firma envuelta).";
  if (parts.signed_info == nullptr ||
      xml::child(parts.signature, kDsigNamespace, "SignatureValue") == nullptr ||
      parts.references.empty())
    return "La firma no tiene SignedInfo, referencias y SignatureValue.";
  if (parts.references.size() > kMaxReferences)
    return fmt::format("La firma tiene {} referencias; el máximo es {}.", parts.references.size(),
                       kMaxReferences);
  for (const Reference& ref : parts.references) {
    if (auto problem = reference_target_problem(doc, parts.signature, ref); !problem.empty())
      return problem;
    if (auto problem = transform_problem(ref); !problem.empty()) return problem;
  }
  return "";
}

// firma_unica: exactly one ds:Signature, enveloped in the root, with the
// parts of a signature and references the verifier may follow. Reads the
// parts of that signature into `s`.
Check check_signature(Signed& s) {
  const auto signatures =
      xml::descendants(xmlDocGetRootElement(s.doc.get()), kDsigNamespace, "Signature");
  if (signatures.empty())
    return make_check(kCheckSignature, false,
                      "El documento no está firmado: no tiene ds:Signature.");
  if (signatures.size() != 1)
    return make_check(
        kCheckSignature, false,
        fmt::format("El documento tiene {} firmas ds:Signature; debe tener exactamente una.",
                    signatures.size()));
  s.parts = read_parts(signatures.front());
  if (auto problem = structure_problem(s.doc.get(), s.parts); !problem.empty())
    return make_check(kCheckSignature, false, std::move(problem));
  return make_check(kCheckSignature, true,
                    "El documento tiene una sola firma, envuelta en el elemento raíz.");
}

// --- what each reference must be -----------------------------------------------------

RoleReference document_reference(const SignatureParts& parts) {
  RoleReference r;
  int count = 0;
  for (const Reference& ref : parts.references)
    if (is_document_reference(ref)) {
      ++count;
      r.ref = &ref;
    }
  if (count != 1) {
    r.problem = count == 0 ? "La firma no cubre el documento: falta la referencia con URI=\"\"."
                           : "La firma tiene más de una referencia al documento.";
  } else if (r.ref->transforms.empty() || (r.ref->transforms.front() != kEnvelopedUri &&
                                           !is_signature_exclusion(r.ref->transform_nodes[0]))) {
    r.problem = fmt::format(
        "La referencia al documento no excluye la firma: su primera transformación debe ser "
        "enveloped-signature o el filtro XPath {}.",
        kSignatureExclusionXPath);
  } else {
    for (std::size_t i = 1; i < r.ref->transforms.size(); ++i)
      if (!is_c14n(r.ref->transforms[i]))
        r.problem =
            fmt::format("La referencia al documento usa una transformación no permitida ({}).",
                        r.ref->transforms[i]);
  }
  return r;
}

RoleReference properties_reference(const SignatureParts& parts) {
  RoleReference r;
  int count = 0;
  for (const Reference& ref : parts.references)
    if (ref.type == kSignedPropertiesType) {
      ++count;
      r.ref = &ref;
    }
  const std::string properties_id =
      parts.signed_properties ? xml::attribute(parts.signed_properties, "Id").value_or("") : "";
  const std::string signature_id = xml::attribute(parts.signature, "Id").value_or("");
  if (parts.signed_properties == nullptr) {
    r.problem = "La firma no tiene propiedades firmadas (xades:SignedProperties): no es XAdES.";
  } else if (count != 1) {
    r.problem =
        count == 0
            ? fmt::format(
                  "Ninguna referencia de la firma es a las propiedades firmadas (Type=\"{}\").",
                  kSignedPropertiesType)
            : "La firma tiene más de una referencia a propiedades firmadas.";
  } else if (properties_id.empty() || r.ref->uri != "#" + properties_id) {
    r.problem =
        "La referencia a las propiedades firmadas no apunta a las xades:SignedProperties de "
        "esta firma.";
  } else if (signature_id.empty() || parts.qualifying_target != "#" + signature_id) {
    r.problem = "Las propiedades de la firma (QualifyingProperties Target) no son de esta firma.";
  } else {
    for (const std::string& t : r.ref->transforms)
      if (!is_c14n(t))
        r.problem = fmt::format(
            "La referencia a las propiedades firmadas usa una transformación no permitida ({}).",
            t);
  }
  return r;
}

// --- the cryptography ----------------------------------------------------------------

// The signer from KeyInfo (also into `v`) and xmlsec's verdict with its key.
Status run_core(Signed& s, Verification& v) {
  s.parts.key_info_certificates = read_key_info_certificates(
      s.parts.signature, known_certificates(s.options.trusted_roots, s.options.intermediates));
  s.signer = signer_of(s.parts.key_info_certificates);
  if (s.signer == nullptr) return Ok{};
  if (X509_up_ref(const_cast<X509*>(s.signer)) == 1) v.signer.reset(const_cast<X509*>(s.signer));
  auto result = verify_core(s.parts, *s.signer);
  if (!result) return result.error();
  s.core = std::move(*result);
  return Ok{};
}

// Whether xmlsec found the digest of `ref` right; nullopt if it did not get there.
std::optional<bool> reference_result(const Signed& s, const Reference* ref) {
  if (!s.core || !s.core->processed || ref == nullptr) return std::nullopt;
  return s.core->reference_ok[static_cast<std::size_t>(ref - s.parts.references.data())];
}

std::string not_computed(const Signed& s) {
  if (s.signer == nullptr)
    return "No se pudo comprobar: la firma no incluye el certificado del firmante.";
  if (s.core && !s.core->processed) return "No se pudo comprobar: " + s.core->problem;
  return "No se pudo comprobar.";
}

// What a reference covers, as a reason names it.
std::string covered_by(const Signed& s, const Reference& ref) {
  if (&ref == s.document.ref) return "el documento";
  if (&ref == s.properties.ref) return "las propiedades firmadas (SignedProperties)";
  const std::string key_info_id =
      xml::attribute(xml::child(s.parts.signature, kDsigNamespace, "KeyInfo"), "Id").value_or("");
  if (!key_info_id.empty() && ref.uri == "#" + key_info_id) return "KeyInfo";
  return fmt::format("el elemento {}", ref.uri.value_or(""));
}

// What the other references cover, when all of them verified: "; lo demás
// que cubre la firma no cambió: SignedProperties y KeyInfo".
std::string others_intact(const Signed& s, const Reference* failed) {
  std::vector<std::string> intact;
  for (std::size_t i = 0; i < s.parts.references.size(); ++i) {
    const Reference& ref = s.parts.references[i];
    if (&ref == failed) continue;
    if (!s.core->reference_ok[i]) return "";
    intact.push_back(&ref == s.properties.ref ? "SignedProperties" : covered_by(s, ref));
  }
  if (intact.empty()) return "";
  const std::string last = intact.back();
  intact.pop_back();
  return fmt::format("; lo demás que cubre la firma no cambió: {}{}{}", fmt::join(intact, ", "),
                     intact.empty() ? "" : " y ", last);
}

Check check_document_reference(const Signed& s) {
  if (!s.document.problem.empty())
    return make_check(kCheckDocumentReference, false, s.document.problem);
  if (auto ok = reference_result(s, s.document.ref))
    return make_check(
        kCheckDocumentReference, *ok,
        *ok ? fmt::format("El documento no cambió desde que fue firmado ({}).",
                          describe(*s.document.ref))
            : fmt::format("{}: el resumen de la referencia al documento ({}) no coincide{}.",
                          kModifiedAfterSigning, describe(*s.document.ref),
                          others_intact(s, s.document.ref)));
  return make_check(kCheckDocumentReference, false, not_computed(s), false);
}

Check check_properties_reference(const Signed& s) {
  if (!s.properties.problem.empty())
    return make_check(kCheckPropertiesReference, false, s.properties.problem);
  if (auto ok = reference_result(s, s.properties.ref))
    return make_check(
        kCheckPropertiesReference, *ok,
        *ok ? fmt::format("Las propiedades firmadas (SignedProperties) no cambiaron desde la firma "
                          "({}).",
                          describe(*s.properties.ref))
            : fmt::format("Las propiedades firmadas (SignedProperties) cambiaron luego de la "
                          "firma: el resumen de su referencia ({}) no coincide{}.",
                          describe(*s.properties.ref), others_intact(s, s.properties.ref)));
  return make_check(kCheckPropertiesReference, false, not_computed(s), false);
}

// One check for each reference that is neither the document's nor the
// properties' (KeyInfo, for .NET signers).
std::vector<Check> check_other_references(const Signed& s) {
  std::vector<Check> out;
  for (const Reference& ref : s.parts.references) {
    if (&ref == s.document.ref || &ref == s.properties.ref) continue;
    const std::string what = covered_by(s, ref);
    auto ok = reference_result(s, &ref);
    if (!ok)
      out.push_back(make_check(kCheckOtherReference, false, not_computed(s), false));
    else if (*ok)
      out.push_back(make_check(
          kCheckOtherReference, true,
          fmt::format("La referencia a {} ({}) no cambió desde la firma.", what, describe(ref))));
    else
      out.push_back(make_check(
          kCheckOtherReference, false,
          fmt::format("La referencia a {} ({}) no coincide con su resumen: {} cambió luego de la "
                      "firma.",
                      what, describe(ref), what)));
  }
  return out;
}

Check check_signature_value(const Signed& s) {
  if (s.signer == nullptr)
    return make_check(
        kCheckSignatureValue, false,
        "La firma no incluye el certificado del firmante (KeyInfo/X509Data/X509Certificate).");
  if (!s.core->processed) return make_check(kCheckSignatureValue, false, s.core->problem);
  const auto& refs = s.core->reference_ok;
  const bool references_ok = std::all_of(refs.begin(), refs.end(), [](bool b) { return b; });
  if (!references_ok)
    return make_check(
        kCheckSignatureValue, false,
        "No se comprobó el valor de la firma porque una referencia no coincide con su resumen.",
        false);
  return make_check(kCheckSignatureValue, s.core->signature_value_ok,
                    s.core->signature_value_ok
                        ? fmt::format("El valor de la firma ({}) corresponde a la llave del "
                                      "certificado del firmante.",
                                      algorithm_name(s.parts.signature_method))
                        : fmt::format("{} ({}, SignedInfo).", kInvalidSignature,
                                      algorithm_name(s.parts.signature_method)));
}

// The algorithms, when the signature could be checked with them: RSA-SHA1
// is an advertencia.
std::optional<Check> check_algorithms(const Signed& s) {
  if (!s.core || !s.core->processed) return std::nullopt;
  const std::string method = algorithm_name(s.parts.signature_method);
  if (is_weak_signature_method(s.parts.signature_method))
    return make_warning(kCheckAlgorithms,
                        fmt::format("La firma usa {}: SHA-1 ya no se considera seguro para firmar; "
                                    "Hacienda lo acepta, la resolución pide RSA-SHA256.",
                                    method));
  return make_check(kCheckAlgorithms, true, fmt::format("La firma usa {}.", method));
}

// --- the signed properties -----------------------------------------------------------

// SigningTime and ClaimedRole, as the signature claims them, into `v`.
void read_signed_properties(Signed& s, Verification& v) {
  s.ssp = xml::child(s.parts.signed_properties, kXadesNamespace, "SignedSignatureProperties");
  v.signing_time_text = xml::trimmed(xml::text(xml::child(s.ssp, kXadesNamespace, "SigningTime")));
  v.signing_time = parse_date_time(v.signing_time_text);
  v.role = xml::trimmed(xml::text(
      xml::descend(s.ssp, kXadesNamespace, {"SignerRole", "ClaimedRoles", "ClaimedRole"})));
  std::transform(v.role.begin(), v.role.end(), v.role.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
}

// The policy as the signature states it, judged by judge_policy (policy.h).
Check check_policy(const xmlNode* ssp) {
  xmlNode* policy_id =
      xml::descend(ssp, kXadesNamespace, {"SignaturePolicyIdentifier", "SignaturePolicyId"});
  const std::string identifier = xml::trimmed(
      xml::text(xml::descend(policy_id, kXadesNamespace, {"SigPolicyId", "Identifier"})));
  xmlNode* hash = xml::child(policy_id, kXadesNamespace, "SigPolicyHash");
  const std::string algorithm =
      xml::attribute(xml::child(hash, kDsigNamespace, "DigestMethod"), "Algorithm").value_or("");
  const std::string value =
      xml::trimmed(xml::text(xml::child(hash, kDsigNamespace, "DigestValue")));
  const PolicyVerdict verdict = judge_policy(policy_id != nullptr, identifier, algorithm, value);
  return verdict.warning ? make_warning(kCheckPolicy, verdict.reason)
                         : make_check(kCheckPolicy, true, verdict.reason);
}

Bytes digest(const EVP_MD* md, std::span<const std::uint8_t> data) {
  Bytes out(static_cast<std::size_t>(EVP_MD_get_size(md)));
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr);
  out.resize(len);
  return out;
}

// The last xades:Cert whose CertDigest is that of `der`, or null.
const xmlNode* cert_with_digest(const std::vector<xmlNode*>& certs, const Bytes& der) {
  const xmlNode* matched = nullptr;
  for (const xmlNode* c : certs) {
    const xmlNode* cert_digest = xml::child(c, kXadesNamespace, "CertDigest");
    const EVP_MD* md = digest_for(
        xml::attribute(xml::child(cert_digest, kDsigNamespace, "DigestMethod"), "Algorithm")
            .value_or(""));
    auto value = unbase64(xml::text(xml::child(cert_digest, kDsigNamespace, "DigestValue")));
    if (md != nullptr && value && *value == digest(md, der)) matched = c;
  }
  return matched;
}

// Whether the IssuerSerial of a xades:Cert names `signer`.
bool issuer_serial_matches(const xmlNode* cert, const X509& signer) {
  const xmlNode* issuer_serial = xml::child(cert, kXadesNamespace, "IssuerSerial");
  const std::string issuer = xml::text(xml::child(issuer_serial, kDsigNamespace, "X509IssuerName"));
  const std::string serial =
      xml::trimmed(xml::text(xml::child(issuer_serial, kDsigNamespace, "X509SerialNumber")));
  // RFC 4514 writes the most significant part last; xadesjs and others write
  // it first, as X.500 orders it.
  const NameParts written = dn_parts(issuer);
  const NameParts expected = dn_parts(name_line(X509_get_issuer_name(&signer)));
  const bool same_issuer = written == expected || std::equal(written.begin(), written.end(),
                                                             expected.rbegin(), expected.rend());
  const bool same_serial = !serial.empty() && serial == serial_decimal(signer);
  return issuer_serial != nullptr && same_issuer && same_serial;
}

Result<Check> check_signing_certificate(const xmlNode* ssp, const X509* signer) {
  if (signer == nullptr)
    return make_check(kCheckSigningCertificate, false,
                      "La firma no incluye el certificado del firmante.");
  auto der = ossl::x509_to_der(*signer);
  if (!der) return der.error();
  const auto certs = xml::children(xml::child(ssp, kXadesNamespace, "SigningCertificate"),
                                   kXadesNamespace, "Cert");
  const xmlNode* matched = cert_with_digest(certs, *der);
  if (certs.empty())
    return make_check(
        kCheckSigningCertificate, false,
        "Las propiedades firmadas no indican el certificado del firmante (SigningCertificate).");
  if (matched == nullptr)
    return make_check(
        kCheckSigningCertificate, false,
        "El certificado de KeyInfo no es el de SigningCertificate (CertDigest no coincide).");
  if (!issuer_serial_matches(matched, *signer))
    return make_check(kCheckSigningCertificate, false,
                      "IssuerSerial de SigningCertificate no corresponde al certificado del "
                      "firmante (emisor o número de serie).");
  return make_check(
      kCheckSigningCertificate, true,
      "El certificado del firmante es el de SigningCertificate (CertDigest e IssuerSerial).");
}

// --- the chain at SigningTime, validity and revocation -------------------------------

// The signer's chain at `at`. Besides the caller's intermediates, every
// KeyInfo certificate but the signer's own entry may link it to a root. A
// KeyInfo certificate identical to one of the caller's shares its object,
// so the signer's entry is told by position, not by pointer.
Status build_signer_chain(const Signed& s, std::optional<UnixSeconds> at, Chain& out) {
  std::vector<const X509*> untrusted = s.options.intermediates;
  const auto& certs = s.parts.key_info_certificates;
  const auto signer_entry = std::find_if(
      certs.begin(), certs.end(), [&](const ossl::X509Ptr& c) { return c.get() == s.signer; });
  for (auto c = certs.begin(); c != certs.end(); ++c)
    if (c != signer_entry) untrusted.push_back(c->get());
  return build_chain(*s.signer, s.options.trusted_roots, untrusted, at, s.options.partial_chain,
                     out);
}

std::string chain_failure(int error, const X509& signer) {
  switch (error) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return fmt::format(
          "El certificado del firmante no fue emitido por una autoridad de confianza (emisor: "
          "{}).",
          name_line(X509_get_issuer_name(&signer)));
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      return "La firma de un certificado de la cadena no es válida.";
    default:
      return fmt::format("La cadena de certificados no es válida: {}.",
                         X509_verify_cert_error_string(error));
  }
}

bool may_sign(const X509& cert) {
  X509* c = const_cast<X509*>(&cert);
  if ((X509_get_extension_flags(c) & EXFLAG_KUSAGE) == 0) return true;
  return (X509_get_key_usage(c) & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)) != 0;
}

// The first certificate of the chain, from the signer up, that the caller
// trusts: with a partial chain OpenSSL may build past it.
const X509* trust_anchor(const Signed& s, const Chain& chain) {
  for (int i = 0; i < sk_X509_num(chain.chain); ++i) {
    const X509* c = sk_X509_value(chain.chain, i);
    for (const X509* trusted : s.options.trusted_roots)
      if (X509_cmp(c, trusted) == 0) return c;
  }
  return nullptr;
}

Check check_chain(const Signed& s, const Chain& chain) {
  if (s.signer == nullptr)
    return make_check(kCheckChain, false,
                      "No hay certificado del firmante para validar su cadena.");
  if (s.options.trusted_roots.empty())
    return make_check(kCheckChain, false, "No hay certificados raíz de confianza configurados.");
  if (!chain.ok) return make_check(kCheckChain, false, chain_failure(chain.error, *s.signer));
  if (!may_sign(*s.signer))
    return make_check(kCheckChain, false,
                      "El certificado del firmante no está autorizado para firmar (keyUsage).");
  const X509* anchor = trust_anchor(s, chain);
  if (anchor == nullptr || X509_cmp(anchor, s.signer) == 0)
    return make_check(kCheckChain, true,
                      "El certificado del firmante es él mismo un certificado de confianza.");
  const bool root =
      X509_check_issued(const_cast<X509*>(anchor), const_cast<X509*>(anchor)) == X509_V_OK;
  return make_check(
      kCheckChain, true,
      fmt::format("El certificado fue emitido por {} y encadena a {} de confianza ({}).",
                  common_name(X509_get_issuer_name(s.signer)), root ? "una raíz" : "un certificado",
                  common_name(X509_get_subject_name(anchor))));
}

Check check_validity(const Signed& s, const Verification& v, const Chain& chain) {
  if (s.signer == nullptr)
    return make_check(kCheckValidity, false,
                      "No hay certificado del firmante para validar su vigencia.");
  const UnixSeconds now = s.options.now.value_or(now_seconds());
  const auto not_before = asn1_time_seconds(X509_get0_notBefore(s.signer));
  const auto not_after = asn1_time_seconds(X509_get0_notAfter(s.signer));
  const std::string& written = v.signing_time_text;
  if (!v.signing_time)
    return make_check(
        kCheckValidity, false,
        written.empty()
            ? "Falta la fecha de la firma (SigningTime) en las propiedades firmadas."
            : fmt::format("La fecha de la firma \"{}\" no es una fecha válida.", written));
  if (*v.signing_time > now + 300)
    return make_check(kCheckValidity, false,
                      fmt::format("La fecha de la firma ({}) está en el futuro.", written));
  if (!not_before || !not_after || *v.signing_time < *not_before)
    return make_check(
        kCheckValidity, false,
        fmt::format("El certificado del firmante aún no era válido en la fecha de la firma ({}); "
                    "es válido desde {}.",
                    written, not_before ? costa_rica_time(*not_before) : "?"));
  if (*v.signing_time > *not_after)
    return make_check(
        kCheckValidity, false,
        fmt::format("El certificado del firmante estaba vencido en la fecha de la firma ({}); "
                    "venció el {}.",
                    written, costa_rica_time(*not_after)));
  const auto& errors = chain.time_errors;
  if (std::any_of(errors.begin(), errors.end(), [](const auto& e) { return e.first > 0; }))
    return make_check(
        kCheckValidity, false,
        "Un certificado de la cadena del firmante no era válido en la fecha de la firma.");
  return make_check(
      kCheckValidity, true,
      fmt::format("El certificado estaba vigente en la fecha de la firma ({}).", written));
}

// The revocation check for a source's answer.
Check revocation_check(const RevocationAnswer& answer, bool require_answer) {
  const std::string from = answer.source.empty() ? "" : fmt::format(" ({})", answer.source);
  const std::string detail = answer.detail.empty() ? "" : ": " + answer.detail;
  switch (answer.status) {
    case RevocationStatus::kGood:
      return make_check(kCheckRevocation, true,
                        "El certificado del firmante no está revocado" + from + ".");
    case RevocationStatus::kRevoked:
      return make_check(
          kCheckRevocation, false,
          fmt::format("El certificado del firmante fue revocado el {}{}{}.",
                      costa_rica_time(answer.revoked_at),
                      answer.reason
                          ? fmt::format(" (motivo: {})", revocation_reason_label(*answer.reason))
                          : "",
                      from));
    case RevocationStatus::kUnknown:
      return make_check(kCheckRevocation, false,
                        "El emisor no reconoce el certificado del firmante" + from + detail + ".");
    case RevocationStatus::kNotChecked: break;
  }
  return make_check(kCheckRevocation, !require_answer,
                    "No se pudo consultar la revocación" + from + detail + ".", false);
}

// The certificate that issued the signer: the next in the chain, or, when
// the signer itself is the anchor (a partial chain), a certificate at hand
// whose key signed it; null if there is none.
const X509* signer_issuer(const Signed& s, const Chain& chain) {
  if (sk_X509_num(chain.chain) >= 2) return sk_X509_value(chain.chain, 1);
  std::vector<const X509*> candidates = s.options.trusted_roots;
  candidates.insert(candidates.end(), s.options.intermediates.begin(),
                    s.options.intermediates.end());
  for (const auto& c : s.parts.key_info_certificates) candidates.push_back(c.get());
  for (const X509* c : candidates) {
    X509* issuer = const_cast<X509*>(c);
    EVP_PKEY* key = X509_get0_pubkey(issuer);
    if (c != s.signer && X509_check_issued(issuer, const_cast<X509*>(s.signer)) == X509_V_OK &&
        key != nullptr && X509_verify(const_cast<X509*>(s.signer), key) == 1)
      return c;
  }
  ossl::last_error();
  return nullptr;
}

Result<Check> check_revocation(const Signed& s, const Chain& chain) {
  if (s.signer == nullptr)
    return make_check(kCheckRevocation, false,
                      "No hay certificado del firmante para consultar su revocación.", false);
  if (chain.chain == nullptr)
    return make_check(kCheckRevocation, false,
                      "No se consultó la revocación porque la cadena de certificados no es válida.",
                      false);
  const X509* issuer = signer_issuer(s, chain);
  if (issuer == nullptr)
    return make_check(kCheckRevocation, !s.options.require_revocation_answer,
                      "No se consultó la revocación: se confió en el certificado del firmante "
                      "mismo y su emisor no está disponible.",
                      false);
  if (!s.options.revocation)
    return make_check(kCheckRevocation, !s.options.require_revocation_answer,
                      "No se consultó la revocación: no hay una fuente configurada.", false);
  auto answer = s.options.revocation(*s.signer, *issuer);
  if (!answer) return answer.error();
  return revocation_check(*answer, s.options.require_revocation_answer);
}

// --- all of them -----------------------------------------------------------------------

// Records `check`; whether it passed.
bool add(Verification& v, Check check) {
  v.checks.push_back(std::move(check));
  return v.checks.back().ok;
}

// Under VerifyOptions::strict, an advertencia is a failure.
Verification finish(Verification& v, const VerifyOptions& options) {
  if (options.strict)
    for (Check& c : v.checks)
      if (c.warning && c.ok) {
        c.ok = false;
        c.reason += " (modo estricto: la advertencia cuenta como falla)";
      }
  v.valid = !v.checks.empty() &&
            std::all_of(v.checks.begin(), v.checks.end(), [](const Check& c) { return c.ok; });
  return std::move(v);
}

}  // namespace

Result<Verification> verify(std::string_view xml, const VerifyOptions& options) {
  LLAVERO_TRY(xmlsec_ready());
  Verification v;
  auto doc = xml::parse(xml, options.max_bytes);
  if (!add(v, check_xml(doc))) return finish(v, options);
  Signed s(options, std::move(*doc));
  if (!add(v, check_signature(s))) return finish(v, options);

  s.document = document_reference(s.parts);
  s.properties = properties_reference(s.parts);
  LLAVERO_TRY(run_core(s, v));
  add(v, check_document_reference(s));
  add(v, check_properties_reference(s));
  for (Check& c : check_other_references(s)) add(v, std::move(c));
  add(v, check_signature_value(s));
  if (auto algorithms = check_algorithms(s)) add(v, std::move(*algorithms));

  read_signed_properties(s, v);
  add(v, check_policy(s.ssp));
  auto signing_certificate = check_signing_certificate(s.ssp, s.signer);
  if (!signing_certificate) return signing_certificate.error();
  add(v, std::move(*signing_certificate));

  Chain chain;
  if (s.signer != nullptr) LLAVERO_TRY(build_signer_chain(s, v.signing_time, chain));
  add(v, check_chain(s, chain));
  add(v, check_validity(s, v, chain));
  auto revocation = check_revocation(s, chain);
  if (!revocation) return revocation.error();
  add(v, std::move(*revocation));
  return finish(v, options);
}

}  // namespace llavero::xades
