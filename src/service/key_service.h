// The key lifecycle (docs/product.md#key-lifecycle): registering taxpayers, generating a key and
// its .p12, revoking, and reporting the state of a taxpayer's keys. This is
// the policy layer: it decides what may happen, asks the CA to sign and the
// store to remember, and writes an audit row for every action. The command
// line and the portal both call it; neither reaches past it.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "id/identification.h"
#include "pki/p12.h"
#include "pki/pin.h"
#include "pki/revocation_reason.h"
#include "service/authorities.h"
#include "service/config.h"
#include "store/store.h"

namespace llavero::service {

struct NewTaxpayerRequest {
  std::string identification;  // as typed; parsed by Identification::parse
  std::string nombre;          // razón social for a Jurídica
  std::string apellidos;       // required for persons, refused for a Jurídica
  std::string correo;
};

struct GenerateRequest {
  std::string identification;  // as typed
  Environment environment = Environment::kPruebas;
  std::optional<P12Profile> profile;  // default from the configuration
  bool facturador_gratuito = false;
};

// A freshly generated key, before it becomes the active one.
struct StagedKey {
  std::string file_name;  // per docs/p12.md, e.g. "010647095876.p12"
  const Bytes& p12;
};

struct GeneratedKey {
  std::string file_name;
  std::string serial_hex;
  std::string not_before, not_after;
  std::optional<std::string> superseded_serial;  // the previous key, now revoked
};

enum class KeyState { kActiva, kRevocada, kVencida };
std::string_view key_state_name(KeyState state);  // "activa" | "revocada" | "vencida"

struct KeyStatus {
  Environment environment;
  KeyState state;
  std::string serial_hex;
  std::string not_before, not_after;
  std::optional<std::string> revoked_at;
  std::optional<RevocationReason> reason;
  bool facturador_gratuito = false;
  Bytes certificate_der;  // parse it only when needed: that is the slow part
};

// The certificate's subject as one RFC 4514 line ("" if it does not parse).
std::string key_subject(const KeyStatus& key);

// The taxpayer an identification (in any accepted spelling) names. Error
// "contribuyente_desconocido" when there is none.
Result<TaxpayerRecord> find_taxpayer(Store& store, const std::string& identification);

class KeyService {
 public:
  KeyService(Store& store, const Config& config, CaKeyring& keyring)
      : store_(store), config_(config), keyring_(keyring) {}

  Result<TaxpayerRecord> create_taxpayer(const NewTaxpayerRequest& request,
                                         const std::string& actor);

  // Generates a key pair, has the CA sign its certificate, builds the .p12,
  // hands it to `stage` (which must keep it durably, e.g. a temporary file),
  // and only then makes it the active key, revoking the previous one
  // (superseded) in the same transaction. If `stage` fails nothing becomes
  // active. The serial is reserved in the store before signing.
  Result<GeneratedKey> generate(const GenerateRequest& request, const Pin& pin,
                                const std::function<Status(const StagedKey&)>& stage,
                                const std::string& actor);

  // Revokes the active key of an environment.
  Result<KeyStatus> revoke(const std::string& identification, Environment env,
                           std::optional<RevocationReason> reason, const std::string& actor);

  // Every issued key of a taxpayer, newest first, optionally of one environment.
  Result<std::vector<KeyStatus>> status(const std::string& identification,
                                        std::optional<Environment> env);

  Result<TaxpayerRecord> find_taxpayer(const std::string& identification);

 private:
  Store& store_;
  const Config& config_;
  CaKeyring& keyring_;
};

}  // namespace llavero::service
