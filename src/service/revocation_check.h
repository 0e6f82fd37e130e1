// Is a signer's certificate revoked? The answer the command line and the
// reception give the signature verifier. For a certificate issued by one of
// this installation's CAs the store knows, and is asked directly. For any
// other issuer, the relying party's way: OCSP to the URL in the certificate's
// Authority Information Access, else the CRL of its CRL Distribution Point,
// each answer checked against the issuer's key.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "pki/openssl.h"
#include "pki/revocation_answer.h"
#include "store/certificate_store.h"

namespace llavero::service {

struct RevocationCheckOptions {
  std::chrono::seconds timeout{5};  // per request, connection included
  bool use_ocsp = true;             // tests turn one off to exercise the other
  bool use_crl = true;
  std::size_t max_ocsp_bytes = 1 << 20;
  std::size_t max_crl_bytes = 20 << 20;
  UnixSeconds clock_skew = 300;  // tolerance for thisUpdate / nextUpdate
};

class RevocationChecker {
 public:
  // `store` may be null: every certificate is then checked over the network.
  explicit RevocationChecker(CertificateStore* store, RevocationCheckOptions options = {});

  // Never kNotChecked because of the store: a store failure is an Error.
  Result<RevocationAnswer> check(const X509& cert, const X509& issuer);

  // check() as a callback for xades::VerifyOptions; this object must outlive it.
  RevocationCallback callback();

 private:
  struct OwnCa {
    std::int64_t authority_id = 0;
    ossl::X509Ptr certificate;
  };
  // This installation's CAs, read from the store once.
  Result<const std::vector<OwnCa>*> own_cas();
  Result<RevocationAnswer> from_store(std::int64_t authority_id, const X509& cert);
  RevocationAnswer by_ocsp(const X509& cert, const X509& issuer, const std::string& url);
  RevocationAnswer by_crl(const X509& cert, const X509& issuer, const std::string& url);

  CertificateStore* store_;
  RevocationCheckOptions options_;
  std::mutex mu_;
  std::optional<std::vector<OwnCa>> own_cas_;
};

}  // namespace llavero::service
