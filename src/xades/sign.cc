// Signing: the xmlsec template of an enveloped XAdES-EPES signature and its
// SignedProperties, the digests and the RSA signature over their exclusive
// C14N by libxml2 and OpenSSL, checked with the certificate's public key,
// and the serialized Signature spliced into the original text.
#include <fmt/format.h>
#include <libxml/c14n.h>
#include <libxml/chvalid.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <xmlsec/crypto.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmltree.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "util/base64.h"
#include "util/error_codes.h"
#include "util/hash.h"
#include "xades/certificate_names.h"
#include "xades/policy.h"
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

// The ds:Signature template, the root of `doc`: SignedInfo with the
// reference to the document (enveloped, exclusive C14N) and the one to the
// SignedProperties, and an empty SignatureValue.
Result<xmlNode*> add_signature_template(xmlDoc* doc, const Ids& ids) {
  xmlNode* signature =
      xmlSecTmplSignatureCreateNsPref(doc, xmlSecTransformExclC14NId, xmlSecTransformRsaSha256Id,
                                      xml_chars(ids.signature), BAD_CAST "ds");
  if (signature == nullptr) return xmlsec_error("plantilla");
  xmlDocSetRootElement(doc, signature);  // owned by the document from here on

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
// its SignedProperties.
Result<xmlNode*> add_qualifying_properties(xmlNode* signature, const Ids& ids, const X509& cert,
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
  xmlSetProp(sp, BAD_CAST "Id", xml_chars(ids.properties));

  LLAVERO_TRY(add_signed_signature_properties(sp, cert, options, role));
  xmlNode* format = add(add(sp, "SignedDataObjectProperties", kXadesNamespace), "DataObjectFormat",
                        kXadesNamespace);
  xmlSetProp(format, BAD_CAST "ObjectReference", xml_chars("#" + ids.document_reference));
  add_text(format, "MimeType", kXadesNamespace, "text/xml");
  add_text(format, "Encoding", kXadesNamespace, encoding);
  return sp;
}

// --- digests and the RSA signature ------------------------------------------------

// Where xmlC14NExecute writes: a string.
int append_to_string(void* context, const char* buffer, int len) {
  static_cast<std::string*>(context)->append(buffer, static_cast<std::size_t>(len));
  return len;
}

// Whether `node` (an element, attribute or namespace node) is in the subtree
// of `subtree`. A namespace node is in the subtree of its element (`parent`);
// an attribute's parent is its element, like an element's.
int in_subtree(void* subtree, xmlNode* node, xmlNode* parent) {
  const xmlNode* n = node->type == XML_NAMESPACE_DECL ? parent : node;
  for (; n != nullptr; n = n->parent)
    if (n == subtree) return 1;
  return 0;
}

// The exclusive canonical form, without comments, of `subtree` (a same-document
// reference "#id" in XML-DSig), or of the whole document if it is null (URI="").
// libxml2 does the work, as it does for xmlsec; only xmlsec's node sets, whose
// membership test is a linear search per node, are left out.
Result<std::string> exclusive_c14n(xmlDoc* doc, xmlNode* subtree) {
  std::string out;
  xmlOutputBuffer* buffer = xmlOutputBufferCreateIO(append_to_string, nullptr, &out, nullptr);
  if (buffer == nullptr) return make_error(errc::kErrorInterno, "Sin memoria para la C14N.");
  const int written = xmlC14NExecute(doc, subtree != nullptr ? in_subtree : nullptr, subtree,
                                     XML_C14N_EXCLUSIVE_1_0, nullptr, 0, buffer);
  if (xmlOutputBufferClose(buffer) < 0 || written < 0)
    return make_error(errc::kErrorInterno, "No se pudo canonicalizar (C14N) la firma.");
  return out;
}

// Base64 as xmlsec writes it in a DigestValue or SignatureValue: lines of 64
// characters.
std::string base64_lines(std::span<const std::uint8_t> data) {
  const std::string flat = base64_encode(data);
  std::string out;
  out.reserve(flat.size() + flat.size() / 64);
  for (std::size_t i = 0; i < flat.size(); i += 64) {
    if (i > 0) out += '\n';
    out.append(flat, i, 64);
  }
  return out;
}

void set_text(xmlNode* node, const std::string& text) {
  xmlNodeSetContent(node, nullptr);
  xmlNodeAddContent(node, xml_chars(text));  // escaped on output
}

using MdCtx = ossl::Owned<EVP_MD_CTX, EVP_MD_CTX_free>;

// RSA PKCS#1 v1.5 with SHA-256 of `data`: rsa-sha256 of XML-DSig.
Result<Bytes> rsa_sha256(const EVP_PKEY& key, std::string_view data) {
  MdCtx ctx(EVP_MD_CTX_new());
  Bytes signature(static_cast<std::size_t>(EVP_PKEY_get_size(&key)));
  std::size_t length = signature.size();
  if (!ctx ||
      EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, const_cast<EVP_PKEY*>(&key)) !=
          1 ||
      EVP_DigestSign(ctx.get(), signature.data(), &length,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1)
    return ossl::internal_error("firma RSA");
  signature.resize(length);
  return signature;
}

// Whether `signature` is the rsa-sha256 signature of `data` under `cert`'s key.
bool rsa_sha256_verifies(const X509& cert, std::string_view data, const Bytes& signature) {
  EVP_PKEY* public_key = X509_get0_pubkey(&cert);
  MdCtx ctx(EVP_MD_CTX_new());
  const bool ok =
      public_key != nullptr && ctx &&
      EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, public_key) == 1 &&
      EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                       reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  if (!ok) ossl::last_error();  // clear OpenSSL's error queue
  return ok;
}

