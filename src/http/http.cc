#include "http/http.h"

#include "util/secret.h"

namespace llavero::http {

void Router::add(http::verb method, std::string path, Route route) {
  entries_.push_back(Entry{method, std::move(path), false, std::move(route)});
}

void Router::add_prefix(http::verb method, std::string prefix, Route route) {
  entries_.push_back(Entry{method, std::move(prefix), true, std::move(route)});
}

Router::Match Router::find(http::verb method, std::string_view path) const {
  Match match;
  for (const Entry& e : entries_) {
    const bool hit = e.prefix
                         ? path.size() > e.path.size() && path.substr(0, e.path.size()) == e.path
                         : path == e.path;
    if (!hit) continue;
    match.path_known = true;
    if (e.method != method) {
      const std::string_view name = beast_http::to_string(e.method);
      if (match.allow.find(name) == std::string::npos)
        match.allow += match.allow.empty() ? std::string(name) : ", " + std::string(name);
      continue;
    }
    match.route = &e.route;
    match.rest = e.prefix ? path.substr(e.path.size()) : std::string_view();
    return match;
  }
  return match;
}

std::size_t Router::body_limit(http::verb method, std::string_view target) const {
  const Match match = find(method, target_path(target));
  return match.route ? match.route->max_body : 0;
}

Response make_response(const Request& request, http::status status, std::string body,
                       std::string_view content_type) {
  Response response(status, request.version());
  response.set(http::field::server, "llavero");
  response.set(http::field::content_type, content_type);
  response.set("X-Content-Type-Options", "nosniff");
  response.keep_alive(request.keep_alive());
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

Response error_response(const Request& request, http::status status, std::string_view message) {
  return make_response(request, status, std::string(message) + "\n", "text/plain; charset=utf-8");
}

std::optional<Form> parse_form(std::string_view body, std::size_t max_fields) {
  Form form;
  while (!body.empty()) {
    const std::size_t amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    std::string key(pair.substr(0, eq));
    std::string value(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    for (std::string* s : {&key, &value})
      for (char& c : *s)
        if (c == '+') c = ' ';
    auto k = percent_decode(key);
    auto v = percent_decode(value);
    if (!k || !v || form.size() >= max_fields) return std::nullopt;
    form[*k] = std::move(*v);
  }
  return form;
}

std::string_view target_path(std::string_view target) {
  return target.substr(0, target.find('?'));
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int hi = hex(text[i + 1]), lo = hex(text[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

Form::~Form() {
  for (auto& [name, value] : *this) wipe_memory(value.data(), value.size());
}

void wipe_body(Request& request) {
  std::string& body = request.body();
  wipe_memory(body.data(), body.size());
  body.clear();
}

std::string_view framing_problem(const Request& header) {
  auto te = header.find(http::field::transfer_encoding);
  if (te == header.end()) {
    if (header.count(http::field::content_length) > 1) return "Content-Length repetido.";
    return {};
  }
  if (header.count(http::field::transfer_encoding) > 1) return "Transfer-Encoding repetido.";
  if (header.count(http::field::content_length) != 0)
    return "Content-Length y Transfer-Encoding juntos.";
  std::string value(te->value());
  std::erase_if(value, [](char c) { return c == ' ' || c == '\t'; });
  for (char& c : value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (value != "chunked") return "Transfer-Encoding no admitido: solo chunked.";
  return {};
}

bool safe_target(std::string_view path) {
  if (path.empty() || path.front() != '/') return false;
  auto decoded = percent_decode(path);
  if (!decoded || decoded->find('\0') != std::string::npos) return false;
  std::string_view p = *decoded;
  std::size_t start = 0;
  while (start <= p.size()) {
    std::size_t end = p.find('/', start);
    if (end == std::string_view::npos) end = p.size();
    std::string_view segment = p.substr(start, end - start);
    if (segment == ".." || segment == ".") return false;
    start = end + 1;
  }
  return p.find('\\') == std::string_view::npos;
}

}  // namespace llavero::http
