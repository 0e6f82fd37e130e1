// Signing: the xmlsec template of an enveloped XAdES-EPES signature, its
// SignedProperties, the signature computed by xmlsec, and the serialized
// Signature spliced into the original text, checked before it is returned.
#include <fmt/format.h>
#include <openssl/rand.h>
#include <xmlsec/crypto.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "util/base64.h"
#include "util/error_codes.h"
#include "util/hash.h"
#include "xades/certificate_names.h"
#include "xades/policy.h"
#include "xades/signature.h"
#include "xades/xades.h"
#include "xades/xmlsec.h"
#include "xml/document.h"

namespace llavero::xades {

std::string_view signer_role_name(SignerRole role) {
  return role == SignerRole::kEmisor ? "emisor" : "receptor";
}

Result<SignerRole> parse_signer_role(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "emisor") return SignerRole::kEmisor;
  if (lower == "receptor") return SignerRole::kReceptor;
  return make_error(
      errc::kRolInvalido,
      fmt::format("Rol de firmante desconocido \"{}\": use \"emisor\" o \"receptor\".", text));
}

namespace {

using xml::xml_chars;

Error not_signable(std::string message) {
  return make_error(errc::kXmlNoFirmable, std::move(message));
}

// A random UUID (version 4), for the signature's identifiers.
std::string random_id() {
  std::uint8_t b[16];
  if (RAND_bytes(b, sizeof b) != 1) std::memset(b, 0, sizeof b);  // uniqueness, not secrecy
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);
  const std::string h = to_hex(b);
  return fmt::format("{}-{}-{}-{}-{}", h.substr(0, 8), h.substr(8, 4), h.substr(12, 4),
                     h.substr(16, 4), h.substr(20));
}

// The identifiers of one signature.
struct Ids {
  std::string signature = "xmldsig-" + random_id();
  std::string document_reference = signature + "-ref0";
  std::string properties = signature + "-signedprops";
};

Status check_key(const EVP_PKEY& key, const X509& cert) {
  if (!EVP_PKEY_is_a(&key, "RSA"))
    return make_error(errc::kLlaveInvalida, "La llave de firma debe ser RSA.");
  if (X509_check_private_key(&cert, &key) != 1) {
    ossl::last_error();
    return make_error(errc::kLlaveInvalida, "La llave privada no corresponde al certificado.");
  }
  return Ok{};
}

// Where the root element's end tag starts in the original text: after it
// only whitespace, comments and processing instructions may follow.
std::optional<std::size_t> root_end_tag(std::string_view xml, std::string_view root_name) {
  std::size_t end = xml.size();
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  for (;;) {
    while (end > 0 && space(xml[end - 1])) --end;
    const std::string_view head = xml.substr(0, end);
    if (head.ends_with("-->")) {
      const auto start = head.rfind("<!--", end - 3);
      if (start == std::string_view::npos) return std::nullopt;
      end = start;
    } else if (head.ends_with("?>")) {
      const auto start = head.rfind("<?", end - 2);
      if (start == std::string_view::npos) return std::nullopt;
      end = start;
    } else {
      break;
    }
  }
  if (end == 0 || xml[end - 1] != '>') return std::nullopt;
  const auto open = xml.rfind("</", end - 1);
  if (open == std::string_view::npos) return std::nullopt;
  std::string_view name = xml.substr(open + 2, end - 1 - (open + 2));
  while (!name.empty() && space(name.back())) name.remove_suffix(1);
  if (name != root_name) return std::nullopt;
  return open;
}

// Where the Signature goes in the text of an unsigned document.
Result<std::size_t> splice_point(std::string_view xml, xmlNode* root) {
  if (!xml::descendants(root, kDsigNamespace, "Signature").empty())
    return not_signable("El documento ya tiene una firma (ds:Signature).");
  const auto at = root_end_tag(xml, xml::qualified_name(root));
  if (!at)
    return not_signable(
        "No se encontró la etiqueta de cierre del elemento raíz (un raíz vacío \"<.../>\" no "
        "se puede firmar).");
  return *at;
}

