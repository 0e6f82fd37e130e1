// What the server-rendered front ends share (the taxpayers' portal and the
// operators' console): reading forms, query strings and cookies, rendering
// the embedded Mustache templates, field errors with their summary, the
// security headers of every page, redirects and downloads.
#pragma once

#include <kainjow/mustache.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "http/http.h"

namespace llavero::portal {

namespace mus = kainjow::mustache;

// A form field, empty when absent.
std::string field(const http::Form& form, std::string_view name);
// A query-string parameter of the request, empty when absent.
std::string query_param(const http::Request& request, std::string_view name);
// A cookie's value, empty when absent.
std::string cookie(const http::Request& request, std::string_view name);
// A Set-Cookie value: HttpOnly, SameSite=Strict, Secure over TLS; `expire` deletes it.
std::string cookie_header(std::string_view name, std::string_view value, bool secure,
                          bool expire = false, std::string_view path = "/");
// Constant-time comparison of two tokens; an empty one never matches.
bool same_secret(std::string_view a, std::string_view b);

// A template of src/portal/templates rendered with `data`, and one as a partial.
std::string render(std::string_view template_name, const mus::data& data);
mus::data partial(std::string_view template_name);

// Where a person reads a stored time, it is Costa Rica's.
std::string local_time(const std::string& iso);

// A one-time secret (an API or portal password) character by character:
// digits and symbols marked, so that 0/O and 1/l/I cannot be mistaken.
std::string characters_html(std::string_view secret);

// A field's error: the summary links to `field`, the page shows `message`
// beside it.
struct FieldError {
  std::string field;
  std::string message;
};
void set_errors(mus::data& d, const std::vector<FieldError>& errors);

// Content-Security-Policy without inline scripts or styles, no framing, no
// referrer, never cached: the headers of every page.
void set_page_headers(http::Response& response);

http::Response redirect(const http::Request& request, std::string_view location);
// A file to download: saved rather than shown, never cached nor framed.
http::Response attachment(const http::Request& request, std::string body,
                          std::string_view content_type, std::string_view file_name);

}  // namespace llavero::portal
