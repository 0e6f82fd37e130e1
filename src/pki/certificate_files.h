// Certificates an operator keeps as files: every certificate (PEM, several
// per file, or DER) of the .pem, .crt and .cer files of a directory. The trust
// anchors of `llavero verificar --confianza DIR` and the extra roots of a
// data directory's confianza/ folder are read this way.
#pragma once

#include <filesystem>
#include <vector>

#include "pki/openssl.h"
#include "util/result.h"

namespace llavero {

// Every certificate of the directory's certificate files, in file name
// order. A missing directory, an unreadable or a certificate-less file, and
// a directory without any certificate are errors (confianza_invalida) that
// name the path.
Result<std::vector<ossl::X509Ptr>> read_certificate_directory(const std::filesystem::path& dir);

}  // namespace llavero