// --- the Signature element ---------------------------------------------------------

xmlNode* add(xmlNode* parent, const char* name, std::string_view ns) {
  return xmlSecAddChild(parent, reinterpret_cast<const xmlChar*>(name), xml_chars(ns));
}

xmlNode* add_text(xmlNode* parent, const char* name, std::string_view ns, const std::string& text) {
  xmlNode* n = add(parent, name, ns);
  if (n != nullptr) xmlNodeAddContent(n, xml_chars(text));  // escaped on output
  return n;
}

void add_digest(xmlNode* parent, std::string_view algorithm, const std::string& value) {
  xmlNode* method = add(parent, "DigestMethod", kDsigNamespace);
  if (method != nullptr) xmlSetProp(method, BAD_CAST "Algorithm", xml_chars(algorithm));
  add_text(parent, "DigestValue", kDsigNamespace, value);
}

// The ds:Signature template, last child of the root: SignedInfo with the
// reference to the document (enveloped, exclusive C14N) and the one to the
// SignedProperties, and an empty SignatureValue.
Result<xmlNode*> add_signature_template(xmlDoc* doc, xmlNode* root, const Ids& ids) {
  xmlNode* signature =
      xmlSecTmplSignatureCreateNsPref(doc, xmlSecTransformExclC14NId, xmlSecTransformRsaSha256Id,
                                      xml_chars(ids.signature), BAD_CAST "ds");
  if (signature == nullptr) return xmlsec_error("plantilla");
  xmlAddChild(root, signature);  // owned by the document from here on

  xmlNode* document_reference = xmlSecTmplSignatureAddReference(
      signature, xmlSecTransformSha256Id, xml_chars(ids.document_reference), BAD_CAST "", nullptr);
  xmlNode* properties_reference = xmlSecTmplSignatureAddReference(
      signature, xmlSecTransformSha256Id, nullptr, xml_chars("#" + ids.properties),
      xml_chars(kSignedPropertiesType));
  if (document_reference == nullptr || properties_reference == nullptr ||
      xmlSecTmplReferenceAddTransform(document_reference, xmlSecTransformEnvelopedId) == nullptr ||
      xmlSecTmplReferenceAddTransform(document_reference, xmlSecTransformExclC14NId) == nullptr ||
      xmlSecTmplReferenceAddTransform(properties_reference, xmlSecTransformExclC14NId) == nullptr)
    return xmlsec_error("referencias");
  if (xmlNode* value =
          xmlSecFindChild(signature, BAD_CAST "SignatureValue", xml_chars(kDsigNamespace)))
    xmlSetProp(value, BAD_CAST "Id", xml_chars(ids.signature + "-sigvalue"));
  return signature;
}

// KeyInfo is filled here rather than by xmlsec (the xmlsec key carries no
// certificate), so that it holds exactly the certificate and the chain.
Status add_key_info(xmlNode* signature, const X509& cert, std::span<const X509* const> chain) {
  xmlNode* key_info = xmlSecTmplSignatureEnsureKeyInfo(signature, nullptr);
  xmlNode* x509_data = key_info ? xmlSecTmplKeyInfoAddX509Data(key_info) : nullptr;
  if (x509_data == nullptr) return xmlsec_error("KeyInfo");
  std::vector<const X509*> certificates{&cert};
  certificates.insert(certificates.end(), chain.begin(), chain.end());
  for (const X509* c : certificates) {
    auto der = ossl::x509_to_der(*c);
    if (!der) return der.error();
    add_text(x509_data, "X509Certificate", kDsigNamespace, base64_encode(*der));
  }
  return Ok{};
}

