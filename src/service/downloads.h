// The .p12 files the portal generated and the taxpayer has not downloaded
// yet. Each is encrypted with the server key (XSalsa20-Poly1305) in the store,
// bound to its taxpayer, and wiped after the first complete download or 15
// minutes, whichever comes first.
#pragma once

#include <filesystem>
#include <optional>

#include "store/account_store.h"
#include "util/clock.h"
#include "util/result.h"
#include "util/secret.h"

namespace llavero::service {

inline constexpr UnixSeconds kDownloadWindowSeconds = 15 * 60;

struct Download {
  std::string token_hash;
  std::string file_name;
  Bytes p12;
  std::optional<std::int64_t> certificate_id = std::nullopt;  // the pending key it delivers
};

class DownloadVault {
 public:
  // `server_key` is 32 bytes (see load_or_create_server_key).
  DownloadVault(AccountStore& store, SecretString server_key);

  // Keeps a file; returns the token that fetches it. `certificate_id` is the
  // pending key the file delivers (KeyService::complete_download), if any.
  Result<std::string> put(std::int64_t taxpayer_id, Environment env, const std::string& file_name,
                          const Bytes& p12,
                          std::optional<std::int64_t> certificate_id = std::nullopt);
  // The file behind a token, if it belongs to `taxpayer_id` and is still
  // there. Error "descarga_no_disponible" otherwise.
  Result<Download> open(const std::string& token, std::int64_t taxpayer_id);
  // After a complete download (or to take back a file that must not be served).
  Status wipe(const std::string& token_hash);

 private:
  AccountStore& store_;
  SecretString key_;
};

// The server key file `<data>/portal.key` (32 random bytes, mode 0600),
// created on first use.
Result<SecretString> load_or_create_server_key(const std::filesystem::path& path);

// XSalsa20-Poly1305 under the server key: the random nonce, then the box.
// open_with_server_key: nullopt when the box is not whole or not ours.
Result<Bytes> seal_with_server_key(const SecretString& key, const Bytes& plain);
std::optional<Bytes> open_with_server_key(const SecretString& key, const Bytes& box);

}  // namespace llavero::service
