#include "app/data_dir.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "app/extra_roots.h"
#include "pki/pkcs11.h"
#include "service/custody.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"
#include "util/clock.h"
#include "util/error_codes.h"
#include "util/files.h"

namespace fs = std::filesystem;

namespace llavero::app {

using service::Config;
using service::parse_config;
using service::render_config;

namespace {

Result<SecretString> new_passphrase() {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) return ossl::internal_error("RAND_bytes");
  std::string text = to_hex(std::span<const std::uint8_t>(raw, sizeof raw));
  wipe_memory(raw, sizeof raw);
  return SecretString(std::move(text));
}

bool is_data_dir(const fs::path& path) {
  return fs::exists(path / kConfigFileName);
}

fs::path sqlite_file(const fs::path& path, const Config& config) {
  return config.database.empty() ? path / kDatabaseFileName : path / config.database;
}

// A connection URL with a password in it (user:password@ or password=):
// llavero.conf is then readable by its owner only.
bool names_a_password(std::string_view url) {
  const auto scheme = url.find("://");
  const auto at = url.find('@');
  if (scheme != std::string_view::npos && at != std::string_view::npos && at > scheme &&
      url.substr(scheme + 3, at - scheme - 3).find(':') != std::string_view::npos)
    return true;
  return url.find("password=") != std::string_view::npos;
}

Result<InitReport> create_data_dir(const fs::path& path, const InitOptions& options);

}  // namespace

fs::path default_data_path(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  if (const char* env = std::getenv("LLAVERO_DATA"); env && *env) return env;
  return "llavero-data";
}

Result<InitReport> initialize_data_dir(const fs::path& path, const InitOptions& options) {
  InitReport report;
  std::error_code ec;
  if (fs::exists(path, ec) && !fs::is_directory(path, ec))
    return make_error(errc::kNoEsDirectorioDeDatos,
                      fmt::format("{} existe y no es un directorio.", path.string()));
  if (is_data_dir(path)) {
    report.lines.push_back(fmt::format(
        "El directorio de datos {} ya existe; se conserva sin cambios.", path.string()));
    return report;
  }
  if (fs::exists(path) && !fs::is_empty(path, ec))
    return make_error(
        errc::kNoEsDirectorioDeDatos,
        fmt::format("{} no está vacío y no es un directorio de datos de llavero (falta {}); "
                    "use otro directorio.",
                    path.string(), kConfigFileName));

  // From here on everything is ours: if a step fails, take it all back so
  // that a second `init` starts clean.
  const bool existed = fs::exists(path);
  auto result = create_data_dir(path, options);
  if (!result) {
    if (existed) {
      for (const auto& entry : fs::directory_iterator(path, ec)) fs::remove_all(entry.path(), ec);
    } else {
      fs::remove_all(path, ec);
    }
  }
  return result;
}

namespace {

Result<InitReport> create_data_dir(const fs::path& path, const InitOptions& options) {
  InitReport report;
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec)
    return make_error(errc::kErrorArchivo,
                      fmt::format("No se pudo crear {}: {}", path.string(), ec.message()));
  fs::permissions(path, fs::perms::owner_all, ec);

  // The keys: in the token named by `pkcs11`, else encrypted with a
  // passphrase, the operator's or one we make and keep beside the data.
  std::unique_ptr<KeyStore> keys;
  SecretString passphrase;
  if (!options.config.pkcs11.empty()) {
    auto token = open_pkcs11_key_store(options.config.pkcs11);
    if (!token) return token.error();
    keys = std::move(*token);
  } else if (const char* env = std::getenv(kPassphraseEnv); env && *env) {
    passphrase = SecretString(env);
    report.lines.push_back(fmt::format(
        "Llaves de las CA cifradas (AES-256) con la frase de paso de {}.", kPassphraseEnv));
  } else {
    auto made = new_passphrase();
    if (!made) return made.error();
    passphrase = std::move(*made);
    LLAVERO_TRY(write_file_atomically(path / kPassphraseFileName,
                                      std::string(passphrase.view()) + "\n", 0600));
    report.lines.push_back(fmt::format(
        "Llaves de las CA cifradas (AES-256) con la frase de paso generada en {} (modo 0600); "
        "guárdela en un lugar seguro.",
        (path / kPassphraseFileName).string()));
  }
  if (!keys) keys = passphrase_key_store(passphrase);

  auto store = open_store(path, options.config, true);
  if (!store) return store.error();
  if (!(*store)->authorities()->empty())
    return make_error(errc::kNoEsDirectorioDeDatos,
                      "La base de datos ya tiene una jerarquía de CA: use una base vacía para "
                      "un directorio de datos nuevo.");

