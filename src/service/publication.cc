#include "service/publication.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "pki/crl.h"
#include "util/clock.h"
#include "util/error_codes.h"
#include "util/metrics.h"

namespace llavero::service {

namespace {
// A new CRL with its number and validity; `epoch` is the revocation epoch
// read before its entries, so the CRL is at least that fresh.
Result<CrlRecord> build_crl_record(CertificateStore& store, std::int64_t authority_id,
                                   const Authority& ca, UnixSeconds now, UnixSeconds validity,
                                   std::int64_t epoch) {
  auto entries = store.revoked_certificates(authority_id, now);
  if (!entries) return entries.error();
  auto number = store.next_crl_number(authority_id);
  if (!number) return number.error();
  CrlRequest request{&ca, *number, now, now + validity, {}};
  request.entries.reserve(entries->size());
  for (const RevokedEntry& e : *entries)
    request.entries.push_back(CrlEntry{e.serial_hex, e.revoked_at, e.reason});
  auto der = build_crl(request);
  if (!der) return der.error();
  return CrlRecord{authority_id, *number, epoch, now, now + validity, std::move(*der)};
}
}  // namespace

Result<Bytes> build_current_crl(CertificateStore& store, std::int64_t authority_id,
                                const Authority& ca, UnixSeconds now, UnixSeconds validity) {
  auto record = build_crl_record(store, authority_id, ca, now, validity, 0);
  if (!record) return record.error();
  return std::move(record->der);
}

namespace {

// OCSP answers, for /metrics: from the cache of signed answers ("cache") or
// signed for the request ("signed").
metrics::CounterFamily& ocsp_answers = metrics::process().counters(
    "llavero_ocsp_responses",
    "Respuestas OCSP con estado: de la caché de respuestas firmadas (cache) o firmadas al "
    "pedirlas (signed).",
    {"source"}, {{"cache"}, {"signed"}});

void count_ocsp(std::string_view source) {
  ocsp_answers.with({source}).add();
}
int certid_digest(OCSP_CERTID* id) {
  ASN1_OBJECT* digest = nullptr;
  OCSP_id_get0_info(nullptr, &digest, nullptr, nullptr, id);
  return OBJ_obj2nid(digest);
}
}  // namespace

RevocationPublisher::RevocationPublisher(Store& store, CaKeyring& keyring,
                                         PublicationOptions options)
    : store_(store), keyring_(keyring), options_(options) {}

Status RevocationPublisher::start() {
  for (Environment env : kAllEnvironments) {
    for (CaKind kind : kAllCaKinds) {
      auto generations = keyring_.generations(env, kind);
      if (!generations) return generations.error();
      for (const CaKeyring::Unlocked& unlocked : *generations) {
        auto issuer = std::make_unique<Issuer>();
        issuer->authority_id = unlocked.authority_id;
        issuer->environment = env;
        issuer->kind = kind;
        issuer->generation = unlocked.authority->generation;
        issuer->authority = unlocked.authority;
        issuers_.push_back(std::move(issuer));
      }
    }
  }
  std::vector<const X509*> certificates;
  for (const auto& issuer : issuers_) certificates.push_back(issuer->authority->certificate.get());
  issuer_index_ = IssuerIndex(std::move(certificates));
  auto epoch = sync_epoch();
  if (!epoch) return epoch.error();
  auto leader = store_.lead();
  if (!leader) return leader.error();
  const UnixSeconds now = now_seconds();
  for (auto& issuer : issuers_) {
    LLAVERO_TRY(ensure_responder(*issuer, now, *leader));
    auto crl = current_crl(*issuer, *epoch, now, *leader);
    if (!crl) return crl.error();
  }
  return Ok{};
}

std::vector<RevocationPublisher::Published> RevocationPublisher::published() const {
  std::vector<Published> out;
  for (const auto& i : issuers_) out.push_back(Published{i->environment, i->kind, i->generation});
  return out;
}

Result<RevocationPublisher::Issuer*> RevocationPublisher::issuer(Environment env, CaKind kind,
                                                                 int generation) {
  for (auto& i : issuers_)
    if (i->environment == env && i->kind == kind && i->generation == generation) return i.get();
  return make_error(errc::kCaDesconocida, fmt::format("La CA {} de {} no publica revocaciones.",
                                                      ca_kind_name(kind), environment_name(env)));
}

Status RevocationPublisher::ensure_responder(Issuer& issuer, UnixSeconds now, bool may_issue) {
  if (issuer.kind == CaKind::kRoot) return Ok{};  // the ARL only
  {
    std::lock_guard lock(mu_);
    if (issuer.responder) {
      const ASN1_TIME* not_after = X509_get0_notAfter(issuer.responder->certificate.get());
      if (X509_cmp_time(not_after, nullptr) > 0) {
        int days = 0, seconds = 0;
        ossl::Owned<ASN1_TIME, ASN1_TIME_free> renew_at(
            ASN1_TIME_set(nullptr, static_cast<time_t>(now + options_.responder_renew_before)));
        if (ASN1_TIME_diff(&days, &seconds, renew_at.get(), not_after) == 1 &&
            (days > 0 || (days == 0 && seconds > 0)))
          return Ok{};
      }
    }
  }
  // Another server on the same store may have issued one already.
  auto stored =
      store_.current_responder(issuer.authority_id, now + options_.responder_renew_before);
  if (!stored) return stored.error();
  ResponderCertificate fresh;
  if (!*stored && !may_issue) {
    // Renewing is the leader's; until it has, the current one still serves.
    std::lock_guard lock(mu_);
    if (issuer.responder) return Ok{};
  }
  if (*stored) {
    auto cert = ossl::x509_from_der((*stored)->certificate_der);
    if (!cert) return cert.error();
    auto key = keyring_.open_key((*stored)->key_pem);
    if (!key) return key.error();
    fresh = ResponderCertificate{std::move(*cert), std::move(*key)};
  } else {
    auto serial = random_serial();
    if (!serial) return serial.error();
    auto responder_key = keyring_.new_key(
        2048,
        fmt::format("ocsp-{}-{}", environment_name(issuer.environment), ca_kind_name(issuer.kind)));
    if (!responder_key) return responder_key.error();
    auto made = issue_responder_certificate(*issuer.authority, std::move(responder_key->key),
                                            *serial, now, options_.responder_validity);
    if (!made) return made.error();
    auto der = ossl::x509_to_der(*made->certificate);
    if (!der) return der.error();
    LLAVERO_TRY(store_.add_responder(
        ResponderRecord{issuer.authority_id, serial_to_hex(*serial), std::move(*der),
                        std::move(responder_key->reference), now + options_.responder_validity},
        AuditEvent{
            "servidor", "ocsp.respondedor", std::string(ca_kind_name(issuer.kind)),
            fmt::format("ambiente={} generacion={} serie={}", environment_name(issuer.environment),
                        issuer.generation, serial_to_hex(*serial))}));
    fresh = std::move(*made);
  }
  std::lock_guard lock(mu_);
  issuer.responder = std::make_shared<const ResponderCertificate>(std::move(fresh));
  answers_.clear();  // signed by the old responder
  return Ok{};
}

Status RevocationPublisher::adopt_stored_crl(Issuer& issuer) {
  std::int64_t ours = 0;
  {
    std::lock_guard lock(mu_);
    ours = issuer.crl_number;
  }
  auto stored = store_.latest_crl(issuer.authority_id, ours);
  if (!stored) return stored.error();
  if (!*stored) return Ok{};
  std::lock_guard lock(mu_);
  if ((*stored)->number <= issuer.crl_number) return Ok{};  // adopted meanwhile
  issuer.crl = std::make_shared<const Bytes>(std::move((*stored)->der));
  issuer.crl_number = (*stored)->number;
  issuer.crl_built = (*stored)->this_update;
  issuer.crl_next_update = (*stored)->next_update;
  issuer.crl_epoch = (*stored)->epoch;
  return Ok{};
}

Result<std::shared_ptr<const Bytes>> RevocationPublisher::current_crl(Issuer& issuer,
                                                                      std::int64_t epoch,
                                                                      UnixSeconds now,
                                                                      bool renew_old) {
  std::lock_guard build_lock(crl_build_mu_);
  // Two servers building at once: the higher number may have read an
  // older epoch than ours, so look again (a few times).
  for (int round = 0; round < 3; ++round) {
    LLAVERO_TRY(adopt_stored_crl(issuer));
    {
      std::lock_guard lock(mu_);
      const bool current = issuer.crl && issuer.crl_epoch >= epoch;
      const bool old = now >= issuer.crl_built + options_.crl_rebuild_every;
      if (current && !(renew_old && old && round == 0)) return issuer.crl;
    }
    // Read the epoch before the entries: the CRL is at least that fresh.
    auto built_epoch = store_.revocation_epoch();
    if (!built_epoch) return built_epoch.error();
    auto record = build_crl_record(store_, issuer.authority_id, *issuer.authority, now,
                                   options_.crl_validity, *built_epoch);
    if (!record) return record.error();
    // Kept, then read back above: another server may have stored a higher
    // number meanwhile, and the highest is answered so that the number
    // never goes down from one answer to the next.
    LLAVERO_TRY(store_.add_crl(*record));
  }
  LLAVERO_TRY(adopt_stored_crl(issuer));
  std::lock_guard lock(mu_);
  return issuer.crl;
}

Result<std::int64_t> RevocationPublisher::sync_epoch() {
  auto epoch = store_.revocation_epoch();
  if (!epoch) return epoch.error();
  std::lock_guard lock(mu_);
  if (*epoch != epoch_) {
    answers_.clear();
    epoch_ = *epoch;
  }
  return *epoch;
}

Result<std::shared_ptr<const Bytes>> RevocationPublisher::crl(Environment env, CaKind kind,
                                                              int generation) {
  auto found = issuer(env, kind, generation);
  if (!found) return found.error();
  auto epoch = sync_epoch();
  if (!epoch) return epoch.error();
  // The newest CRL any server stored, or a new one if a revocation landed
  // since; renewing an old one is the leader's, on its timer.
  return current_crl(**found, *epoch, now_seconds(), false);
}

UnixSeconds RevocationPublisher::crl_next_update(Environment env, CaKind kind, int generation) {
  auto found = issuer(env, kind, generation);
  if (!found) return 0;
  std::lock_guard lock(mu_);
  return (*found)->crl_next_update;
}

Result<std::string> RevocationPublisher::ca_certificate_pem(Environment env, CaKind kind,
                                                            int generation) {
  auto generations = keyring_.certificates(env, kind);
  if (!generations) return generations.error();
  for (const Authority* ca : *generations)
    if (ca->generation == generation) return ossl::x509_to_pem(*ca->certificate);
  return make_error(errc::kCaDesconocida, "No existe esa generación de la CA.");
}

SerialStatus RevocationPublisher::status_of(const Issuer& issuer, const std::string& serial_hex,
                                            UnixSeconds now, bool* store_failed) {
  auto record = store_.find_certificate(issuer.authority_id, serial_hex);
  if (!record) {
    *store_failed = true;
    return {};
  }
  if (!*record || (*record)->status == CertificateStatus::kReserved) return {};  // never issued
  const CertificateRecord& c = **record;
  if (c.status == CertificateStatus::kRevoked) {
    return SerialStatus{CertStatus::kRevoked, c.revoked_at.value_or(0), c.revocation_reason};
  }
  // Expired keys are never "good".
  if (c.not_after < now) return {};
  return SerialStatus{CertStatus::kGood, 0, std::nullopt};
}

std::optional<Bytes> RevocationPublisher::ocsp_from_cache(std::span<const std::uint8_t> der) {
  auto request = OcspRequest::parse(der);
  if (!request) return ocsp_error_response(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
  if (request->count() != 1 || request->has_nonce()) return std::nullopt;
  const int index = issuer_index_.match(request->id(0));
  if (index < 0) return ocsp_error_response(OCSP_RESPONSE_STATUS_UNAUTHORIZED);
  if (!sync_epoch()) return std::nullopt;
  const UnixSeconds now = now_seconds();
  std::lock_guard lock(mu_);
  auto it = answers_.find({issuers_[static_cast<std::size_t>(index)]->authority_id,
                           request->serial_hex(0), certid_digest(request->id(0))});
  if (it == answers_.end() || it->second.fresh_until <= now) return std::nullopt;
  count_ocsp("cache");
  return *it->second.der;
}

Bytes RevocationPublisher::ocsp(std::span<const std::uint8_t> der) {
  auto request = OcspRequest::parse(der);
  if (!request || request->count() > options_.max_ocsp_ids)
    return ocsp_error_response(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
  // All IDs must name one of our CAs, and the same one: a response has one
  // signer, and a delegated responder speaks only for its own CA.
  int index = -1;
  for (int i = 0; i < request->count(); ++i) {
    const int match = issuer_index_.match(request->id(i));
    if (match < 0 || (index >= 0 && match != index))
      return ocsp_error_response(OCSP_RESPONSE_STATUS_UNAUTHORIZED);
    index = match;
  }
  Issuer& issuer = *issuers_[static_cast<std::size_t>(index)];
  if (issuer.kind == CaKind::kRoot)  // the root's answers are in its ARL
    return ocsp_error_response(OCSP_RESPONSE_STATUS_UNAUTHORIZED);
  auto epoch = sync_epoch();
  if (!epoch) return ocsp_error_response(OCSP_RESPONSE_STATUS_TRYLATER);

  const UnixSeconds now = now_seconds();
  std::vector<OcspAnswer> answers;
  bool store_failed = false;
  for (int i = 0; i < request->count(); ++i) {
    const std::string serial = request->serial_hex(i);
    SerialStatus status;
    if (!serial.empty()) status = status_of(issuer, serial, now, &store_failed);
    answers.push_back(OcspAnswer{request->id(i), status});
  }
  if (store_failed) return ocsp_error_response(OCSP_RESPONSE_STATUS_TRYLATER);

  std::shared_ptr<const ResponderCertificate> responder;
  {
    std::lock_guard lock(mu_);
    responder = issuer.responder;
  }
  auto signed_der = sign_ocsp_response(
      OcspSigner{responder->certificate.get(), responder->key.get()}, answers,
      request->has_nonce() ? request->raw() : nullptr, now, now + options_.ocsp_validity);
  if (!signed_der) return ocsp_error_response(OCSP_RESPONSE_STATUS_INTERNALERROR);
  count_ocsp("signed");

  const bool cacheable = answers.size() == 1 && !request->has_nonce() &&
                         answers[0].status.status != CertStatus::kUnknown;
  if (cacheable) {
    std::lock_guard lock(mu_);
    // Only if no revocation landed since we read the status.
    if (epoch_ == *epoch && issuer.responder == responder) {
      if (answers_.size() >= options_.max_cached_answers) answers_.clear();
      answers_[{issuer.authority_id, request->serial_hex(0), certid_digest(request->id(0))}] =
          CachedAnswer{std::make_shared<const Bytes>(*signed_der),
                       now + options_.ocsp_validity / 2};
    }
  }
  return std::move(*signed_der);
}

Status RevocationPublisher::refresh() {
  auto epoch = sync_epoch();
  if (!epoch) return epoch.error();
  // Which server renews responders and rebuilds old CRLs is the store's
  // decision; when it cannot be asked, this one does not lead.
  auto leader = store_.lead();
  if (!leader)
    spdlog::warn("publicación: no se pudo saber si este servidor dirige: {}",
                 leader.error().message);
  const bool leading = leader && *leader;
  const UnixSeconds now = now_seconds();
  for (auto& issuer : issuers_) {
    LLAVERO_TRY(ensure_responder(*issuer, now, leading));
    auto crl = current_crl(*issuer, *epoch, now, leading);
    if (!crl) return crl.error();
  }
  return Ok{};
}

Status RevocationPublisher::store_reachable() {
  return store_.ping();
}

}  // namespace llavero::service
