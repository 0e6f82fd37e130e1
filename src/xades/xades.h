// XAdES-EPES signatures of electronic invoices as Hacienda requires them
// (docs/api.md): signing a comprobante with a taxpayer's key, and verifying one,
// check by check, with a Spanish reason for every check that fails.
//
// The signature it makes is enveloped: a ds:Signature appended as the last
// child of the document element, with exclusive C14N, RSA-SHA256 and SHA-256
// digests, one reference to the whole document (enveloped-signature
// transform) and one to the xades:SignedProperties (SigningTime in Costa Rica
// time, SigningCertificate, SignaturePolicyIdentifier, SignerRole). libxml2
// parses and canonicalizes, OpenSSL computes the digests and the RSA
// signature; xmlsec1 verifies.
//
// The verifier accepts every style real signers use and Hacienda accepts
// (docs/firmas.md): inclusive or exclusive C14N, enveloped-signature or the
// XPath filter not(ancestor-or-self::ds:Signature), a third reference to
// KeyInfo, SHA-1 to SHA-512, XAdES-BES or -EPES with any policy Hacienda
// published. What Hacienda tolerates but its resolution does not ask for
// (an odd or absent policy, RSA-SHA1) is an advertencia.
//
// The signer never changes a byte of the document outside the Signature: it
// splices the serialized Signature into the original text just before the
// root's closing tag. Before it returns, it checks the RSA signature with the
// certificate's public key (sign.cc says why that check is enough).
//
// Untrusted XML is parsed by xml::parse (xml/document.h): without DTDs (a
// DOCTYPE is refused), without network access, without entity substitution,
// with a size limit and libxml2's default depth limit (256).
//
// Inside: sign.cc and verify.cc (one function per check); policy.h, the
// policy and the algorithms a signature may use; signature.h, reading a
// ds:Signature and xmlsec's verdict on it; chain.h, xmlsec.h, dates.h and
// certificate_names.h, what both need.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pki/openssl.h"
#include "pki/revocation_answer.h"
#include "util/clock.h"

