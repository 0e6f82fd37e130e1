// The settings of one installation, read from `<data>/llavero.conf`: lines of
// `key = value`, `#` for comments. `llavero init` writes the file with every
// default spelled out, so an operator sees what can be changed.
#pragma once

#include <string>

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
};

struct Config {
  std::string base_url = "http://127.0.0.1:8080";  // public URL printed in certificates
  std::string user_domain = std::string(kDefaultUserDomain);
  bool strict_profile = false;  // true: no CRL DP / OCSP URL in taxpayer certificates
  int p12_iterations = 100000;
  int crl_validity_days = 7;  // nextUpdate − thisUpdate of every CRL (1 to 7)
  P12Profile p12_profile = P12Profile::kCompatible;
  CaNaming naming;
  std::string xsd_directory;  // empty: $LLAVERO_XSD_DIR or the default beside the sources
  // The reception: whether a signature's advertencias (an odd or absent
  // policy, RSA-SHA1) reject it (politica_estricta), and whether a signer of
  // an external CA whose revocation cannot be learned is rejected
  // (revocacion_no_disponible = rechazar) or accepted (= aceptar).
  bool strict_signature_policy = false;
  bool revocation_answer_required = true;
  ClientLimitSettings client_limits;
};

// Reads and validates a configuration file; unknown keys and bad values are
// errors that name the line.
Result<Config> parse_config(std::string_view text);
// The text of a configuration file holding `config`.
std::string render_config(const Config& config);

}  // namespace llavero::service