// xades:SigningCertificate: the certificate's digest and IssuerSerial.
Status add_signing_certificate(xmlNode* ssp, const X509& cert) {
  auto der = ossl::x509_to_der(cert);
  if (!der) return der.error();
  xmlNode* signing_cert =
      add(add(ssp, "SigningCertificate", kXadesNamespace), "Cert", kXadesNamespace);
  add_digest(add(signing_cert, "CertDigest", kXadesNamespace), kSha256Uri,
             base64_encode(sha256(*der)));
  xmlNode* issuer_serial = add(signing_cert, "IssuerSerial", kXadesNamespace);
  add_text(issuer_serial, "X509IssuerName", kDsigNamespace, name_line(X509_get_issuer_name(&cert)));
  add_text(issuer_serial, "X509SerialNumber", kDsigNamespace, serial_decimal(cert));
  return Ok{};
}

// xades:SignedSignatureProperties: SigningTime, SigningCertificate,
// SignaturePolicyIdentifier and SignerRole.
Status add_signed_signature_properties(xmlNode* sp, const X509& cert, const SignOptions& options,
                                       SignerRole role) {
  xmlNode* ssp = add(sp, "SignedSignatureProperties", kXadesNamespace);
  add_text(ssp, "SigningTime", kXadesNamespace,
           costa_rica_time(options.signing_time.value_or(now_seconds())));
  LLAVERO_TRY(add_signing_certificate(ssp, cert));
  xmlNode* policy = add(add(ssp, "SignaturePolicyIdentifier", kXadesNamespace), "SignaturePolicyId",
                        kXadesNamespace);
  add_text(add(policy, "SigPolicyId", kXadesNamespace), "Identifier", kXadesNamespace,
           options.policy.identifier);
  add_digest(add(policy, "SigPolicyHash", kXadesNamespace), kSha256Uri,
             options.policy.sha256_base64);
  add_text(add(add(ssp, "SignerRole", kXadesNamespace), "ClaimedRoles", kXadesNamespace),
           "ClaimedRole", kXadesNamespace, std::string(signer_role_name(role)));
  return Ok{};
}

// The xades:QualifyingProperties of the signature, in a new ds:Object;
// its SignedProperties' Id attribute.
Result<xmlAttr*> add_qualifying_properties(xmlNode* signature, const Ids& ids, const X509& cert,
                                           const SignOptions& options, SignerRole role,
                                           const std::string& encoding) {
  xmlNode* object = xmlSecTmplSignatureAddObject(signature, nullptr, nullptr, nullptr);
  if (object == nullptr) return xmlsec_error("Object");
  xmlNode* qp = xmlNewChild(object, nullptr, BAD_CAST "QualifyingProperties", nullptr);
  if (qp == nullptr) return xmlsec_error("QualifyingProperties");
  xmlNs* xades = xmlNewNs(qp, xml_chars(kXadesNamespace), BAD_CAST "xades");
  xmlSetNs(qp, xades);
  xmlSetProp(qp, BAD_CAST "Target", xml_chars("#" + ids.signature));
  xmlNode* sp = add(qp, "SignedProperties", kXadesNamespace);
  if (sp == nullptr) return xmlsec_error("SignedProperties");
  xmlAttr* id = xmlSetProp(sp, BAD_CAST "Id", xml_chars(ids.properties));

  LLAVERO_TRY(add_signed_signature_properties(sp, cert, options, role));
  xmlNode* format = add(add(sp, "SignedDataObjectProperties", kXadesNamespace), "DataObjectFormat",
                        kXadesNamespace);
  xmlSetProp(format, BAD_CAST "ObjectReference", xml_chars("#" + ids.document_reference));
  add_text(format, "MimeType", kXadesNamespace, "text/xml");
  add_text(format, "Encoding", kXadesNamespace, encoding);
  return id;
}

