// What a comprobante's signature must carry and may use, in one place:
// Hacienda's signature policy (its identifier and hash), the algorithms a
// signature may name, and the bounds on what an untrusted signature makes
// the verifier compute. Internal to src/xades/.
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <string_view>

struct _xmlSecDSigCtx;

namespace llavero::xades {

// The "Resolución General sobre disposiciones técnicas de los comprobantes
// electrónicos para efectos tributarios" (docs/api.md), and the SHA-256 of
// that PDF in base64; hacienda_policy() (xades.h) is made of these.
inline constexpr std::string_view kHaciendaPolicyIdentifier =
    "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/"
    "Resoluci%C3%B3n_General_sobre_disposiciones_t%C3%A9cnicas_comprobantes_electr%C3%B3nicos_"
    "para_efectos_tributarios.pdf";
inline constexpr std::string_view kHaciendaPolicySha256 =
    "DWxin1xWOeI8OuWQXazh4VjLWAaCLAA954em7DMh0h8=";

// The digest the signer writes everywhere (references, CertDigest,
// SigPolicyHash), and the only one a SigPolicyHash may use.
inline constexpr std::string_view kSha256Uri = "http://www.w3.org/2001/04/xmlenc#sha256";
inline constexpr std::string_view kEnvelopedUri =
    "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

// The algorithms a signature may use (one table, below in policy.cc): the
// canonicalizations (exclusive and inclusive, 1.0 and 1.1, with and without
// comments), the enveloped-signature transform, SHA-256/384/512 digests and
// RSA signatures over them.
bool is_c14n(std::string_view uri);
// The digest a DigestMethod URI names, or null if it is not admitted.
const EVP_MD* digest_for(std::string_view uri);
// Lets `ctx` run exactly those algorithms; false if xmlsec refuses one.
bool admit_policy_algorithms(_xmlSecDSigCtx* ctx);

// Every reference canonicalizes (part of) the document and every KeyInfo
// certificate is parsed: at most this many of each.
inline constexpr std::size_t kMaxReferences = 8;
inline constexpr std::size_t kMaxKeyInfoCertificates = 10;

}  // namespace llavero::xades
