#include "service/authorities.h"

#include <fmt/format.h>

#include "util/error_codes.h"

namespace llavero::service {

Result<CaKeyring::Entry*> CaKeyring::load(Environment env, CaKind kind) {
  auto key = std::make_pair(env, kind);
  if (auto it = entries_.find(key); it != entries_.end()) return &it->second;
  auto records = store_.authorities();
  if (!records) return records.error();
  for (AuthorityRecord& r : *records) {
    if (r.environment != env || r.kind != kind) continue;
    auto cert = ossl::x509_from_der(r.certificate_der);
    if (!cert) return cert.error();
    Entry& entry = entries_[key];
    entry.id = r.id;
    entry.authority = Authority{env, kind, std::move(*cert), nullptr};
    entry.key_pem = std::move(r.key_pem);
    return &entry;
  }
  return make_error(errc::kCaDesconocida,
                    fmt::format("No existe la CA {} de {} en este directorio de datos.",
                                ca_kind_name(kind), environment_name(env)));
}

Result<CaKeyring::Unlocked> CaKeyring::unlocked(Environment env, CaKind kind) {
  std::lock_guard lock(mu_);
  auto entry = load(env, kind);
  if (!entry) return entry.error();
  Entry& e = **entry;
  if (!e.authority.private_key) {
    auto key = keys_->open(e.key_pem);
    if (!key) return key.error();
    e.authority.private_key = std::move(*key);
  }
  return Unlocked{e.id, &e.authority};
}

Result<const Authority*> CaKeyring::certificate(Environment env, CaKind kind) {
  std::lock_guard lock(mu_);
  auto entry = load(env, kind);
  if (!entry) return entry.error();
  return &(*entry)->authority;
}

Result<KeyStore::NewKey> CaKeyring::new_key(int bits, std::string_view label) {
  return keys_->generate_rsa(bits, label);
}

Result<ossl::PKey> CaKeyring::open_key(std::string_view reference) {
  return keys_->open(reference);
}

}  // namespace llavero::service