namespace llavero::xades {

inline constexpr std::string_view kDsigNamespace = "http://www.w3.org/2000/09/xmldsig#";
inline constexpr std::string_view kXadesNamespace = "http://uri.etsi.org/01903/v1.3.2#";
inline constexpr std::string_view kSignedPropertiesType =
    "http://uri.etsi.org/01903#SignedProperties";

// The signature policy of Hacienda's "Resolución General sobre disposiciones
// técnicas de los comprobantes electrónicos" (docs/api.md).
struct SignaturePolicy {
  std::string identifier;
  std::string sha256_base64;
};
const SignaturePolicy& hacienda_policy();

enum class SignerRole { kEmisor, kReceptor };
std::string_view signer_role_name(SignerRole role);  // "emisor" | "receptor"
Result<SignerRole> parse_signer_role(std::string_view text);

// Documents larger than this are refused, signing or verifying.
inline constexpr std::size_t kMaxDocumentBytes = 10 * 1024 * 1024;

struct SignOptions {
  // Default: receptor for a MensajeReceptor, emisor for everything else.
  std::optional<SignerRole> role;
  std::optional<UnixSeconds> signing_time;     // default: now
  SignaturePolicy policy = hacienda_policy();  // only tests choose another
};

// Signs `xml` (a complete document, UTF-8 or another ASCII-compatible
// encoding) with `key` (RSA), whose certificate is `cert`. `chain` (issuing
// CA, root) goes into KeyInfo after the certificate; it may be empty.
Result<std::string> sign(std::string_view xml, const EVP_PKEY& key, const X509& cert,
                         std::span<const X509* const> chain, const SignOptions& options);

// One verification step. `name` is a stable tag for programs; `reason` is
// Spanish, for people, and says what is wrong (or what was confirmed).
struct Check {
  std::string name;
  bool ok = false;
  std::string reason;
  bool performed = true;  // false: skipped (e.g. no revocation source); `ok` tells if that counts
  // An advertencia: `ok` (it never makes the signature invalid) but shown,
  // because the signature departs from Hacienda's resolution in a way
  // Hacienda accepts. VerifyOptions::strict turns it into a failure.
  bool warning = false;
};

// The tags of the checks, in the order they are reported.
inline constexpr std::string_view kCheckXml = "xml";
inline constexpr std::string_view kCheckSignature = "firma_unica";
inline constexpr std::string_view kCheckDocumentReference = "referencia_documento";
inline constexpr std::string_view kCheckPropertiesReference = "referencia_propiedades";
// One per reference that is neither the document's nor the properties' (the
// KeyInfo of .NET signers).
inline constexpr std::string_view kCheckOtherReference = "referencia";
inline constexpr std::string_view kCheckSignatureValue = "valor_firma";
inline constexpr std::string_view kCheckAlgorithms = "algoritmos";
inline constexpr std::string_view kCheckPolicy = "politica";
inline constexpr std::string_view kCheckSigningCertificate = "certificado_firmante";
inline constexpr std::string_view kCheckChain = "cadena";
inline constexpr std::string_view kCheckValidity = "vigencia";
inline constexpr std::string_view kCheckRevocation = "revocacion";

// The words every client of the reception knows (docs/api.md).
inline constexpr std::string_view kModifiedAfterSigning =
    "El XML fue modificado luego de haber sido firmado";
inline constexpr std::string_view kInvalidSignature = "La firma no es válida";

struct VerifyOptions {
  // Trust anchors (self-signed roots) and the intermediates that may link the
  // signer to them; not owned, they must outlive the call. Certificates in
  // KeyInfo help build the chain but are never trusted by themselves.
  std::vector<const X509*> trusted_roots;
  std::vector<const X509*> intermediates;
  // Whether any certificate of trusted_roots is an anchor by itself, self-signed
  // or not (openssl verify -partial_chain): an issuing CA, or the signer's own
  // certificate, when the root is not at hand.
  bool partial_chain = false;
  // Whether advertencias (Check::warning) are failures: the letter of the
  // resolution (`verificar --estricto`, the reception's politica_estricta).
  bool strict = false;
  // Absent: revocation is not checked, and the check says so.
  RevocationCallback revocation;
  // Whether an unanswered revocation check (no callback, or kNotChecked)
  // makes the signature invalid. The reception demands an answer; the
  // command line only warns.
  bool require_revocation_answer = false;
  // "Now", for refusing a SigningTime in the future; default: the clock.
  std::optional<UnixSeconds> now;
  std::size_t max_bytes = kMaxDocumentBytes;
};

struct Verification {
  bool valid = false;
  std::vector<Check> checks;
  ossl::X509Ptr signer;                     // the certificate in KeyInfo, if one was found
  std::optional<UnixSeconds> signing_time;  // as claimed in SignedProperties
  std::string signing_time_text;            // as written
  std::string role;                         // ClaimedRole, lower case ("emisor", ...)

  // The check with that tag, or null if it was not reached.
  const Check* find(std::string_view name) const;
  // The checks that failed, in order: the causes. A check that could not be
  // performed because of an earlier failure (the SignatureValue of a
  // modified document, the revocation of an untrusted certificate) is left
  // out unless nothing else failed.
  std::vector<const Check*> failures() const;
  // The advertencias that did not become failures.
  std::vector<const Check*> warnings() const;
};

// Verifies a signed document. Problems with the document (bad XML, no
// signature, a failed check) are in the Verification; an Error means the
// verifier itself could not run (e.g. xmlsec failed to initialize, or the
// revocation callback broke).
Result<Verification> verify(std::string_view xml, const VerifyOptions& options);

// Formats a time as Costa Rica local time with its offset, as SigningTime
// is written: "2026-11-26T10:00:00-06:00".
std::string costa_rica_time(UnixSeconds t);
// Reads an xs:dateTime with seconds and an offset ("Z", "-06:00", ...).
std::optional<UnixSeconds> parse_date_time(std::string_view text);

}  // namespace llavero::xades
