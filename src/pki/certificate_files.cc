#include "pki/certificate_files.h"

#include <fmt/format.h>
#include <openssl/pem.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "util/error_codes.h"

namespace fs = std::filesystem;

namespace llavero {

namespace {

// A certificate file is small; anything larger is not one.
constexpr std::uintmax_t kMaxCertificateFileBytes = 1 << 20;

Error invalid(std::string message) {
  return make_error(errc::kConfianzaInvalida, std::move(message));
}

// The certificates of one file: PEM blocks, else the file as DER.
Result<std::vector<ossl::X509Ptr>> read_certificate_file(const fs::path& file) {
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  if (ec) return invalid(fmt::format("No se pudo leer {}: {}", file.string(), ec.message()));
  if (size > kMaxCertificateFileBytes)
    return invalid(fmt::format("{} es demasiado grande para ser un certificado ({} bytes).",
                               file.string(), size));
  std::ifstream in(file, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  if (!in) return invalid(fmt::format("No se pudo leer {}.", file.string()));
  const std::string text = content.str();
  std::vector<ossl::X509Ptr> out;
  ossl::Bio bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr))
    out.emplace_back(cert);
  ossl::last_error();  // the end of the file reads as an error
  if (out.empty())
    if (auto der = ossl::x509_from_der(Bytes(text.begin(), text.end())))
      out.push_back(std::move(*der));
  if (out.empty())
    return invalid(fmt::format("{} no contiene certificados (PEM o DER).", file.string()));
  return out;
}

}  // namespace

Result<std::vector<ossl::X509Ptr>> read_certificate_directory(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return invalid(fmt::format("{} no es un directorio.", dir.string()));
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string ext = entry.path().extension().string();
    if (entry.is_regular_file() && (ext == ".pem" || ext == ".crt" || ext == ".cer"))
      files.push_back(entry.path());
  }
  if (ec)
    return invalid(fmt::format("No se pudo leer el directorio {}: {}", dir.string(), ec.message()));
  std::sort(files.begin(), files.end());
  std::vector<ossl::X509Ptr> out;
  for (const fs::path& file : files) {
    auto certs = read_certificate_file(file);
    if (!certs) return certs.error();
    for (auto& c : *certs) out.push_back(std::move(c));
  }
  if (out.empty())
    return invalid(fmt::format("No hay certificados (.pem, .crt, .cer) en {}.", dir.string()));
  return out;
}

}  // namespace llavero
