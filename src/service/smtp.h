// One e-mail through the SMTP server of llavero.conf (MailSettings), with
// libcurl: a MIME multipart/mixed message of a UTF-8 text and attachments
// (base64). What to send and when is service/mailer.h; this only sends.
//
// TLS: smtps:// is TLS from the start; smtp:// upgrades with STARTTLS, and
// with correo_tls_obligatorio = si (the default) nothing is sent to a server
// that does not offer it. Certificates are checked against the system's
// trust store. The password is read from its own file when the server starts,
// kept in a SecretString, handed to libcurl and nowhere else: not to the
// log, not to the store, not into an error message (libcurl's protocol trace
// is read only for the server's replies, never for what is sent).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "service/config.h"
#include "util/result.h"
#include "util/secret.h"

namespace llavero::service {

struct MailAttachment {
  std::string filename;      // ASCII
  std::string content_type;  // "application/pdf"
  std::string bytes;
};

struct MailMessage {
  std::string from_name;  // the From's display name (UTF-8); the address is correo_remitente
  std::string to;         // one address
  std::string reply_to;   // empty: none
  std::string subject;    // UTF-8
  std::string body;       // UTF-8 text
  std::vector<MailAttachment> attachments;
};

// What one attempt came to: delivered, or why not, in Spanish, with the
// server's own reply when it gave one ("451 4.3.0 Intente más tarde").
struct SendOutcome {
  bool delivered = false;
  std::string error;
};

// Whether `address` can be used as it is in an SMTP envelope and a header:
// local@domain, no spaces, controls, quotes, angle brackets or commas.
bool mail_address_usable(std::string_view address);

// The password file of correo_contrasena_archivo: its first line. Error
// "error_archivo" when it cannot be read or is empty.
Result<SecretString> read_smtp_password(const std::filesystem::path& file);

class SmtpSender {
 public:
  // `settings` is read at each send (it outlives the sender).
  SmtpSender(const MailSettings& settings, SecretString password);

  // Whether an SMTP server is configured at all.
  bool configured() const;

  // Sends `message` to message.to; blocks up to correo_timeout_segundos.
  SendOutcome send(const MailMessage& message) const;

 private:
  const MailSettings& settings_;
  SecretString password_;
};

}  // namespace llavero::service
