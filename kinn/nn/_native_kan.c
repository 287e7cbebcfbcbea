/* Fused CPU kernel of a uniform-grid B-spline KAN layer; the body is _native_kan.h.
 * kinn/nn/_native.py builds one library per degree and type on first use:
 * -DKINN_L=<degree + 1> -DKINN_DOUBLE=<0 or 1>. */
#include <math.h>
#include <stdlib.h>

#if KINN_DOUBLE
#define REAL double
#define FLOOR floor
#else
#define REAL float
#define FLOOR floorf
#endif
#define FN(name) name

#ifdef __AVX__
/* s[0..3] = the horizontal sums of four 32-byte vectors, in five instructions */
#include <immintrin.h>
#if KINN_DOUBLE
#define KINN_HSUM4(a, b, c, d, s)                                                             \
    do {                                                                                      \
        __m256d h1 = _mm256_hadd_pd((__m256d)(a), (__m256d)(b));                              \
        __m256d h2 = _mm256_hadd_pd((__m256d)(c), (__m256d)(d));                              \
        _mm256_storeu_pd((s), _mm256_add_pd(_mm256_permute2f128_pd(h1, h2, 0x20),             \
                                            _mm256_permute2f128_pd(h1, h2, 0x31)));           \
    } while (0)
#else
#define KINN_HSUM4(a, b, c, d, s)                                                             \
    do {                                                                                      \
        __m256 h = _mm256_hadd_ps(_mm256_hadd_ps((__m256)(a), (__m256)(b)),                   \
                                  _mm256_hadd_ps((__m256)(c), (__m256)(d)));                  \
        _mm_storeu_ps((s), _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1))); \
    } while (0)
#endif
#endif

#include "_native_kan.h"