// The DigestValue of a Reference.
xmlNode* digest_value(xmlNode* reference) {
  return xmlSecFindChild(reference, BAD_CAST "DigestValue", xml_chars(kDsigNamespace));
}

// The two digests and the SignatureValue, into the Signature (the root of
// its own document, see sign()). `document_digest` is the document's.
//
// The self-check. A signer checks its RSA result before letting it out: a
// fault in the private-key operation (with CRT, Lenstra's attack) gives
// whoever sees the faulty signature a factor of the modulus, and a key that
// is not the certificate's gives a signature nobody can verify. Verifying
// the SignatureValue with the certificate's public key over the very bytes
// that were signed (an RSA public-key operation, some 30 times cheaper than
// the private one) catches both. It used to be a full verification of the
// spliced text (parse, both references, SignedInfo again: a third of the
// signing time); what that added over this check holds by construction: the
// document's digest is over the canonical form of the same parse of the same
// bytes the receiver gets (the splice changes none of them, and the
// enveloped transform removes exactly the Signature), and the other digest
// and SignedInfo are over the canonical forms of the tree that is
// serialized, whose exclusive C14N does not depend on where it is spliced
// (every namespace it uses is declared inside it, and exclusive C14N takes
// nothing else from the ancestors). The tests check the output with
// llavero's verifier, xmlsec1 and xadesjs.
Status compute(xmlDoc* signature_doc, xmlNode* signature, const Bytes& document_digest,
               xmlNode* signed_properties, const EVP_PKEY& key, const X509& cert) {
  xmlNode* signed_info =
      xmlSecFindChild(signature, BAD_CAST "SignedInfo", xml_chars(kDsigNamespace));
  xmlNode* value = xmlSecFindChild(signature, BAD_CAST "SignatureValue", xml_chars(kDsigNamespace));
  std::vector<xmlNode*> references;
  for (xmlNode* r = signed_info ? signed_info->children : nullptr; r != nullptr; r = r->next)
    if (xml::is_element(r, kDsigNamespace, "Reference")) references.push_back(r);
  if (value == nullptr || references.size() != 2 || !digest_value(references[0]) ||
      !digest_value(references[1]))
    return make_error(errc::kErrorInterno, "La plantilla de la firma está incompleta.");

  set_text(digest_value(references[0]), base64_lines(document_digest));
  auto properties = exclusive_c14n(signature_doc, signed_properties);
  if (!properties) return properties.error();
  set_text(digest_value(references[1]), base64_lines(sha256(*properties)));

  auto signed_bytes = exclusive_c14n(signature_doc, signed_info);
  if (!signed_bytes) return signed_bytes.error();
  auto signature_value = rsa_sha256(key, *signed_bytes);
  if (!signature_value) return signature_value.error();
  if (!rsa_sha256_verifies(cert, *signed_bytes, *signature_value))
    return make_error(errc::kErrorInterno,
                      "La firma RSA calculada no se verifica con la llave pública del "
                      "certificado.");
  set_text(value, base64_lines(*signature_value));
  return Ok{};
}

