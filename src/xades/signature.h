// A ds:Signature as the verifier reads it: its parts, the certificates of its
// KeyInfo, and xmlsec's verdict on its references and SignatureValue.
// Internal to src/xades/.
#pragma once

#include <libxml/tree.h>
#include <openssl/x509.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pki/openssl.h"
#include "util/result.h"

namespace llavero::xades {

struct Reference {
  xmlNode* node = nullptr;
  std::optional<std::string> uri;
  std::string id;  // its Id attribute, if any
  std::string type;
  std::vector<std::string> transforms;  // Algorithm URIs in order
  std::vector<xmlNode*> transform_nodes;
  std::string digest_uri;  // DigestMethod's Algorithm
};

// Whether a reference is to the whole document: URI="", or no URI at all,
// which XML-DSig leaves to the application and xadesjs writes for the
// document of an enveloped signature.
bool is_document_reference(const Reference& ref);

// How a reason names a reference: its URI, its Id when it has one, and its
// digest algorithm ("URI \"#xades-1\", Id \"r1\", SHA-256").
std::string describe(const Reference& ref);

struct SignatureParts {
  xmlNode* signature = nullptr;
  xmlNode* signed_info = nullptr;
  std::string signature_method;  // SignatureMethod's Algorithm
  std::vector<Reference> references;
  std::vector<ossl::X509Ptr> key_info_certificates;  // by read_key_info_certificates
  xmlNode* signed_properties = nullptr;              // the first one
  std::string qualifying_target;                     // Target of its QualifyingProperties
};

// SignedInfo's references and the first xades:SignedProperties in a
// ds:Object; KeyInfo is not read.
SignatureParts read_parts(xmlNode* signature);

// A certificate the caller already holds parsed (a trusted root, an
// intermediate) and its DER: a KeyInfo certificate with the very same bytes
// is that object, not a new decoding (d2i_X509 is most of what a
// certificate costs).
struct KnownCertificate {
  const X509* cert = nullptr;
  Bytes der;
};
std::vector<KnownCertificate> known_certificates(std::span<const X509* const> a,
                                                 std::span<const X509* const> b);

// The certificates of KeyInfo that decode, at most kMaxKeyInfoCertificates of
// them; one identical to a `known` certificate is another reference to it.
std::vector<ossl::X509Ptr> read_key_info_certificates(xmlNode* signature,
                                                      std::span<const KnownCertificate> known);

// Base64 text of a signature (signers wrap it across lines, some with
// &#13;), decoded with white space skipped; nullopt if it is not base64.
std::optional<Bytes> unbase64(std::string_view text);

// The signer: the KeyInfo certificate that issued none of the others.
const X509* signer_of(const std::vector<ossl::X509Ptr>& certs);

// xmlsec's verdict on the Signature with the key of `cert`: each
// reference's digest, in SignedInfo order, and the SignatureValue.
struct CoreResult {
  bool processed = false;  // false: xmlsec could not run (see `problem`)
  std::string problem;
  std::vector<bool> reference_ok;
  bool signature_value_ok = false;
};
Result<CoreResult> verify_core(const SignatureParts& parts, const X509& cert);

}  // namespace llavero::xades
