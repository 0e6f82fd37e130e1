#include "service/downloads.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sodium.h>
#include <unistd.h>

#include "service/accounts.h"
#include "util/clock.h"
#include "util/error_codes.h"

namespace llavero::service {

namespace {
Error unavailable() {
  return make_error(errc::kDescargaNoDisponible,
                    "El archivo ya no está disponible: se descarga una sola vez y durante 15 "
                    "minutos. Genere una nueva llave criptográfica para obtener otro.");
}
}  // namespace

DownloadVault::DownloadVault(AccountStore& store, SecretString server_key)
    : store_(store), key_(std::move(server_key)) {}

Result<std::string> DownloadVault::put(std::int64_t taxpayer_id, Environment env,
                                       const std::string& file_name, const Bytes& p12,
                                       std::optional<std::int64_t> certificate_id) {
  auto box = seal_with_server_key(key_, p12);
  if (!box) return box.error();
  std::string token = random_token();
  LLAVERO_TRY(store_.put_download(
      PendingDownload{token_hash(token), taxpayer_id, env, file_name, std::move(*box),
                      now_seconds() + kDownloadWindowSeconds, certificate_id}));
  return token;
}

Result<Download> DownloadVault::open(const std::string& token, std::int64_t taxpayer_id) {
  const std::string hash = token_hash(token);
  auto found = store_.find_download(hash);
  if (!found) return found.error();
  if (!*found || (*found)->taxpayer_id != taxpayer_id) return unavailable();
  const PendingDownload& d = **found;
  if (d.expires_at <= now_seconds()) {
    LLAVERO_TRY(wipe(hash));
    return unavailable();
  }
  auto p12 = open_with_server_key(key_, d.ciphertext);
  if (!p12) return unavailable();
  Download out{hash, d.file_name, std::move(*p12), d.certificate_id};
  return out;
}

Status DownloadVault::wipe(const std::string& token_hash) {
  return store_.delete_download(token_hash);
}

Result<SecretString> load_or_create_server_key(const std::filesystem::path& path) {
  if (sodium_init() < 0) return make_error(errc::kErrorInterno, "libsodium no se pudo iniciar.");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    std::string key(crypto_secretbox_KEYBYTES, '\0');
    randombytes_buf(key.data(), key.size());
    const std::string tmp = path.string() + ".tmp";
    int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = out >= 0 &&
              ::write(out, key.data(), key.size()) == static_cast<ssize_t>(key.size()) &&
              ::fsync(out) == 0;
    if (out >= 0) ok = ::close(out) == 0 && ok;
    // link() refuses to replace: if another server made one meanwhile, use theirs.
    if (ok && ::link(tmp.c_str(), path.c_str()) != 0 && errno != EEXIST) ok = false;
    ::unlink(tmp.c_str());
    sodium_memzero(key.data(), key.size());
    if (!ok)
      return make_error(errc::kErrorArchivo,
                        fmt::format("No se pudo crear la llave del servidor {}.", path.string()));
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return make_error(errc::kErrorArchivo, fmt::format("No se pudo leer {}.", path.string()));
  }
  std::string key(crypto_secretbox_KEYBYTES, '\0');
  const bool ok = ::read(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size());
  ::close(fd);
  if (!ok)
    return make_error(errc::kErrorArchivo,
                      fmt::format("{} no es una llave válida.", path.string()));
  return SecretString(std::move(key));
}

Result<Bytes> seal_with_server_key(const SecretString& key, const Bytes& plain) {
  if (key.size() != crypto_secretbox_KEYBYTES || sodium_init() < 0)
    return make_error(errc::kErrorInterno, "La llave del servidor no es válida.");
  Bytes box(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plain.size());
  randombytes_buf(box.data(), crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(box.data() + crypto_secretbox_NONCEBYTES, plain.data(), plain.size(),
                        box.data(), reinterpret_cast<const unsigned char*>(key.c_str()));
  return box;
}

std::optional<Bytes> open_with_server_key(const SecretString& key, const Bytes& box) {
  const std::size_t overhead = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES;
  if (key.size() != crypto_secretbox_KEYBYTES || box.size() < overhead) return std::nullopt;
  Bytes plain(box.size() - overhead);
  if (crypto_secretbox_open_easy(plain.data(), box.data() + crypto_secretbox_NONCEBYTES,
                                 box.size() - crypto_secretbox_NONCEBYTES, box.data(),
                                 reinterpret_cast<const unsigned char*>(key.c_str())) != 0)
    return std::nullopt;
  return plain;
}

}  // namespace llavero::service
