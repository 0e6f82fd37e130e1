#include "testing.h"

#include <unistd.h>

#include <stdexcept>

#include "pki/authority.h"
#include "util/clock.h"

namespace fs = std::filesystem;

namespace llavero::testing {

using namespace llavero::service;

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "llavero-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

namespace {

const std::vector<NewAuthority>& shared_authorities() {
  static const std::vector<NewAuthority> list = [] {
    std::vector<NewAuthority> out;
    SecretString passphrase(kTestPassphrase);
    for (Environment env : kAllEnvironments) {
      HierarchyOptions options;
      options.key_bits = 2048;
      options.now = now_seconds() - 60;
      options.base_url = "http://127.0.0.1:8080";
      auto hierarchy = create_hierarchy(env, options);
      if (!hierarchy) throw std::runtime_error(hierarchy.error().message);
      for (const Authority& a : *hierarchy) {
        out.push_back(NewAuthority{
            env, a.kind, ossl::subject_line(*a.certificate), *ossl::x509_to_der(*a.certificate),
            *ossl::private_key_to_encrypted_pem(*a.private_key, passphrase)});
      }
    }
    return out;
  }();
  return list;
}

}  // namespace

std::unique_ptr<Installation> make_installation() {
  auto inst = std::make_unique<Installation>();
  auto store = SqliteStore::open(inst->db_path(), true);
  if (!store) throw std::runtime_error(store.error().message);
  inst->store = std::move(*store);
  auto added =
      inst->store->add_authorities(shared_authorities(), AuditEvent{"test", "init", "", ""});
  if (!added) throw std::runtime_error(added.error().message);
  inst->keyring = std::make_unique<CaKeyring>(*inst->store, SecretString(kTestPassphrase));
  inst->service = std::make_unique<KeyService>(*inst->store, inst->config, *inst->keyring);
  for (const NewTaxpayerRequest& t :
       {NewTaxpayerRequest{"1-0647-0958", "CONTRIBUYENTE", "PEÑA DE PRUEBA", "prueba@example.com"},
        NewTaxpayerRequest{"3-101-522899", "EMPRESA PEÑA DE PRUEBA SOCIEDAD ANONIMA", "", ""}}) {
    auto made = inst->service->create_taxpayer(t, "test");
    if (!made) throw std::runtime_error(made.error().message);
  }
  return inst;
}

std::function<Status(const StagedKey&)> keep_p12(Bytes& out) {
  return [&out](const StagedKey& key) -> Status {
    out = key.p12;
    return Ok{};
  };
}

}  // namespace llavero::testing
