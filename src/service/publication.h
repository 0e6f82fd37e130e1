// Publishing revocation to relying parties: the CA certificates, one CRL per
// issuing CA and generation, the root's CRL (its ARL, where the issuing CAs'
// certificates point), and OCSP answers signed by a delegated responder per
// issuing CA and generation. An old generation keeps being published after
// a rollover: its certificates are valid until they expire.
//
// Freshness rule: the store's revocation epoch moves in the transaction of
// every revocation, whichever process made it. Every OCSP and CRL answer
// first compares the epoch it was built under with the store's; if it moved,
// cached OCSP answers are dropped and CRLs rebuilt before answering. So a
// revocation is visible from the moment its command returns. (PostgreSQL
// answers the epoch from a lease that a revocation outlives before it
// returns, so the check costs no round trip: postgres_store.h.)
//
// Several servers on one store: the CRLs are kept in the store and each
// server answers the highest-numbered one, so a client sees the number only
// rise whichever server answers. The periodic work that must happen once
// (the hourly CRL rebuild, renewing the delegated responders) is done by
// the leader the store names (Store::lead); the others adopt what it stored.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>

#include "pki/ocsp.h"
#include "service/authorities.h"
#include "store/store.h"

namespace llavero::service {

struct PublicationOptions {
  UnixSeconds crl_validity = 7 * 86400;        // nextUpdate − thisUpdate (≤ 7 days)
  UnixSeconds crl_rebuild_every = 3600;        // even with no revocation
  UnixSeconds ocsp_validity = 3600;            // nextUpdate of OCSP answers
  UnixSeconds responder_validity = 7 * 86400;  // delegated responder certificates
  UnixSeconds responder_renew_before = 2 * 86400;
  int max_ocsp_ids = 32;  // more in one request: malformedRequest
  std::size_t max_cached_answers = 200000;
};

// A new CRL of a CA from the store's current revocations: a new CRL number,
// thisUpdate now, nextUpdate now + validity. Used by the publisher and by
// `llavero crl`.
Result<Bytes> build_current_crl(CertificateStore& store, std::int64_t authority_id,
                                const Authority& ca, UnixSeconds now, UnixSeconds validity);

class RevocationPublisher {
 public:
  RevocationPublisher(Store& store, CaKeyring& keyring, PublicationOptions options = {});

  // Unlocks the CAs (every generation), loads or issues their responders
  // and builds every CRL. Needs the CA passphrase.
  Status start();

  // What is published after start(): every CA and generation (roots too).
  struct Published {
    Environment environment;
    CaKind kind;
    int generation;
  };
  std::vector<Published> published() const;

  // The current DER CRL of a CA (the ARL for the root), rebuilt first if a
  // revocation happened or it is due.
  Result<std::shared_ptr<const Bytes>> crl(Environment env, CaKind kind, int generation = 1);
  // The CRL's nextUpdate, for cache headers.
  UnixSeconds crl_next_update(Environment env, CaKind kind, int generation = 1);

  // A DER OCSP response to a DER request; never fails: errors become
  // malformedRequest / unauthorized / internalError responses.
  // ocsp_from_cache answers only from already signed responses (cheap, fit
  // for an I/O thread); ocsp may sign.
  std::optional<Bytes> ocsp_from_cache(std::span<const std::uint8_t> request);
  Bytes ocsp(std::span<const std::uint8_t> request);

  // Drops stale answers, rebuilds due CRLs, renews responders; for a timer.
  Status refresh();

  // A CA certificate as PEM, for the AIA caIssuers URLs (roots included).
  Result<std::string> ca_certificate_pem(Environment env, CaKind kind, int generation = 1);

  // Whether the store answers, for /healthz.
  Status store_reachable();

 private:
  struct Issuer {
    std::int64_t authority_id = 0;
    Environment environment;
    CaKind kind;
    int generation = 1;
    const Authority* authority = nullptr;
    // Swapped whole on renewal; a root has none (it answers no OCSP).
    std::shared_ptr<const ResponderCertificate> responder;
    std::shared_ptr<const Bytes> crl;
    UnixSeconds crl_built = 0, crl_next_update = 0;
    std::int64_t crl_epoch = -1;
    std::int64_t crl_number = 0;
  };
  struct CachedAnswer {
    std::shared_ptr<const Bytes> der;
    UnixSeconds fresh_until = 0;
  };

  Result<Issuer*> issuer(Environment env, CaKind kind, int generation);
  // Loads or issues the responder when ours is due for renewal; issuing a
  // new one is left to the leader (`may_issue`) unless we have none at all.
  Status ensure_responder(Issuer& issuer, UnixSeconds now, bool may_issue);
  // Takes the store's newest CRL of the CA if it is newer than ours.
  Status adopt_stored_crl(Issuer& issuer);
  // The CRL to answer: the store's newest, unless it predates `epoch` (or,
  // with `renew_old`, is due for the periodic rebuild); then a new one is
  // built and stored first.
  Result<std::shared_ptr<const Bytes>> current_crl(Issuer& issuer, std::int64_t epoch,
                                                   UnixSeconds now, bool renew_old);
  // Compares the store's epoch with ours and drops cached answers if it moved.
  Result<std::int64_t> sync_epoch();
  SerialStatus status_of(const Issuer& issuer, const std::string& serial_hex, UnixSeconds now,
                         bool* store_failed);

  Store& store_;
  CaKeyring& keyring_;
  PublicationOptions options_;
  std::vector<std::unique_ptr<Issuer>> issuers_;  // fixed after start(), roots included
  IssuerIndex issuer_index_;                      // same order, for CertID matching

  std::mutex mu_;  // guards the fields below and the per-issuer CRL fields
  std::int64_t epoch_ = -1;
  // Keyed by CA, serial and the digest of the client's CertID: an answer
  // repeats the CertID it was asked with, so a SHA-1 CertID cannot be
  // answered with one signed for a SHA-256 request.
  std::map<std::tuple<std::int64_t, std::string, int>, CachedAnswer> answers_;
  std::mutex crl_build_mu_;  // one CRL build at a time
};

}  // namespace llavero::service
