#include "app/extra_roots.h"

#include "pki/certificate_files.h"

namespace fs = std::filesystem;

namespace llavero::app {

Result<std::vector<ossl::X509Ptr>> extra_trust_roots(const fs::path& data_path) {
  const fs::path dir = data_path / kTrustDirName;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return std::vector<ossl::X509Ptr>{};
  bool any_file = false;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string ext = entry.path().extension().string();
    any_file = any_file || ext == ".pem" || ext == ".crt" || ext == ".cer";
  }
  if (!any_file) return std::vector<ossl::X509Ptr>{};
  return read_certificate_directory(dir);
}

}  // namespace llavero::app
