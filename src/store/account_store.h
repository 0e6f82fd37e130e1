// AccountStore: how taxpayers get in and what they are waiting for. Portal
// passwords and the lockout after wrong ones, portal sessions, spent
// single-use form tokens, the .p12 files waiting for their download, the API
// credentials of "Generar contraseña" and the refresh tokens of the token
// endpoint. Secrets are only ever stored hashed or encrypted by the caller.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "id/environment.h"
#include "store/audit_store.h"
#include "util/clock.h"
#include "util/hash.h"
#include "util/result.h"

namespace llavero {

struct SessionRecord {
  std::string id_hash;
  std::int64_t taxpayer_id = 0;
  std::string csrf_token;
  UnixSeconds created_at = 0, last_seen = 0;
};

struct PendingDownload {
  std::string token_hash;
  std::int64_t taxpayer_id = 0;
  Environment environment;
  std::string file_name;
  Bytes ciphertext;
  UnixSeconds expires_at = 0;
  std::optional<std::int64_t> certificate_id = std::nullopt;  // the pending key it delivers
};

struct ApiCredential {
  std::int64_t taxpayer_id = 0;
  Environment environment;
  std::string username;
  std::string password_hash;
};

struct RefreshTokenRecord {
  std::string token_hash;
  std::string session_id;
  std::string username;
  std::string realm;
  std::string client_id;
  UnixSeconds expires_at = 0;
  bool revoked = false;
};

class AccountStore {
 public:
  virtual ~AccountStore() = default;

  // Portal passwords.
  virtual Status set_password_hash(std::int64_t taxpayer_id, const std::string& hash,
                                   const AuditEvent& audit) = 0;
  virtual Result<std::optional<std::string>> password_hash(std::int64_t taxpayer_id) = 0;
  // An audit row about log-ins that changes nothing else: a wrong password
  // (for any identification typed, registered or not), a suspected attack.
  virtual Status record_login_event(const AuditEvent& audit) = 0;

  // Sessions.
  virtual Status create_session(const SessionRecord& session, const AuditEvent& audit) = 0;
  virtual Result<std::optional<SessionRecord>> find_session(const std::string& id_hash) = 0;
  virtual Status touch_session(const std::string& id_hash, UnixSeconds last_seen) = 0;
  virtual Status delete_session(const std::string& id_hash) = 0;

  // Marks a single-use token spent; false if it already was.
  virtual Result<bool> spend_nonce(const std::string& nonce_hash, UnixSeconds now) = 0;

  // Downloads waiting to be fetched.
  virtual Status put_download(const PendingDownload& download) = 0;
  virtual Result<std::optional<PendingDownload>> find_download(const std::string& token_hash) = 0;
  virtual Status delete_download(const std::string& token_hash) = 0;
  // Removes expired downloads, sessions idle since `idle_before`, and old nonces.
  virtual Status purge(UnixSeconds now, UnixSeconds idle_before) = 0;

  // API credentials: setting one replaces the previous of that environment.
  virtual Status set_api_credential(const ApiCredential& credential, const AuditEvent& audit) = 0;
  virtual Result<std::optional<ApiCredential>> find_api_credential(const std::string& username) = 0;

  // Refresh tokens of the token endpoint.
  virtual Status put_refresh_token(const RefreshTokenRecord& token) = 0;
  virtual Result<std::optional<RefreshTokenRecord>> find_refresh_token(
      const std::string& token_hash) = 0;
  virtual Status revoke_token_session(const std::string& session_id) = 0;
  // Spends a refresh token of `realm` and `client_id` (each is good once)
  // and returns it as it was. A token already spent comes back revoked, and
  // its whole session (every token rotated from the same login) is revoked
  // with it: two parties hold that session. A token of another realm or
  // client is returned untouched. Absent: no such token.
  virtual Result<std::optional<RefreshTokenRecord>> spend_refresh_token(
      const std::string& token_hash, std::string_view realm, std::string_view client_id) = 0;
};

}  // namespace llavero
