// OCSP (RFC 6960): reading requests, matching their certificate IDs to our
// CAs, and signing responses with a delegated responder certificate (EKU
// OCSPSigning, id-pkix-ocsp-nocheck, short validity) issued by each CA.
// Deciding what a serial's status is belongs to the layer above.
#pragma once

#include <openssl/ocsp.h>

#include <span>
#include <vector>

#include "id/revocation_reason.h"
#include "pki/authority.h"

namespace llavero {

using OcspRequestPtr = ossl::Owned<OCSP_REQUEST, OCSP_REQUEST_free>;

enum class CertStatus { kGood, kRevoked, kUnknown };

struct SerialStatus {
  CertStatus status = CertStatus::kUnknown;
  UnixSeconds revoked_at = 0;
  std::optional<RevocationReason> reason;
};

// A parsed request. Errors mean "malformedRequest".
class OcspRequest {
 public:
  static Result<OcspRequest> parse(std::span<const std::uint8_t> der);

  int count() const { return OCSP_request_onereq_count(request_.get()); }
  OCSP_CERTID* id(int i) const;
  std::string serial_hex(int i) const;
  bool has_nonce() const;
  const OCSP_REQUEST* raw() const { return request_.get(); }

 private:
  explicit OcspRequest(OcspRequestPtr r) : request_(std::move(r)) {}
  OcspRequestPtr request_;
};

// Which of `cas` issued the certificate a CertID names (by the issuer name
// and key hashes, in whatever digest the client used); -1 if none.
int match_issuer(OCSP_CERTID* id, std::span<const X509* const> cas);

// The same, with the hashes of the usual digests (SHA-1, SHA-256) computed
// once: this runs on every OCSP request, on the I/O thread.
class IssuerIndex {
 public:
  IssuerIndex() = default;
  explicit IssuerIndex(std::vector<const X509*> cas);
  int match(OCSP_CERTID* id) const;

 private:
  struct Hashes {
    int digest_nid;
    int ca;
    std::string name_hash, key_hash;
  };
  std::vector<const X509*> cas_;
  std::vector<Hashes> hashes_;
};

// An unsigned error response: OCSP_RESPONSE_STATUS_MALFORMEDREQUEST,
// _INTERNALERROR, _TRYLATER or _UNAUTHORIZED.
Bytes ocsp_error_response(int status);

struct OcspSigner {
  const X509* responder_certificate = nullptr;
  const EVP_PKEY* responder_key = nullptr;
};

struct OcspAnswer {
  OCSP_CERTID* id = nullptr;
  SerialStatus status;
};

// A successful response for `answers`, signed by the responder, with the
// nonce of `request` copied in when it has one (pass null for none).
Result<Bytes> sign_ocsp_response(const OcspSigner& signer, std::span<const OcspAnswer> answers,
                                 const OCSP_REQUEST* request, UnixSeconds now,
                                 UnixSeconds next_update);

struct ResponderCertificate {
  ossl::X509Ptr certificate;
  ossl::PKey key;
};

// A delegated responder for `ca` with the new `key` (from the CA key store),
// valid from now for `validity_seconds`.
Result<ResponderCertificate> issue_responder_certificate(const Authority& ca, ossl::PKey key,
                                                         const Bytes& serial, UnixSeconds now,
                                                         UnixSeconds validity_seconds);

}  // namespace llavero
