// Accounts of the portal and the API: portal passwords and sessions, the
// throttling of wrong passwords (service/login_throttle.h), single-use form tokens, and the API
// passwords of "Generar contraseña". Passwords are kept only as Argon2id hashes; session ids only
// as SHA-256 hashes. Hashing is slow on purpose: call the methods that hash from the worker pool,
// never from an I/O thread.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "id/identification.h"
#include "service/config.h"
#include "service/login_throttle.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/result.h"
#include "util/secret.h"

namespace llavero::service {

inline constexpr UnixSeconds kSessionIdleSeconds = 15 * 60;
inline constexpr std::size_t kMinPortalPasswordLength = 8;
inline constexpr std::size_t kApiPasswordLength = 20;
// The symbols of docs/portal.md an API password may contain, besides letters and digits.
inline constexpr std::string_view kApiPasswordSymbols = "!#$%&()+-./:;=>?@[]^_{|}";

// Argon2id (libsodium's crypto_pwhash_str) hashing and checking.
Result<std::string> hash_password(const SecretString& password);
bool password_matches(const std::string& hash, const SecretString& password);

// A random URL-safe token of 256 bits, and its SHA-256 (hex) for storage.
std::string random_token();
std::string token_hash(std::string_view token);

// A new API password: 20 characters with at least one lower-case and one
// upper-case letter, one digit and one symbol.
SecretString generate_api_password();

struct PortalSession {
  TaxpayerRecord taxpayer;
  Identification identification;
  std::string csrf_token;
  std::string id_hash;
};

struct Login {
  PortalSession session;
  std::string cookie_token;  // goes to the browser, never to the store
};

struct NewApiPassword {
  std::string username;
  SecretString password;  // shown once
};

class AccountService {
 public:
  AccountService(Store& store, const Config& config, LoginThrottleSettings throttling = {})
      : store_(store), config_(config), portal_throttle_(throttling), api_throttle_(throttling) {}

  // Sets the portal password of a taxpayer (at least 8 characters).
  Status set_portal_password(const std::string& identification, const SecretString& password,
                             const std::string& actor);

  // Checks identification + password typed from `remote_address`. Errors:
  // "credenciales_invalidas" (the same for an unknown identification and a
  // wrong password), "demasiados_intentos" (that identification failed too
  // often from that address: it must wait; the password was not checked).
  // Unknown and registered identifications answer and take alike.
  Result<Login> login(const std::string& identification, const SecretString& password,
                      const std::string& remote_address);

  // The session behind a cookie, refreshed. Errors: "sin_sesion",
  // "sesion_expirada" (idle for more than 15 minutes; it is deleted).
  Result<PortalSession> session(const std::string& cookie_token);
  Status logout(const std::string& cookie_token);

  // A single-use token (Generar's double-submit guard): true the first time.
  Result<bool> spend_form_token(const std::string& token);

  // "Generar contraseña": a new API password for an environment; the
  // previous one stops working at once.
  Result<NewApiPassword> generate_api_password(const std::string& identification, Environment env,
                                               const std::string& actor);
  // The API user of an environment if it already has a password (so that a
  // second "Generar contraseña" can ask first), nullopt otherwise.
  Result<std::optional<std::string>> api_user(const std::string& identification, Environment env);
  // Wrong passwords left from `remote_address` before that identification
  // must wait, for the log-in page's warning; the same for an identification
  // nobody has, so the warning tells nothing about who is registered.
  int attempts_left(const std::string& identification, const std::string& remote_address);

  // The API credential a user name and password stand for, if they match,
  // with the same throttling per (user name, address) as the portal's log-in.
  // Errors: "demasiados_intentos" (the password was not checked).
  Result<std::optional<ApiCredential>> check_api_password(const std::string& username,
                                                          const SecretString& password,
                                                          const std::string& remote_address);

  Status purge_expired();

  // For the operators' console (docs/operador.md): the addresses from which
  // a taxpayer's portal log-in must wait now, and until when; lifting every
  // one of those waits; and a new random portal password, shown once. The
  // audit rows name the operator.
  Result<std::map<std::string, UnixSeconds>> portal_waits(const std::string& identification);
  Status unlock_portal(const std::string& identification, const AuditEvent& audit);
  Result<SecretString> reset_portal_password(const std::string& identification,
                                             const std::string& actor, const std::string& detail);

 private:
  Result<TaxpayerRecord> taxpayer(const std::string& identification);

  // Counts a wrong portal password: the audit row, the operator's warning
  // when the account looks attacked, and the wait it may start.
  Status count_portal_failure(const std::string& account, const std::string& remote_address);

  Store& store_;
  const Config& config_;
  LoginThrottle portal_throttle_;  // keyed by identification digits
  LoginThrottle api_throttle_;     // keyed by API user name
};

}  // namespace llavero::service
