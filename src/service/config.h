// The settings of one installation, read from `<data>/llavero.conf`: lines of
// `key = value`, `#` for comments. `llavero init` writes the file with every
// default spelled out, so an operator sees what can be changed.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "pki/names.h"
#include "pki/p12.h"
#include "util/result.h"

namespace llavero::service {

// What one client address may take of the server (docs/operacion.md):
// connections, requests per second of each class of work (0: no limit), its
// share of the password-hashing queue; and the access log's lines a second.
struct ClientLimitSettings {
  int connections_per_address = 64;
  int public_per_second = 2000;  // OCSP, CRL, CA certificates, /healthz
  int general_per_second = 100;  // pages, the reception, key generation
  int hashing_per_second = 5;    // the token endpoint and the portal's login
  int hashing_queue = 32;
  int hashing_queue_per_address = 4;
  int access_log_lines_per_second = 200;  // 0: every line
  // The access log's own file (relative to the data directory), rotated by
  // size, keeping access_log_files older ones; empty: standard error.
  std::string access_log_file;
  int access_log_max_megabytes = 64;
  int access_log_files = 5;
};

// Sending an emitted comprobante to its receptor by correo (docs/herramienta.md,
// service/mailer.h). Without smtp_url nothing is sent. The password is never
// here: it is read from password_file when the server starts.
struct MailSettings {
  std::string smtp_url;       // smtp://host:port or smtps://host:port; empty: not configured
  std::string from;           // the envelope and From address
  std::string user;           // empty: no authentication
  std::string password_file;  // relative to the data directory
  bool tls_required = true;   // smtp://: STARTTLS or nothing is sent
  int attempts = 3;           // retries after the first attempt
  int delay_seconds = 60;     // before the first retry; doubled each time
  int timeout_seconds = 30;   // of one attempt
};

struct Config {
  std::string base_url = "http://127.0.0.1:8080";  // public URL printed in certificates
  // The store (`db`): empty, the SQLite file llavero.db of the data directory;
  // a postgresql:// URL, a PostgreSQL database (store/postgres/); else the
  // path of a SQLite file.
  std::string database;
  std::string user_domain = std::string(kDefaultUserDomain);
  bool strict_profile = false;  // true: no CRL DP / OCSP URL in taxpayer certificates
  int p12_iterations = 100000;
  int crl_validity_days = 7;  // nextUpdate − thisUpdate of every CRL (1 to 7)
  P12Profile p12_profile = P12Profile::kCompatible;
  CaNaming naming;
  // The key-encryption key of the keys kept for the Herramienta Gratuita
  // (service/custody.h); empty: <data>/llave-custodia.key.
  std::string custody_key_file;
  // `pkcs11`: the RFC 7512 URI of the token that holds the CA keys and the
  // custody key (pki/pkcs11.h, docs/hsm.md); empty: keys encrypted with the
  // CA passphrase. Set by `llavero init --pkcs11`; changing it later strands
  // the keys.
  std::string pkcs11;
  std::string xsd_directory;  // empty: $LLAVERO_XSD_DIR or the default beside the sources
  // The reception: whether a signature's advertencias (an odd or absent
  // policy, RSA-SHA1) reject it (politica_estricta), and whether a signer of
  // an external CA whose revocation cannot be learned is rejected
  // (revocacion_no_disponible = rechazar) or accepted (= aceptar).
  bool strict_signature_policy = false;
  bool revocation_answer_required = true;
  ClientLimitSettings client_limits;
  MailSettings mail;
  // RSA-2048 key pairs each server keeps ready, in memory only, for Generar
  // (service/key_pool.h); 0: every key is generated when it is asked for.
  int key_pool_size = 4;

  // The reception (docs/recepcion.md).
  std::size_t reception_max_body = 10 * 1024 * 1024;  // bytes of a POST …/recepcion
  // Host names whose /recepcion/v1 is the pruebas environment (Hacienda's
  // newer sandbox address), and those that are producción.
  std::vector<std::string> sandbox_hosts = {"api-sandbox.comprobanteselectronicos.go.cr"};
  int rate_limit = 600;            // requests per token subject …
  int rate_window_seconds = 60;    // … in this window; then 429
  int refresh_expires_in = 36000;  // seconds a refresh token lives
  int callback_attempts = 3;       // retries after the first POST to callbackUrl
  int callback_delay_seconds = 5;  // before the first retry; doubled each time
  int callback_timeout_seconds = 5;
  // Private, loopback and link-local callback hosts allowed in producción.
  std::vector<std::string> callback_allowed_hosts;
  // The operators' console answers only these client addresses (exact
  // match, docs/operador.md); empty: any.
  std::vector<std::string> operator_addresses;
  // Hacienda's rules in processing (docs/recepcion.md, part 4), each on by default.
  bool rule_clave = true, rule_consecutivo = true, rule_fecha_emision = true, rule_totales = true,
       rule_referencias = true, rule_mensaje_receptor = true;
  int fecha_future_seconds = 600;           // FechaEmision may be this far ahead of the clock
  int fecha_max_age_days = 30;              // and at most this old
  std::int64_t totals_tolerance_units = 0;  // in 0.00001
  // Scenarios of pruebas per taxpayer identification (digits → scenario).
  std::map<std::string, std::string> scenarios;
};

// Reads and validates a configuration file; unknown keys and bad values are
// errors that name the line.
Result<Config> parse_config(std::string_view text);
// The text of a configuration file holding `config`.
std::string render_config(const Config& config);

}  // namespace llavero::service
