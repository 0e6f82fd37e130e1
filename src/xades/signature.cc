#include "xades/signature.h"

#include <fmt/format.h>
#include <xmlsec/xmldsig.h>

#include <algorithm>

#include "util/base64.h"
#include "xades/policy.h"
#include "xades/xades.h"
#include "xades/xmlsec.h"
#include "xml/document.h"

namespace llavero::xades {

std::optional<Bytes> unbase64(std::string_view text) {
  constexpr Base64Format kXmlBase64{Base64Alphabet::kStandard, Base64Padding::kRequired, true};
  return base64_decode(text, kXmlBase64);
}

bool is_document_reference(const Reference& ref) {
  return !ref.uri || ref.uri->empty();
}

std::string describe(const Reference& ref) {
  std::string out = ref.uri ? fmt::format("URI \"{}\"", *ref.uri) : std::string("sin URI");
  if (!ref.id.empty()) out += fmt::format(", Id \"{}\"", ref.id);
  return out + ", " + algorithm_name(ref.digest_uri);
}

SignatureParts read_parts(xmlNode* signature) {
  SignatureParts p;
  p.signature = signature;
  p.signed_info = xml::child(signature, kDsigNamespace, "SignedInfo");
  p.signature_method =
      xml::attribute(xml::child(p.signed_info, kDsigNamespace, "SignatureMethod"), "Algorithm")
          .value_or("");
  for (xmlNode* r : xml::children(p.signed_info, kDsigNamespace, "Reference")) {
    Reference ref;
    ref.node = r;
    ref.uri = xml::attribute(r, "URI");
    ref.id = xml::attribute(r, "Id").value_or("");
    ref.type = xml::attribute(r, "Type").value_or("");
    ref.digest_uri =
        xml::attribute(xml::child(r, kDsigNamespace, "DigestMethod"), "Algorithm").value_or("");
    for (xmlNode* t :
         xml::children(xml::child(r, kDsigNamespace, "Transforms"), kDsigNamespace, "Transform")) {
      ref.transforms.push_back(xml::attribute(t, "Algorithm").value_or(""));
      ref.transform_nodes.push_back(t);
    }
    p.references.push_back(std::move(ref));
  }
  for (xmlNode* object : xml::children(signature, kDsigNamespace, "Object"))
    for (xmlNode* qp : xml::children(object, kXadesNamespace, "QualifyingProperties"))
      if (xmlNode* sp = xml::child(qp, kXadesNamespace, "SignedProperties");
          sp && !p.signed_properties) {
        p.signed_properties = sp;
        p.qualifying_target = xml::attribute(qp, "Target").value_or("");
      }
  return p;
}

std::vector<KnownCertificate> known_certificates(std::span<const X509* const> a,
                                                 std::span<const X509* const> b) {
  std::vector<KnownCertificate> known;
  for (auto list : {a, b})
    for (const X509* c : list)
      if (auto der = ossl::x509_to_der(*c)) known.push_back(KnownCertificate{c, std::move(*der)});
  return known;
}

std::vector<ossl::X509Ptr> read_key_info_certificates(xmlNode* signature,
                                                      std::span<const KnownCertificate> known) {
  std::vector<ossl::X509Ptr> certs;
  xmlNode* key_info = xml::child(signature, kDsigNamespace, "KeyInfo");
  for (xmlNode* data : xml::children(key_info, kDsigNamespace, "X509Data"))
    for (xmlNode* c : xml::children(data, kDsigNamespace, "X509Certificate")) {
      auto der = certs.size() < kMaxKeyInfoCertificates ? unbase64(xml::text(c)) : std::nullopt;
      if (!der) continue;
      auto same = std::find_if(known.begin(), known.end(),
                               [&](const KnownCertificate& k) { return k.der == *der; });
      if (same != known.end() && X509_up_ref(const_cast<X509*>(same->cert)) == 1) {
        ossl::X509Ptr shared(const_cast<X509*>(same->cert));
        certs.push_back(std::move(shared));
      } else if (auto cert = ossl::x509_from_der(*der)) {
        certs.push_back(std::move(*cert));
      }
    }
  return certs;
}

const X509* signer_of(const std::vector<ossl::X509Ptr>& certs) {
  for (const auto& candidate : certs) {
    bool issues_another = false;
    for (const auto& other : certs)
      if (other != candidate && X509_check_issued(candidate.get(), other.get()) == X509_V_OK &&
          X509_cmp(candidate.get(), other.get()) != 0)
        issues_another = true;
    if (!issues_another) return candidate.get();
  }
  return nullptr;
}

namespace {

// Whether the reference alone verifies: xmlsec stops at the first bad
// reference, so the ones after it are checked one by one.
Result<bool> reference_alone_ok(xmlNode* reference) {
  auto alone = restricted_context();
  if (!alone) return alone.error();
  (*alone)->operation = xmlSecTransformOperationVerify;
  DsigReferenceContext ref(
      xmlSecDSigReferenceCtxCreate(alone->get(), xmlSecDSigReferenceOriginSignedInfo));
  if (!ref) return xmlsec_error("referencia");
  const bool ran = xmlSecDSigReferenceCtxProcessNode(ref.get(), reference) >= 0;
  return ran && ref->status == xmlSecDSigStatusSucceeded;
}

}  // namespace

Result<CoreResult> verify_core(const SignatureParts& parts, const X509& cert) {
  CoreResult result;
  const EVP_PKEY* public_key = X509_get0_pubkey(&cert);
  if (public_key == nullptr || !EVP_PKEY_is_a(public_key, "RSA")) {
    result.problem = "El certificado del firmante no tiene una llave RSA.";
    return result;
  }
  auto ctx = restricted_context();
  if (!ctx) return ctx.error();
  auto key = xmlsec_key(*public_key);
  if (!key) return key.error();
  (*ctx)->signKey = key->release();
  clear_xmlsec_error();
  if (xmlSecDSigCtxVerify(ctx->get(), parts.signature) < 0) {
    result.problem = fmt::format(
        "La firma usa una estructura o un algoritmo no admitidos (se admiten C14N, XPath "
        "not(ancestor-or-self::ds:Signature), RSA y SHA-1/256/384/512){}",
        last_xmlsec_error().empty() ? "." : fmt::format(" [{}].", last_xmlsec_error()));
    return result;
  }
  result.processed = true;
  const xmlSecSize done = xmlSecPtrListGetSize(&(*ctx)->signedInfoReferences);
  for (std::size_t i = 0; i < parts.references.size(); ++i) {
    if (i >= done) {
      auto ok = reference_alone_ok(parts.references[i].node);
      if (!ok) return ok.error();
      result.reference_ok.push_back(*ok);
      continue;
    }
    auto* ref = static_cast<xmlSecDSigReferenceCtxPtr>(
        xmlSecPtrListGetItem(&(*ctx)->signedInfoReferences, static_cast<xmlSecSize>(i)));
    result.reference_ok.push_back(ref != nullptr && ref->status == xmlSecDSigStatusSucceeded);
  }
  const bool all_references =
      std::all_of(result.reference_ok.begin(), result.reference_ok.end(), [](bool b) { return b; });
  result.signature_value_ok = all_references && (*ctx)->status == xmlSecDSigStatusSucceeded;
  return result;
}

}  // namespace llavero::xades
