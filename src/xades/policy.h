// What a comprobante's signature may carry and use, in one place: the
// signature policies Hacienda has published (their identifiers and the
// digests of their documents) and how a signature's policy is judged, the
// algorithms a signature may name, and the bounds on what an untrusted
// signature makes the verifier compute. Internal to src/xades/.
//
// Hacienda accepts every policy identifier it ever published and, in
// practice, SigPolicyHash values that match no document at all, so a policy
// problem is an advertencia (xades.h, Check::warning), never a failure,
// unless the caller asks for strictness (docs/firmas.md).
#pragma once

#include <libxml/tree.h>
#include <openssl/evp.h>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

struct _xmlSecDSigCtx;

namespace llavero::xades {

// The policy this product writes into the signatures it makes: the v4.4
// resolution (MH-DGT-RES-0027-2024) as Anexo 2 of "Anexos y Estructuras
// v4.4" names it, and the SHA-256 of that PDF in base64.
inline constexpr std::string_view kHaciendaPolicyIdentifier =
    "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/"
    "Resoluci%C3%B3n_General_sobre_disposiciones_t%C3%A9cnicas_comprobantes_electr%C3%B3nicos_"
    "para_efectos_tributarios.pdf";
inline constexpr std::string_view kHaciendaPolicySha256 =
    "DWxin1xWOeI8OuWQXazh4VjLWAaCLAA954em7DMh0h8=";

inline constexpr std::string_view kSha1Uri = "http://www.w3.org/2000/09/xmldsig#sha1";
inline constexpr std::string_view kSha256Uri = "http://www.w3.org/2001/04/xmlenc#sha256";
inline constexpr std::string_view kEnvelopedUri =
    "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
inline constexpr std::string_view kXPathUri = "http://www.w3.org/TR/1999/REC-xpath-19991116";
// The one XPath a reference may use (EU DSS, Hacienda's MensajeHacienda):
// the document without its signature, as enveloped-signature does.
inline constexpr std::string_view kSignatureExclusionXPath = "not(ancestor-or-self::ds:Signature)";

// A policy Hacienda published: where, and the digest of its document when
// this table knows it (empty: no digest is confirmed, so every one given is
// an advertencia).
struct KnownPolicy {
  std::string_view version;     // of the comprobantes' format: "4.4"
  std::string_view identifier;  // as written in SigPolicyId/Identifier
  std::string_view digest_uri;  // DigestMethod of the known digest
  std::string_view digest_base64;
};
std::span<const KnownPolicy> known_policies();

// The verdict on a signature's SignaturePolicyIdentifier.
struct PolicyVerdict {
  bool warning = false;  // false: a known policy with its right digest
  std::string reason;    // Spanish
};
// `present`: whether the signature has a SignaturePolicyId at all; the
// other arguments are what it says (trimmed).
PolicyVerdict judge_policy(bool present, std::string_view identifier, std::string_view digest_uri,
                           std::string_view digest_base64);

// The algorithms a signature may use (one table, in policy.cc): the
// canonicalizations (exclusive and inclusive, 1.0 and 1.1, with and without
// comments), enveloped-signature, the XPath filter (only with
// kSignatureExclusionXPath, see is_signature_exclusion), SHA-1/256/384/512
// digests and RSA signatures over them.
bool is_c14n(std::string_view uri);
// The digest a DigestMethod URI names, or null if it is not admitted.
const EVP_MD* digest_for(std::string_view uri);
// A short name of an admitted algorithm for reasons ("SHA-256", "RSA-SHA1",
// "C14N exclusiva"); the URI itself for any other.
std::string algorithm_name(std::string_view uri);
// Whether a SignatureMethod is admitted but weak (RSA-SHA1): an advertencia.
bool is_weak_signature_method(std::string_view uri);
// Whether `transform` (a ds:Transform) is the XPath filter with exactly
// kSignatureExclusionXPath, its "ds" prefix bound to the XML-DSig namespace.
bool is_signature_exclusion(const xmlNode* transform);
// Lets `ctx` run exactly those algorithms; false if xmlsec refuses one.
bool admit_policy_algorithms(_xmlSecDSigCtx* ctx);

// Every reference canonicalizes (part of) the document and every KeyInfo
// certificate is parsed: at most this many of each.
inline constexpr std::size_t kMaxReferences = 8;
inline constexpr std::size_t kMaxKeyInfoCertificates = 10;

}  // namespace llavero::xades
