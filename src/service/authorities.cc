#include "service/authorities.h"

#include <fmt/format.h>

#include <algorithm>

#include "util/error_codes.h"

namespace llavero::service {

Result<std::vector<CaKeyring::Entry*>> CaKeyring::load(Environment env, CaKind kind) {
  if (!loaded_) {
    auto records = store_.authorities();
    if (!records) return records.error();
    std::map<std::int64_t, Entry> entries;
    for (AuthorityRecord& r : *records) {
      auto cert = ossl::x509_from_der(r.certificate_der);
      if (!cert) return cert.error();
      Entry& entry = entries[r.id];
      entry.id = r.id;
      entry.authority =
          Authority{r.environment, r.kind, std::move(*cert), nullptr, r.key_pem, r.generation};
      entry.key_pem = std::move(r.key_pem);
    }
    entries_ = std::move(entries);
    loaded_ = true;
  }
  std::vector<Entry*> out;
  for (auto& [id, entry] : entries_)
    if (entry.authority.environment == env && entry.authority.kind == kind) out.push_back(&entry);
  std::sort(out.begin(), out.end(), [](const Entry* a, const Entry* b) {
    return a->authority.generation < b->authority.generation;
  });
  if (out.empty())
    return make_error(errc::kCaDesconocida,
                      fmt::format("No existe la CA {} de {} en este directorio de datos.",
                                  ca_kind_name(kind), environment_name(env)));
  return out;
}

Status CaKeyring::unlock(Entry& e) {
  if (e.authority.private_key) return Ok{};
  auto key = keys_->open(e.key_pem);
  if (!key) return key.error();
  e.authority.private_key = std::move(*key);
  return Ok{};
}

Result<CaKeyring::Unlocked> CaKeyring::unlocked(Environment env, CaKind kind) {
  std::lock_guard lock(mu_);
  auto entries = load(env, kind);
  if (!entries) return entries.error();
  Entry& newest = *entries->back();
  LLAVERO_TRY(unlock(newest));
  return Unlocked{newest.id, &newest.authority};
}

Result<std::vector<CaKeyring::Unlocked>> CaKeyring::generations(Environment env, CaKind kind) {
  std::lock_guard lock(mu_);
  auto entries = load(env, kind);
  if (!entries) return entries.error();
  std::vector<Unlocked> out;
  for (Entry* e : *entries) {
    LLAVERO_TRY(unlock(*e));
    out.push_back(Unlocked{e->id, &e->authority});
  }
  return out;
}

Result<const Authority*> CaKeyring::certificate(Environment env, CaKind kind) {
  std::lock_guard lock(mu_);
  auto entries = load(env, kind);
  if (!entries) return entries.error();
  return &entries->back()->authority;
}

Result<std::vector<const Authority*>> CaKeyring::certificates(Environment env, CaKind kind) {
  std::lock_guard lock(mu_);
  auto entries = load(env, kind);
  if (!entries) return entries.error();
  std::vector<const Authority*> out;
  for (Entry* e : *entries) out.push_back(&e->authority);
  return out;
}

Result<KeyStore::NewKey> CaKeyring::new_key(int bits, std::string_view label) {
  return keys_->generate_rsa(bits, label);
}

Result<ossl::PKey> CaKeyring::open_key(std::string_view reference) {
  return keys_->open(reference);
}

}  // namespace llavero::service
