// CSodium: the system libsodium (Debian libsodium-dev) seen from Swift. Ingot uses its
// Ed25519 signatures (crypto_sign_*), BLAKE2b (crypto_generichash_*) and randombytes.
#include <sodium.h>

// Swift does not import the 64-byte aligned crypto_generichash_state, nor functions taking
// it: these take the state as untyped memory of crypto_generichash_statebytes() bytes,
// 64-byte aligned by the caller.
static inline int ingot_generichash_init(void *state, size_t outlen) {
    return crypto_generichash_init((crypto_generichash_state *) state, NULL, 0, outlen);
}
static inline int ingot_generichash_update(void *state, const unsigned char *in, unsigned long long inlen) {
    return crypto_generichash_update((crypto_generichash_state *) state, in, inlen);
}
static inline int ingot_generichash_final(void *state, unsigned char *out, size_t outlen) {
    return crypto_generichash_final((crypto_generichash_state *) state, out, outlen);
}
