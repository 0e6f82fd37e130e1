// Shared test fixtures: a temporary directory, and a ready installation (a
// SQLite store holding a fresh CA hierarchy, a keyring and a key service).
// The CA keys here are RSA-2048 instead of 4096 only to keep the suite fast.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "service/authorities.h"
#include "service/config.h"
#include "service/key_service.h"
#include "store/sqlite/sqlite_store.h"

namespace llavero::testing {

using namespace llavero::service;

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline constexpr const char* kTestPassphrase = "frase de paso de prueba";

struct Installation {
  TempDir dir;
  std::unique_ptr<SqliteStore> store;
  Config config;
  std::unique_ptr<CaKeyring> keyring;
  std::unique_ptr<KeyService> service;

  std::string db_path() const { return (dir.path() / "llavero.db").string(); }
};

// A store with the hierarchy of both environments and the two demo
// taxpayers (1-0647-0958 and 3-101-522899). The CA material is made once per
// test binary and copied into each new installation.
std::unique_ptr<Installation> make_installation();

// A stage callback that keeps the .p12 in `out`.
std::function<Status(const StagedKey&)> keep_p12(Bytes& out);

}  // namespace llavero::testing
