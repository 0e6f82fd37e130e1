#include "xades/policy.h"

#include <fmt/format.h>
#include <xmlsec/crypto.h>
#include <xmlsec/transforms.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>

#include <algorithm>
#include <cctype>
#include <vector>

#include "util/base64.h"
#include "xades/xades.h"
#include "xml/document.h"

namespace llavero::xades {

namespace {

// --- the policies --------------------------------------------------------------------

// Every identifier Hacienda published for its signature policy. Sources
// (docs/firmas.md): the resolutions DGT-R-48-2016 (v4.0 to v4.2),
// DGT-R-033-2019 (v4.3) and MH-DGT-RES-0027-2024 (v4.4), each published as a
// PDF at the address that is its identifier, and quoted in the "Anexos y
// Estructuras" of its version. Only the v4.4 digest is confirmed here (it is
// printed in Anexo 2 of v4.4, and is the SHA-256 of the PDF); the older PDFs
// are no longer served, and the values real signers wrote for them differ
// from each other, so none is recorded.
const KnownPolicy kPolicies[] = {
    // v4.4: Anexo 2 of "Anexos y Estructuras v4.4" (cdn.comprobanteselectronicos.go.cr).
    {"4.4", kHaciendaPolicyIdentifier, kSha256Uri, kHaciendaPolicySha256},
    // v4.4 as Anexo 2 literally spells it (/xmlschemas/, without the hyphen).
    {"4.4",
     "https://cdn.comprobanteselectronicos.go.cr/xmlschemas/"
     "Resoluci%C3%B3n_General_sobre_disposiciones_t%C3%A9cnicas_comprobantes_electr%C3%B3nicos_"
     "para_efectos_tributarios.pdf",
     kSha256Uri, kHaciendaPolicySha256},
    // v4.3: the ATV site, before and after it moved to atv.hacienda.go.cr.
    {"4.3",
     "https://www.hacienda.go.cr/ATV/ComprobanteElectronico/docs/esquemas/2016/v4.3/"
     "Resoluci%C3%B3n_General_sobre_disposiciones_t%C3%A9cnicas_comprobantes_electr%C3%B3nicos_"
     "para_efectos_tributarios.pdf",
     "", ""},
    {"4.3",
     "https://atv.hacienda.go.cr/ATV/ComprobanteElectronico/docs/esquemas/2016/v4.3/"
     "Resoluci%C3%B3n_General_sobre_disposiciones_t%C3%A9cnicas_comprobantes_electr%C3%B3nicos_"
     "para_efectos_tributarios.pdf",
     "", ""},
    // v4.2: tribunet.hacienda.go.cr and the ATV site.
    {"4.2",
     "https://tribunet.hacienda.go.cr/docs/esquemas/2016/v4.2/"
     "ResolucionComprobantesElectronicosDGT-R-48-2016_4.2.pdf",
     "", ""},
    {"4.2",
     "https://www.hacienda.go.cr/ATV/ComprobanteElectronico/docs/esquemas/2016/v4.2/"
     "ResolucionComprobantesElectronicosDGT-R-48-2016_4.2.pdf",
     "", ""},
    // v4.1: tribunet.hacienda.go.cr (FirmaXadesNet's Costa Rican examples) and the ATV site.
    {"4.1",
     "https://tribunet.hacienda.go.cr/docs/esquemas/2016/v4.1/"
     "Resolucion_Comprobantes_Electronicos_DGT-R-48-2016.pdf",
     "", ""},
    {"4.1",
     "https://www.hacienda.go.cr/ATV/ComprobanteElectronico/docs/esquemas/2016/v4.1/"
     "Resolucion_Comprobantes_Electronicos_DGT-R-48-2016_v4.1.pdf",
     "", ""},
    // v4.0: tribunet.hacienda.go.cr.
    {"4.0",
     "https://tribunet.hacienda.go.cr/docs/esquemas/2016/v4/"
     "Resolucion%20Comprobantes%20Electronicos%20%20DGT-R-48-2016.pdf",
     "", ""},
};

// An identifier with its %XX escapes decoded, so that "Resolución" and
// "Resoluci%C3%B3n" name the same document.
std::string unescaped(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

const KnownPolicy* find_policy(std::string_view identifier) {
  const std::string wanted = unescaped(identifier);
  for (const KnownPolicy& p : kPolicies)
    if (unescaped(p.identifier) == wanted) return &p;
  return nullptr;
}

// Why a digest that is not the known one is odd, as precisely as can be told.
std::string odd_digest(const KnownPolicy& policy, std::string_view uri, std::string_view value) {
  const EVP_MD* md = digest_for(uri);
  const auto decoded =
      base64_decode(value, Base64Format{Base64Alphabet::kStandard, Base64Padding::kRequired, true});
  const std::string expected =
      fmt::format("{} {}", algorithm_name(policy.digest_uri), policy.digest_base64);
  if (md == nullptr)
    return fmt::format("el algoritmo del hash ({}) no es uno de los admitidos", uri);
  if (!decoded) return "el valor del hash no es base64";
  const auto size = static_cast<std::size_t>(EVP_MD_get_size(md));
  const bool hex_text = std::all_of(decoded->begin(), decoded->end(), [](std::uint8_t c) {
    return std::isxdigit(static_cast<unsigned char>(c)) != 0;
  });
  if (hex_text && decoded->size() == 2 * size)
    return fmt::format(
        "el valor es el texto hexadecimal del resumen codificado en base64, no el resumen "
        "(se esperaba {})",
        expected);
  if (decoded->size() != size)
    return fmt::format("un valor de {} bytes declarado como {} (se esperaba {})", decoded->size(),
                       algorithm_name(uri), expected);
  return fmt::format("no es el del documento publicado (se esperaba {})", expected);
}

// --- the algorithms ------------------------------------------------------------------

enum class Use { kC14n, kEnveloped, kXPathFilter, kDigest, kSignature };

struct Algorithm {
  xmlSecTransformId transform;  // its href is the URI a signature names
  Use use;
  const char* name;
  const EVP_MD* md = nullptr;  // for digests
  bool weak = false;           // admitted with an advertencia
};

const std::vector<Algorithm>& algorithms() {
  static const std::vector<Algorithm> table = {
      {xmlSecTransformExclC14NId, Use::kC14n, "C14N exclusiva"},
      {xmlSecTransformExclC14NWithCommentsId, Use::kC14n, "C14N exclusiva con comentarios"},
      {xmlSecTransformInclC14NId, Use::kC14n, "C14N inclusiva"},
      {xmlSecTransformInclC14NWithCommentsId, Use::kC14n, "C14N inclusiva con comentarios"},
      {xmlSecTransformInclC14N11Id, Use::kC14n, "C14N 1.1"},
      {xmlSecTransformInclC14N11WithCommentsId, Use::kC14n, "C14N 1.1 con comentarios"},
      {xmlSecTransformEnvelopedId, Use::kEnveloped, "enveloped-signature"},
      {xmlSecTransformXPathId, Use::kXPathFilter, "XPath"},
      {xmlSecTransformSha1Id, Use::kDigest, "SHA-1", EVP_sha1()},
      {xmlSecTransformSha256Id, Use::kDigest, "SHA-256", EVP_sha256()},
      {xmlSecTransformSha384Id, Use::kDigest, "SHA-384", EVP_sha384()},
      {xmlSecTransformSha512Id, Use::kDigest, "SHA-512", EVP_sha512()},
      {xmlSecTransformRsaSha1Id, Use::kSignature, "RSA-SHA1", nullptr, true},
      {xmlSecTransformRsaSha256Id, Use::kSignature, "RSA-SHA256"},
      {xmlSecTransformRsaSha384Id, Use::kSignature, "RSA-SHA384"},
      {xmlSecTransformRsaSha512Id, Use::kSignature, "RSA-SHA512"},
  };
  return table;
}

const Algorithm* find(std::string_view uri) {
  for (const Algorithm& a : algorithms())
    if (a.transform->href != nullptr && uri == reinterpret_cast<const char*>(a.transform->href))
      return &a;
  return nullptr;
}

const Algorithm* find(std::string_view uri, Use use) {
  const Algorithm* a = find(uri);
  return a != nullptr && a->use == use ? a : nullptr;
}

}  // namespace

std::span<const KnownPolicy> known_policies() {
  return kPolicies;
}

PolicyVerdict judge_policy(bool present, std::string_view identifier, std::string_view digest_uri,
                           std::string_view digest_base64) {
  if (!present)
    return {true,
            "La firma no indica una política de firma (SignaturePolicyIdentifier): es XAdES-BES, "
            "no XAdES-EPES como pide la resolución de Hacienda."};
  const KnownPolicy* policy = find_policy(identifier);
  if (policy == nullptr)
    return {true, fmt::format("La política de firma \"{}\" no es una de las que Hacienda publicó.",
                              identifier)};
  if (policy->digest_base64.empty())
    return {true, fmt::format("La política de firma es la de Hacienda para la versión {}; su hash "
                              "({} {}) no se puede confirmar aquí.",
                              policy->version, algorithm_name(digest_uri), digest_base64)};
  if (digest_uri != policy->digest_uri || digest_base64 != policy->digest_base64)
    return {true, fmt::format("La política de firma es la de Hacienda para la versión {}, pero su "
                              "hash (SigPolicyHash) {}.",
                              policy->version, odd_digest(*policy, digest_uri, digest_base64))};
  return {false, fmt::format("La política de firma es la de Hacienda para la versión {}, con su "
                             "hash {}.",
                             policy->version, algorithm_name(digest_uri))};
}

const SignaturePolicy& hacienda_policy() {
  static const SignaturePolicy policy{std::string(kHaciendaPolicyIdentifier),
                                      std::string(kHaciendaPolicySha256)};
  return policy;
}

bool is_c14n(std::string_view uri) {
  return find(uri, Use::kC14n) != nullptr;
}

const EVP_MD* digest_for(std::string_view uri) {
  const Algorithm* a = find(uri, Use::kDigest);
  return a != nullptr ? a->md : nullptr;
}

std::string algorithm_name(std::string_view uri) {
  const Algorithm* a = find(uri);
  return a != nullptr ? a->name : std::string(uri);
}

bool is_weak_signature_method(std::string_view uri) {
  const Algorithm* a = find(uri, Use::kSignature);
  return a != nullptr && a->weak;
}

bool is_signature_exclusion(const xmlNode* transform) {
  if (xml::attribute(transform, "Algorithm") != kXPathUri) return false;
  const auto expressions = xml::children(transform, kDsigNamespace, "XPath");
  int elements = 0;
  for (const xmlNode* c = transform->children; c != nullptr; c = c->next)
    if (c->type == XML_ELEMENT_NODE) ++elements;
  if (expressions.size() != 1 || elements != 1) return false;
  xmlNode* expression = expressions.front();
  const xmlNs* ds = xmlSearchNs(expression->doc, expression, BAD_CAST "ds");
  return ds != nullptr && xml::chars(ds->href) == kDsigNamespace &&
         xml::trimmed(xml::text(expression)) == kSignatureExclusionXPath;
}

bool admit_policy_algorithms(xmlSecDSigCtx* ctx) {
  // Canonicalization may be asked of a reference or of SignedInfo; digests
  // and the transforms that pick the signed nodes only of references,
  // signatures only of SignedInfo. The XPath filter runs only after
  // check_signature (verify.cc) made sure its expression is the one allowed.
  bool ok = true;
  for (const Algorithm& a : algorithms()) {
    if (a.use != Use::kSignature)
      ok = ok && xmlSecDSigCtxEnableReferenceTransform(ctx, a.transform) >= 0;
    if (a.use == Use::kC14n || a.use == Use::kSignature)
      ok = ok && xmlSecDSigCtxEnableSignatureTransform(ctx, a.transform) >= 0;
  }
  return ok;
}

}  // namespace llavero::xades
