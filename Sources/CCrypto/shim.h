// The parts of the system's libcrypto (OpenSSL 3; Debian: libssl-dev) the Store uses:
// AES-256-GCM through EVP, HMAC-SHA256, SHA-256 of files (FileDigest), and the random number generator.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/err.h>
