// PROXIMA_SANITIZED is defined in AddressSanitizer and ThreadSanitizer
// builds (gcc and clang), whose runtimes refuse the RTLD_DEEPBIND that opens
// SentencePiece's bridge (common/lm/sentencepiece_bridge.h): the
// SentencePiece tests skip there.
#ifndef PROXIMA_TESTS_LM_SANITIZER_BUILD_H_
#define PROXIMA_TESTS_LM_SANITIZER_BUILD_H_

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define PROXIMA_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PROXIMA_SANITIZED 1
#endif

#endif  // PROXIMA_TESTS_LM_SANITIZER_BUILD_H_
