// The codes of Error::code (util/result.h): the stable short tags programs,
// tests and the JSON answers branch on, one constant each so that a code is
// written once and compared by name. The values never change; the Spanish
// messages beside them may.
#pragma once

#include <string_view>

namespace llavero::errc {

// Anywhere: bad input in general, files, and what should not happen.
inline constexpr std::string_view kConfigInvalida = "config_invalida";
inline constexpr std::string_view kDatoFaltante = "dato_faltante";
inline constexpr std::string_view kDatoInvalido = "dato_invalido";
inline constexpr std::string_view kEntradaInvalida = "entrada_invalida";
inline constexpr std::string_view kErrorArchivo = "error_archivo";
inline constexpr std::string_view kErrorInterno = "error_interno";
inline constexpr std::string_view kOpcionFaltante = "opcion_faltante";
inline constexpr std::string_view kSalidaInvalida = "salida_invalida";

// The vocabulary (id/): identifications, claves, environments, CA kinds,
// revocation reasons.
inline constexpr std::string_view kAmbienteInvalido = "ambiente_invalido";
inline constexpr std::string_view kCaInvalida = "ca_invalida";
inline constexpr std::string_view kClaveInvalida = "clave_invalida";
inline constexpr std::string_view kIdentificacionInvalida = "identificacion_invalida";
inline constexpr std::string_view kMotivoInvalido = "motivo_invalido";

// The store.
inline constexpr std::string_view kAlmacenCorrupto = "almacen_corrupto";
inline constexpr std::string_view kAlmacenNoDisponible = "almacen_no_disponible";
inline constexpr std::string_view kCertificadoDesconocido = "certificado_desconocido";
inline constexpr std::string_view kCertificadoNoReservado = "certificado_no_reservado";
inline constexpr std::string_view kClaveDuplicada = "clave_duplicada";
inline constexpr std::string_view kConsecutivoUsado = "consecutivo_usado";
inline constexpr std::string_view kContribuyenteDuplicado = "contribuyente_duplicado";
inline constexpr std::string_view kOperadorDuplicado = "operador_duplicado";
inline constexpr std::string_view kOperadorNoAutorizado = "operador_no_autorizado";
inline constexpr std::string_view kCodigoInvalido = "codigo_invalido";
inline constexpr std::string_view kOperadorInvalido = "operador_invalido";
inline constexpr std::string_view kErrorAlmacen = "error_almacen";
inline constexpr std::string_view kSerialDuplicado = "serial_duplicado";
inline constexpr std::string_view kSinLlaveActiva = "sin_llave_activa";
inline constexpr std::string_view kLlaveNoPendiente = "llave_no_pendiente";
inline constexpr std::string_view kSinLlaveCustodia = "sin_llave_custodia";
inline constexpr std::string_view kClienteDuplicado = "cliente_duplicado";
inline constexpr std::string_view kListaLlena = "lista_llena";
inline constexpr std::string_view kRegistroNoEncontrado = "registro_no_encontrado";

// Keys, certificates, .p12 files, OCSP and tokens (pki/).
inline constexpr std::string_view kCaBloqueada = "ca_bloqueada";
inline constexpr std::string_view kFraseIncorrecta = "frase_incorrecta";
// CA keys in a PKCS#11 token (pki/pkcs11.h): the token cannot be used (no
// module, no token of that label, wrong PIN), or holds no such key.
inline constexpr std::string_view kTokenPkcs11 = "token_pkcs11";
inline constexpr std::string_view kLlaveNoEncontrada = "llave_no_encontrada";
inline constexpr std::string_view kIteracionesInvalidas = "iteraciones_invalidas";
inline constexpr std::string_view kNombreInvalido = "nombre_invalido";
inline constexpr std::string_view kOcspMalformado = "ocsp_malformado";
inline constexpr std::string_view kP12Invalido = "p12_invalido";
inline constexpr std::string_view kPerfilInvalido = "perfil_invalido";
inline constexpr std::string_view kPinIncorrecto = "pin_incorrecto";
inline constexpr std::string_view kPinInvalido = "pin_invalido";
inline constexpr std::string_view kTokenInvalido = "token_invalido";

// XML, schemas and XAdES (xml/, xades/).
inline constexpr std::string_view kConfianzaInvalida = "confianza_invalida";
inline constexpr std::string_view kErrorXmlsec = "error_xmlsec";
inline constexpr std::string_view kEsquemasNoDisponibles = "esquemas_no_disponibles";
inline constexpr std::string_view kLlaveInvalida = "llave_invalida";
inline constexpr std::string_view kRolInvalido = "rol_invalido";
inline constexpr std::string_view kSinConfianza = "sin_confianza";
inline constexpr std::string_view kXmlDtd = "xml_dtd";
inline constexpr std::string_view kXmlGrande = "xml_grande";
inline constexpr std::string_view kXmlInvalido = "xml_invalido";
inline constexpr std::string_view kXmlNoFirmable = "xml_no_firmable";

// The services: taxpayers, accounts, downloads, tokens, the reception.
inline constexpr std::string_view kCaDesconocida = "ca_desconocida";
// CA rollovers (service/ca_lifecycle.h).
inline constexpr std::string_view kGeneracionDuplicada = "generacion_duplicada";
inline constexpr std::string_view kMismoOperador = "mismo_operador";
inline constexpr std::string_view kNoEsAdministrador = "no_es_administrador";
inline constexpr std::string_view kRenovacionNoPendiente = "renovacion_no_pendiente";
inline constexpr std::string_view kRenovacionPendiente = "renovacion_pendiente";
inline constexpr std::string_view kCallbackDestino = "callback_destino";
inline constexpr std::string_view kContrasenaInvalida = "contrasena_invalida";
inline constexpr std::string_view kCorreoNoDisponible = "correo_no_disponible";
inline constexpr std::string_view kContribuyenteDesconocido = "contribuyente_desconocido";
inline constexpr std::string_view kCredencialesInvalidas = "credenciales_invalidas";
inline constexpr std::string_view kDemasiadosIntentos = "demasiados_intentos";
inline constexpr std::string_view kDescargaNoDisponible = "descarga_no_disponible";
inline constexpr std::string_view kJson = "json";
inline constexpr std::string_view kSesionExpirada = "sesion_expirada";
inline constexpr std::string_view kSinSesion = "sin_sesion";
inline constexpr std::string_view kTokenOtroAmbiente = "token_otro_ambiente";
// The Herramienta Gratuita's Recibidos (service/receiver.h).
inline constexpr std::string_view kComprobanteDesconocido = "comprobante_desconocido";
inline constexpr std::string_view kComprobanteNoAceptado = "comprobante_no_aceptado";
inline constexpr std::string_view kYaRespondido = "ya_respondido";

// The data directory, the server and the command line (app/, http/, cli/).
inline constexpr std::string_view kFraseNoDisponible = "frase_no_disponible";
inline constexpr std::string_view kListenInvalido = "listen_invalido";
inline constexpr std::string_view kNoEsDirectorioDeDatos = "no_es_directorio_de_datos";
inline constexpr std::string_view kPinNoCoincide = "pin_no_coincide";
inline constexpr std::string_view kPinNoDisponible = "pin_no_disponible";
inline constexpr std::string_view kServidor = "servidor";
inline constexpr std::string_view kTlsInvalido = "tls_invalido";

}  // namespace llavero::errc