// Digests and RSA signature, by xmlsec, into the template.
Status compute(xmlNode* signature, const EVP_PKEY& key) {
  auto ctx = restricted_context();
  if (!ctx) return ctx.error();
  auto signing_key = xmlsec_key(key);
  if (!signing_key) return signing_key.error();
  (*ctx)->signKey = signing_key->release();
  clear_xmlsec_error();
  if (xmlSecDSigCtxSign(ctx->get(), signature) < 0 || (*ctx)->status != xmlSecDSigStatusSucceeded)
    return xmlsec_error("firmar");
  return Ok{};
}

// What a receiver parses is the spliced text, not our tree: the digests
// and the SignatureValue must hold for it. KeyInfo's certificates are not
// decoded again: the key to check is `cert`'s.
Status check_spliced(std::string_view out, std::size_t signature_size, const X509& cert) {
  auto reparsed = xml::parse(out, kMaxDocumentBytes + signature_size);
  if (!reparsed)
    return make_error(errc::kErrorInterno,
                      "El documento firmado no se pudo releer: " + reparsed.error().message);
  const auto signatures =
      xml::descendants(xmlDocGetRootElement(reparsed->get()), kDsigNamespace, "Signature");
  if (signatures.size() != 1)
    return make_error(errc::kErrorInterno, "La firma insertada no se encontró.");
  SignatureParts parts = read_parts(signatures.front());
  if (parts.signed_properties == nullptr ||
      !xml::register_id(reparsed->get(), xmlHasProp(parts.signed_properties, BAD_CAST "Id")))
    return make_error(errc::kErrorInterno, "La firma insertada no tiene propiedades firmadas.");
  auto core = verify_core(parts, cert);
  if (!core) return core.error();
  if (!core->processed || !core->signature_value_ok)
    return make_error(errc::kErrorInterno,
                      "La firma insertada no se verifica sobre el texto del documento" +
                          (core->problem.empty() ? std::string(".") : ": " + core->problem));
  return Ok{};
}

}  // namespace

Result<std::string> sign(std::string_view xml, const EVP_PKEY& key, const X509& cert,
                         std::span<const X509* const> chain, const SignOptions& options) {
  LLAVERO_TRY(xmlsec_ready());
  LLAVERO_TRY(check_key(key, cert));
  if (xml.find('\0') != std::string_view::npos)
    return not_signable("El XML no está en UTF-8 (ni en otra codificación compatible con ASCII).");
  auto doc = xml::parse(xml, kMaxDocumentBytes);
  if (!doc) return doc.error();
  xmlNode* root = xmlDocGetRootElement(doc->get());
  auto splice_at = splice_point(xml, root);
  if (!splice_at) return splice_at.error();

  const Ids ids;
  auto signature = add_signature_template(doc->get(), root, ids);
  if (!signature) return signature.error();
  LLAVERO_TRY(add_key_info(*signature, cert, chain));
  const std::string encoding = (*doc)->encoding ? xml::chars((*doc)->encoding) : "UTF-8";
  const SignerRole role = options.role.value_or(xmlStrEqual(root->name, BAD_CAST "MensajeReceptor")
                                                    ? SignerRole::kReceptor
                                                    : SignerRole::kEmisor);
  auto properties_id = add_qualifying_properties(*signature, ids, cert, options, role, encoding);
  if (!properties_id) return properties_id.error();
  if (!xml::register_id(doc->get(), *properties_id))
    return not_signable("El documento ya usa el identificador de las propiedades firmadas.");
  LLAVERO_TRY(compute(*signature, key));

  // The Signature as ASCII text (anything else as a character reference),
  // so that it fits in a document of any ASCII-compatible encoding.
  auto signature_text = xml::to_string(*signature, "ASCII");
  if (!signature_text) return make_error(errc::kErrorInterno, "No se pudo escribir la firma.");
  std::string out;
  out.reserve(xml.size() + signature_text->size());
  out.append(xml.substr(0, *splice_at));
  out.append(*signature_text);
  out.append(xml.substr(*splice_at));
  LLAVERO_TRY(check_spliced(out, signature_text->size(), cert));
  return out;
}

}  // namespace llavero::xades
