// A data directory: where one installation keeps its configuration
// (llavero.conf), its store (llavero.db), the exported CA certificates
// (ca/<ambiente>/*.pem) and, unless LLAVERO_CA_PASSPHRASE is set or the keys
// live in a PKCS#11 token (`pkcs11` in llavero.conf), the passphrase file of
// the CA keys (ca-passphrase, mode 0600).
//
// llavero.conf is written last by `init`, so its presence is what makes a
// directory a data directory.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "pki/authority.h"
#include "service/config.h"
#include "store/store.h"
#include "util/secret.h"

namespace llavero::app {

struct InitOptions {
  service::Config config;
  std::string actor = "cli";
};

struct InitReport {
  bool created = false;            // false: an existing data directory was kept
  std::vector<std::string> lines;  // what was made, for the operator (Spanish)
};

// The directory named by --data, else $LLAVERO_DATA, else ./llavero-data.
std::filesystem::path default_data_path(const std::string& flag_value);

// Creates a data directory with the CA hierarchy of both environments. An
// existing data directory is kept untouched; a non-empty directory that is
// not one is refused.
Result<InitReport> initialize_data_dir(const std::filesystem::path& path,
                                       const InitOptions& options);

// The store `config` names for the data directory at `path` (its `db`): a
// PostgreSQL database for a postgresql:// URL; else SQLite, the file
// llavero.db of the directory unless `db` names another (relative to the
// directory). `create`: a missing SQLite file is made (a PostgreSQL database
// must exist; its tables are made either way).
Result<std::unique_ptr<Store>> open_store(const std::filesystem::path& path,
                                          const service::Config& config, bool create);

class DataDir {
 public:
  // Opens an existing data directory; refuses anything else with a message
  // that says to run `llavero init`.
  static Result<std::unique_ptr<DataDir>> open(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  const service::Config& config() const { return config_; }
  Store& store() { return *store_; }

  // LLAVERO_CA_PASSPHRASE when set, else the passphrase file.
  Result<SecretString> ca_passphrase() const;
  // Where the CA keys are: the PKCS#11 token of `pkcs11`, else the store,
  // encrypted with ca_passphrase().
  Result<std::unique_ptr<KeyStore>> ca_key_store() const;

 private:
  DataDir() = default;
  std::filesystem::path path_;
  service::Config config_;
  std::unique_ptr<Store> store_;
};

inline constexpr const char* kConfigFileName = "llavero.conf";
inline constexpr const char* kDatabaseFileName = "llavero.db";
inline constexpr const char* kPassphraseFileName = "ca-passphrase";
inline constexpr const char* kPassphraseEnv = "LLAVERO_CA_PASSPHRASE";

}  // namespace llavero::app