  std::vector<NewAuthority> records;
  for (Environment env : kAllEnvironments) {
    HierarchyOptions h;
    h.naming = options.config.naming;
    h.base_url = options.config.base_url;
    h.now = now_seconds();
    h.keys = keys.get();
    auto hierarchy = create_hierarchy(env, h);
    if (!hierarchy) return hierarchy.error();
    const fs::path ca_dir = path / "ca" / std::string(environment_name(env));
    fs::create_directories(ca_dir, ec);
    if (ec)
      return make_error(errc::kErrorArchivo, fmt::format("No se pudo crear {}", ca_dir.string()));
    for (const Authority& a : *hierarchy) {
      auto der = ossl::x509_to_der(*a.certificate);
      auto pem = ossl::x509_to_pem(*a.certificate);
      if (!der) return der.error();
      if (!pem) return pem.error();
      const std::string subject = ossl::subject_line(*a.certificate);
      records.push_back(NewAuthority{env, a.kind, subject, std::move(*der), a.key_reference});
      const fs::path pem_path = ca_dir / fmt::format("{}.pem", ca_kind_name(a.kind));
      LLAVERO_TRY(write_file_atomically(pem_path, *pem, 0644));
      report.lines.push_back(fmt::format("CA {} ({}): {}  → {}", ca_kind_name(a.kind),
                                         environment_name(env), subject, pem_path.string()));
    }
  }
  if (keys->in_token()) {
    // The custody key of the Herramienta Gratuita lives in the token too,
    // made now so that servers sharing the token only ever open it.
    auto custody = service::create_token_custody_key(*keys);
    if (!custody) return custody.error();
    report.lines.push_back(
        fmt::format("Llaves de las CA y llave de custodia {}.", keys->description()));
  }
  // Where an operator drops the roots trusted besides these CAs (app/extra_roots.h).
  const fs::path trust_dir = path / kTrustDirName;
  fs::create_directories(trust_dir, ec);
  if (ec)
    return make_error(errc::kErrorArchivo, fmt::format("No se pudo crear {}", trust_dir.string()));
  report.lines.push_back(fmt::format(
      "Raíces de confianza adicionales (p. ej. las de la PKI nacional): {}", trust_dir.string()));
  LLAVERO_TRY((*store)->add_authorities(
      records, AuditEvent{options.actor, "init", path.string(),
                          "jerarquía de CA creada para produccion y pruebas"}));
  LLAVERO_TRY(write_file_atomically(path / kConfigFileName, render_config(options.config),
                                    names_a_password(options.config.database) ? 0600 : 0644));
  report.created = true;
  report.lines.insert(report.lines.begin(),
                      fmt::format("Directorio de datos creado: {}", path.string()));
  return report;
}

}  // namespace

Result<std::unique_ptr<Store>> open_store(const fs::path& path, const Config& config, bool create) {
  if (is_postgres_url(config.database)) {
    auto store = PostgresStore::open(config.database);
    if (!store) return store.error();
    return std::unique_ptr<Store>(std::move(*store));
  }
  auto store = SqliteStore::open(sqlite_file(path, config).string(), create);
  if (!store) return store.error();
  return std::unique_ptr<Store>(std::move(*store));
}

Result<std::unique_ptr<DataDir>> DataDir::open(const fs::path& path) {
  const auto not_a_data_dir = [&] {
    return make_error(errc::kNoEsDirectorioDeDatos,
                      fmt::format("{} no es un directorio de datos de llavero; créelo con "
                                  "'llavero init --data {}'.",
                                  path.string(), path.string()));
  };
  if (!is_data_dir(path)) return not_a_data_dir();
  auto text = read_file(path / kConfigFileName);
  if (!text) return text.error();
  auto config = parse_config(*text);
  if (!config) return config.error();
  if (!is_postgres_url(config->database) && !fs::exists(sqlite_file(path, *config)))
    return not_a_data_dir();
  auto store = open_store(path, *config, false);
  if (!store) return store.error();
  std::unique_ptr<DataDir> dir(new DataDir());
  dir->path_ = path;
  dir->config_ = std::move(*config);
  dir->store_ = std::move(*store);
  return dir;
}

Result<std::unique_ptr<KeyStore>> DataDir::ca_key_store() const {
  if (!config_.pkcs11.empty()) return open_pkcs11_key_store(config_.pkcs11);
  auto passphrase = ca_passphrase();
  if (!passphrase) return passphrase.error();
  return passphrase_key_store(std::move(*passphrase));
}

Result<SecretString> DataDir::ca_passphrase() const {
  if (const char* env = std::getenv(kPassphraseEnv); env && *env) return SecretString(env);
  auto text = read_file(path_ / kPassphraseFileName);
  if (!text)
    return make_error(errc::kFraseNoDisponible,
                      fmt::format("No hay frase de paso para las llaves de las CA: defina {} o "
                                  "restaure {}.",
                                  kPassphraseEnv, (path_ / kPassphraseFileName).string()));
  std::string value = std::move(*text);
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  return SecretString(std::move(value));
}

}  // namespace llavero::app
