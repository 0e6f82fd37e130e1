#include "portal/web.h"

#include <fmt/format.h>
#include <openssl/crypto.h>

#include <cctype>

#include "portal/templates.h"
#include "util/clock.h"

namespace llavero::portal {

using namespace llavero::http;

std::string field(const Form& form, std::string_view name) {
  auto it = form.find(name);
  return it == form.end() ? std::string() : it->second;
}

std::string query_param(const Request& request, std::string_view name) {
  const std::string_view target = request.target();
  const std::size_t q = target.find('?');
  if (q == std::string_view::npos) return {};
  auto form = parse_form(target.substr(q + 1));
  return form ? field(*form, name) : std::string();
}

std::string cookie(const Request& request, std::string_view name) {
  std::string_view header = request[http::field::cookie];
  while (!header.empty()) {
    const std::size_t semi = header.find(';');
    std::string_view part = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.size() > name.size() && part.substr(0, name.size()) == name &&
        part[name.size()] == '=')
      return std::string(part.substr(name.size() + 1));
  }
  return {};
}

std::string cookie_header(std::string_view name, std::string_view value, bool secure, bool expire,
                          std::string_view path) {
  return fmt::format("{}={}; Path={}; HttpOnly; SameSite=Strict{}{}", name, value, path,
                     secure ? "; Secure" : "", expire ? "; Max-Age=0" : "");
}

bool same_secret(std::string_view a, std::string_view b) {
  return !a.empty() && a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string render(std::string_view template_name, const mus::data& data) {
  mus::mustache tmpl{std::string(embedded_file(template_name))};
  return tmpl.render(data);
}

mus::data partial(std::string_view template_name) {
  return mus::data(
      mus::partial([template_name] { return std::string(embedded_file(template_name)); }));
}

std::string local_time(const std::string& iso) {
  auto t = parse_utc(iso);
  return t ? format_costa_rica(*t) : iso;
}

void set_errors(mus::data& d, const std::vector<FieldError>& errors) {
  mus::data list{mus::data::type::list};
  for (const FieldError& e : errors) {
    mus::data item;
    item.set("campo", e.field);
    item.set("mensaje", e.message);
    list.push_back(item);
    d.set("error_" + e.field, e.message);
  }
  d.set("hay_errores", !errors.empty());
  d.set("errores", list);
  d.set("resumen_errores", partial("errores.mustache"));
}

void set_page_headers(Response& r) {
  r.set("Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
  r.set("X-Frame-Options", "DENY");
  r.set("Referrer-Policy", "no-referrer");
  r.set(http::field::cache_control, "no-store");
}

Response redirect(const Request& request, std::string_view location) {
  Response r = make_response(request, http::status::see_other, "", "text/plain; charset=utf-8");
  r.set(http::field::location, location);
  r.set(http::field::cache_control, "no-store");
  return r;
}

Response attachment(const Request& request, std::string body, std::string_view content_type,
                    std::string_view file_name) {
  Response r = make_response(request, http::status::ok, std::move(body), content_type);
  r.set(http::field::content_disposition, fmt::format("attachment; filename=\"{}\"", file_name));
  r.set(http::field::cache_control, "no-store");
  r.set("X-Frame-Options", "DENY");
  return r;
}

std::string characters_html(std::string_view secret) {
  std::string out;
  for (char c : secret) {
    const unsigned char u = static_cast<unsigned char>(c);
    std::string glyph(1, c);
    if (c == '&') glyph = "&amp;";
    if (c == '<') glyph = "&lt;";
    if (c == '>') glyph = "&gt;";
    if (c == '"') glyph = "&quot;";
    if (std::isdigit(u))
      out += "<span class=\"d\">" + glyph + "</span>";
    else if (std::isalpha(u))
      out += "<span>" + glyph + "</span>";
    else
      out += "<span class=\"s\">" + glyph + "</span>";
  }
  return out;
}

}  // namespace llavero::portal
