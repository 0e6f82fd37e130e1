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
#include "id/revocation_reason.h"
#include "pki/p12.h"
#include "pki/pin.h"
#include "service/authorities.h"
#include "service/config.h"
#include "store/store.h"

namespace llavero::service {

class KeyCustody;
class KeyPool;

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
  // The portal's way: the key stays pending (the active one stays active)
  // until complete_download(), or is annulled by expire_pending() when the
  // download window passes. The CLI, which writes the file itself, leaves it
  // false: the key is active at once.
  bool until_downloaded = false;
};

// A freshly generated key, before it becomes the active one.
struct StagedKey {
  std::string file_name;  // per docs/p12.md, e.g. "010647095876.p12"
  const Bytes& p12;
  std::int64_t certificate_id = 0;
};

struct GeneratedKey {
  std::string file_name;
  std::string serial_hex;
  std::string not_before, not_after;
  std::optional<std::string> superseded_serial;  // the previous key, now revoked
  std::int64_t certificate_id = 0;
  bool pending = false;  // until_downloaded: waiting for complete_download()
  // until_downloaded: an earlier key still waiting for its download, now
  // annulled together with its file.
  std::optional<std::string> annulled_pending_serial;
};

enum class KeyState { kPendiente, kActiva, kRevocada, kVencida };
// "pendiente" | "activa" | "revocada" | "vencida"
std::string_view key_state_name(KeyState state);

struct KeyStatus {
  Environment environment;
  KeyState state;
  std::string serial_hex;
  std::string not_before, not_after;
  std::optional<std::string> revoked_at;
  std::optional<RevocationReason> reason;
  bool facturador_gratuito = false;
  Bytes certificate_der;  // parse it only when needed: that is the slow part
  std::int64_t certificate_id = 0;
  std::optional<std::string> pending_until;  // pendiente: the end of its download window
  // Revoked while still pending: nobody ever held it (the window passed, or
  // a newer Generar replaced it).
  bool never_delivered = false;
};

// What issue() is asked for: whose key, in which environment, and what the
// audit row says about it.
struct IssueOrder {
  TaxpayerRecord taxpayer;
  Environment environment = Environment::kPruebas;
  bool facturador_gratuito = false;
  std::string audit_detail;  // after "ambiente=… serie=…" in the audit row
  // The certificate's notBefore; now when unset. Only tests backdate it (to
  // make an expired certificate); nothing a user reaches sets it.
  std::optional<UnixSeconds> not_before;
  // Unset: active at once, superseding the active key. Set: pending until
  // then (see GenerateRequest::until_downloaded).
  std::optional<UnixSeconds> pending_until = std::nullopt;
  // The key to certify, made elsewhere (the MensajeHacienda seal's, in the
  // CA key store); null: a fresh 2048-bit key in memory, as for a taxpayer.
  const ossl::PKey* key = nullptr;
};

// A key pair and its signed certificate, not yet active.
struct IssuedKey {
  ossl::PKey key;
  ossl::X509Ptr certificate;
  std::vector<const X509*> chain;  // issuing CA, then root (owned by the keyring)
  std::string common_name;         // the friendlyName of a .p12 of this key
  Bytes serial;
  std::string serial_hex;
  UnixSeconds not_before = 0, not_after = 0;
  std::int64_t certificate_id = 0;  // its row in the store
};

// How long past its download window a pending key is kept before
// expire_pending() annuls it: a download that started at the last second may
// still complete.
inline constexpr UnixSeconds kPendingGraceSeconds = 120;

// The certificate's subject as one RFC 4514 line ("" if it does not parse).
std::string key_subject(const KeyStatus& key);

// The taxpayer an identification (in any accepted spelling) names. Error
// "contribuyente_desconocido" when there is none.
Result<TaxpayerRecord> find_taxpayer(TaxpayerStore& store, const std::string& identification);

class KeyService {
 public:
  KeyService(Store& store, const Config& config, CaKeyring& keyring)
      : store_(store), config_(config), keyring_(keyring) {}

  // Where a key issued with facturador_gratuito is kept for the Herramienta
  // Gratuita (service/custody.h). Without one (the command line), no key is
  // kept, ticked or not.
  void keep_in_custody_with(KeyCustody* custody) { custody_ = custody; }

  // Where issue() takes its key pairs first (service/key_pool.h); when the
  // pool is empty, or without one, it generates the pair itself.
  void draw_keys_from(KeyPool* pool) { pool_ = pool; }

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

  // The one way a certificate is issued (the portal and CLI keys through
  // generate(), the reception's MensajeHacienda signer, the test tools):
  // takes an RSA-2048 key pair from the pool or generates one, reserves a random serial in the
  // store (asking again on a collision), has the issuing CA sign, hands the result to `keep` (which
  // must keep what it needs durably), and only then makes it the active key, superseding the
  // previous one in the same transaction. If `keep` fails nothing becomes active; the reserved
  // serial is burnt, never reused. Returns the issued key and the serial of the key it superseded,
  // if any. With order.facturador_gratuito and a custody, the private key is sealed and stored with
  // the activation, in its transaction.
  struct Issued {
    IssuedKey key;
    std::optional<std::string> superseded_serial;
  };
  Result<Issued> issue(const IssueOrder& order, const std::function<Status(const IssuedKey&)>& keep,
                       const std::string& actor);

  // The file of a pending key was delivered: it becomes the active key, and
  // the previous active key is revoked (superseded) in the same transaction.
  // Returns that previous key's serial, if there was one. Error
  // "llave_no_pendiente" if the key was annulled meanwhile; a key already
  // active (a retried download) is no error.
  Result<std::optional<std::string>> complete_download(std::int64_t taxpayer_id,
                                                       std::int64_t certificate_id,
                                                       const std::string& actor);

  // Annuls every pending key whose download window (plus
  // kPendingGraceSeconds) ended before `now`, destroying the file kept for
  // it; the active key stays active. Returns how many were annulled.
  Result<int> expire_pending(UnixSeconds now);

  // Revokes the active key of an environment; `detail` is added to the audit
  // row (who acted for the taxpayer, and why).
  Result<KeyStatus> revoke(const std::string& identification, Environment env,
                           std::optional<RevocationReason> reason, const std::string& actor,
                           std::string_view detail = {});

  // Every issued key of a taxpayer, newest first, optionally of one environment.
  Result<std::vector<KeyStatus>> status(const std::string& identification,
                                        std::optional<Environment> env);

  Result<TaxpayerRecord> find_taxpayer(const std::string& identification);

 private:
  Store& store_;
  const Config& config_;
  CaKeyring& keyring_;
  KeyCustody* custody_ = nullptr;
  KeyPool* pool_ = nullptr;
};

}  // namespace llavero::service
