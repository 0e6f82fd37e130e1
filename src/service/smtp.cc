#include "service/smtp.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <memory>

#include "service/accounts.h"
#include "service/outgoing.h"
#include "util/base64.h"
#include "util/clock.h"
#include "util/error_codes.h"
#include "util/files.h"

namespace llavero::service {

namespace {

struct MimeFree {
  void operator()(curl_mime* m) const { curl_mime_free(m); }
};
using Slist = std::unique_ptr<curl_slist, SlistFree>;

// RFC 2047: a header's UTF-8 text as it is when it is printable ASCII, else
// as encoded-words of at most 45 bytes each, never splitting a character.
std::string header_text(std::string_view text) {
  const bool plain = std::all_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f;
  });
  if (plain && text.find("=?") == std::string_view::npos) return std::string(text);
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    std::size_t end = std::min(text.size(), i + 45);
    while (end < text.size() && end > i + 1 &&
           (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
      --end;
    if (!out.empty()) out += ' ';
    out += "=?UTF-8?B?" + base64_encode(text.substr(i, end - i)) + "?=";
    i = end;
  }
  return out;
}

// RFC 5322's date, in UTC: "Wed, 02 Dec 2026 09:27:52 +0000".
std::string mail_date(UnixSeconds t) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return fmt::format("{}, {:02} {} {} {:02}:{:02}:{:02} +0000", kDays[tm.tm_wday], tm.tm_mday,
                     kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

// The server's replies, from libcurl's protocol trace: only what came in
// (CURLINFO_HEADER_IN), never what was sent (AUTH carries the password).
struct Replies {
  std::string last_failure;  // the last 4xx or 5xx line
};

int on_trace(CURL*, curl_infotype type, char* data, std::size_t size, void* user) {
  if (type != CURLINFO_HEADER_IN || size == 0) return 0;
  std::string line(data, size);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (!line.empty() && (line.front() == '4' || line.front() == '5'))
    static_cast<Replies*>(user)->last_failure = line.substr(0, 300);
  return 0;
}

}  // namespace

bool mail_address_usable(std::string_view a) {
  const std::size_t at = a.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == a.size() || a.size() > 254 ||
      a.find('@', at + 1) != std::string_view::npos)
    return false;
  return std::none_of(a.begin(), a.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c <= ' ' || c >= 0x7f ||
           std::string_view("<>,;:\"()[]\\").find(ch) != std::string_view::npos;
  });
}

Result<SecretString> read_smtp_password(const std::filesystem::path& file) {
  auto text = read_file(file);
  if (!text)
    return make_error(
        errc::kErrorArchivo,
        fmt::format("No se pudo leer correo_contrasena_archivo ({}).", file.string()));
  std::string_view first(*text);
  first = first.substr(0, first.find('\n'));
  if (!first.empty() && first.back() == '\r') first.remove_suffix(1);
  SecretString password{std::string(first)};
  wipe_memory(text->data(), text->size());
  if (password.empty())
    return make_error(errc::kErrorArchivo,
                      fmt::format("correo_contrasena_archivo ({}) está vacío.", file.string()));
  return password;
}

SmtpSender::SmtpSender(const MailSettings& settings, SecretString password)
    : settings_(settings), password_(std::move(password)) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
}

bool SmtpSender::configured() const {
  return !settings_.smtp_url.empty();
}

SendOutcome SmtpSender::send(const MailMessage& m) const {
  if (!configured()) return {false, "El envío por correo no está configurado en este servidor."};
  if (!mail_address_usable(m.to))
    return {false, fmt::format("La dirección del receptor no se puede usar: {}", m.to)};

  // Declared before the handle, so that they outlive its cleanup (which may
  // still talk to the server: QUIT).
  Replies replies;
  char error[CURL_ERROR_SIZE] = {};
  Slist recipients(curl_slist_append(nullptr, fmt::format("<{}>", m.to).c_str()));
  Slist headers;
  for (const std::string& h :
       {fmt::format("Date: {}", mail_date(now_seconds())),
        fmt::format("From: {} <{}>", header_text(m.from_name), settings_.from),
        fmt::format("To: <{}>", m.to), fmt::format("Subject: {}", header_text(m.subject)),
        fmt::format("Message-ID: <{}@{}>", random_token(),
                    settings_.from.substr(settings_.from.find('@') + 1))})
    headers.reset(curl_slist_append(headers.release(), h.c_str()));
  if (!m.reply_to.empty() && mail_address_usable(m.reply_to))
    headers.reset(
        curl_slist_append(headers.release(), fmt::format("Reply-To: <{}>", m.reply_to).c_str()));
  std::unique_ptr<curl_mime, MimeFree> mime;
  std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
  if (!curl || !recipients || !headers) return {false, "libcurl no se pudo iniciar"};
  CURL* h = curl.get();

  mime.reset(curl_mime_init(h));
  curl_mimepart* text = curl_mime_addpart(mime.get());
  curl_mime_data(text, m.body.data(), m.body.size());
  curl_mime_type(text, "text/plain; charset=UTF-8");
  curl_mime_encoder(text, "quoted-printable");
  for (const MailAttachment& a : m.attachments) {
    curl_mimepart* part = curl_mime_addpart(mime.get());
    curl_mime_data(part, a.bytes.data(), a.bytes.size());
    curl_mime_filename(part, a.filename.c_str());
    curl_mime_type(part, a.content_type.c_str());
    curl_mime_encoder(part, "base64");
  }

  curl_easy_setopt(h, CURLOPT_URL, settings_.smtp_url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(h, CURLOPT_USE_SSL,
                   static_cast<long>(settings_.tls_required ? CURLUSESSL_ALL : CURLUSESSL_TRY));
  if (!settings_.user.empty()) {
    curl_easy_setopt(h, CURLOPT_USERNAME, settings_.user.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, password_.c_str());
  }
  const std::string from = fmt::format("<{}>", settings_.from);
  curl_easy_setopt(h, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(h, CURLOPT_MAIL_RCPT, recipients.get());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_MIMEPOST, mime.get());
  curl_easy_setopt(h, CURLOPT_TIMEOUT, static_cast<long>(settings_.timeout_seconds));
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  // The trace is read for the server's replies only (on_trace).
  curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_trace);
  curl_easy_setopt(h, CURLOPT_DEBUGDATA, &replies);
  curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
  const CURLcode rc = curl_easy_perform(h);
  if (rc == CURLE_OK) return {true, ""};
  const std::string what = error[0] != '\0' ? error : curl_easy_strerror(rc);
  if (!replies.last_failure.empty())
    return {false, fmt::format("El servidor SMTP respondió «{}» ({})", replies.last_failure, what)};
  return {false, fmt::format("No se pudo entregar al servidor SMTP: {}", what)};
}

}  // namespace llavero::service
