#include "xades/policy.h"

#include <xmlsec/crypto.h>
#include <xmlsec/transforms.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>

#include <vector>

#include "xades/xades.h"

namespace llavero::xades {

namespace {

enum class Use { kC14n, kEnveloped, kDigest, kSignature };

struct Algorithm {
  xmlSecTransformId transform;  // its href is the URI a signature names
  Use use;
  const EVP_MD* md = nullptr;  // for digests
};

const std::vector<Algorithm>& algorithms() {
  static const std::vector<Algorithm> table = {
      {xmlSecTransformExclC14NId, Use::kC14n},
      {xmlSecTransformExclC14NWithCommentsId, Use::kC14n},
      {xmlSecTransformInclC14NId, Use::kC14n},
      {xmlSecTransformInclC14NWithCommentsId, Use::kC14n},
      {xmlSecTransformInclC14N11Id, Use::kC14n},
      {xmlSecTransformInclC14N11WithCommentsId, Use::kC14n},
      {xmlSecTransformEnvelopedId, Use::kEnveloped},
      {xmlSecTransformSha256Id, Use::kDigest, EVP_sha256()},
      {xmlSecTransformSha384Id, Use::kDigest, EVP_sha384()},
      {xmlSecTransformSha512Id, Use::kDigest, EVP_sha512()},
      {xmlSecTransformRsaSha256Id, Use::kSignature},
      {xmlSecTransformRsaSha384Id, Use::kSignature},
      {xmlSecTransformRsaSha512Id, Use::kSignature},
  };
  return table;
}

const Algorithm* find(std::string_view uri, Use use) {
  for (const Algorithm& a : algorithms())
    if (a.use == use && a.transform->href != nullptr &&
        uri == reinterpret_cast<const char*>(a.transform->href))
      return &a;
  return nullptr;
}

}  // namespace

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

bool admit_policy_algorithms(xmlSecDSigCtx* ctx) {
  // Canonicalization may be asked of a reference or of SignedInfo; digests
  // only of references, signatures only of SignedInfo.
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