// Whether the Signature written as ASCII holds only characters XML 1.0
// allows. The one thing its tree does not show is a character XML forbids
// (say a control character in the policy or a certificate's name): libxml2
// writes it as a character reference that no parser accepts, and the signed
// document would not be XML. Written as ASCII, every other character is
// itself or a reference.
bool only_xml_characters(std::string_view text) {
  const bool ascii = std::all_of(text.begin(), text.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return (c >= 0x20 && c < 0x80) || c == '\t' || c == '\n' || c == '\r';
  });
  if (!ascii) return false;
  for (auto at = text.find("&#"); at != std::string_view::npos; at = text.find("&#", at)) {
    const bool hex = at + 2 < text.size() && text[at + 2] == 'x';
    const unsigned base = hex ? 16 : 10;
    at += hex ? 3 : 2;
    unsigned long code = 0;
    for (; at < text.size() && text[at] != ';' && code <= 0x10FFFF; ++at) {
      const char d = static_cast<char>(text[at] | 0x20);  // lower case
      const unsigned digit = d >= '0' && d <= '9'   ? static_cast<unsigned>(d - '0')
                             : d >= 'a' && d <= 'f' ? static_cast<unsigned>(d - 'a' + 10)
                                                    : base;
      if (digit >= base) return false;
      code = code * base + digit;
    }
    if (at >= text.size() || text[at] != ';' || !xmlIsCharQ(static_cast<int>(code))) return false;
  }
  return true;
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

  // The document's digest, before anything else: its canonical form is
  // that of the document a receiver parses, less the Signature.
  auto canonical_document = exclusive_c14n(doc->get(), nullptr);
  if (!canonical_document) return canonical_document.error();
  const Bytes document_digest = sha256(*canonical_document);

  // The Signature is built as the root of a document of its own: it never
  // needs the document's tree, and its exclusive C14N is the same there as
  // at its place in the document (see compute()).
  const Ids ids;
  if (xml.find(ids.signature) != std::string_view::npos)
    return not_signable("El documento ya usa el identificador de la firma.");
  xml::Document signature_doc(xmlNewDoc(BAD_CAST "1.0"));
  if (!signature_doc) return make_error(errc::kErrorInterno, "Sin memoria para la firma.");
  auto signature = add_signature_template(signature_doc.get(), ids);
  if (!signature) return signature.error();
  LLAVERO_TRY(add_key_info(*signature, cert, chain));
  const std::string encoding = (*doc)->encoding ? xml::chars((*doc)->encoding) : "UTF-8";
  const SignerRole role = options.role.value_or(xmlStrEqual(root->name, BAD_CAST "MensajeReceptor")
                                                    ? SignerRole::kReceptor
                                                    : SignerRole::kEmisor);
  auto signed_properties =
      add_qualifying_properties(*signature, ids, cert, options, role, encoding);
  if (!signed_properties) return signed_properties.error();
  LLAVERO_TRY(
      compute(signature_doc.get(), *signature, document_digest, *signed_properties, key, cert));

  // The Signature as ASCII text (anything else as a character reference),
  // so that it fits in a document of any ASCII-compatible encoding.
  auto signature_text = xml::to_string(*signature, "ASCII");
  if (!signature_text) return make_error(errc::kErrorInterno, "No se pudo escribir la firma.");
  if (!only_xml_characters(*signature_text))
    return make_error(errc::kErrorInterno,
                      "La firma tendría caracteres que XML no admite (de la política o de un "
                      "certificado).");
  std::string out;
  out.reserve(xml.size() + signature_text->size());
  out.append(xml.substr(0, *splice_at));
  out.append(*signature_text);
  out.append(xml.substr(*splice_at));
  return out;
}

}  // namespace llavero::xades
