/* Internal to the op files (op_*.c), not part of the ops interface (ops.h):
 * float vectors of VEC_LANES lanes.
 * GCC/Clang vector extensions, one register wide: 16 lanes with AVX-512, 8
 * with AVX, else 4 (SSE, NEON, or plain scalar code elsewhere). The op
 * loops are written with these because -O2 does not vectorise loops of
 * unknown length, nor float reductions. Every sum runs in 16 lanes whatever
 * VEC_LANES (VecSum below: per lane, then the lanes as a tree), so its order,
 * and with it every result, is the same with AVX-512, AVX2 or SSE: a build
 * for x86-64-v3 computes what a native one on an AVX-512 machine does
 * (docs/testing.md, "Numeric reproducibility"). */
#ifndef MOIL_OP_INTERNAL_H
#define MOIL_OP_INTERNAL_H

#include <math.h>
#include <stddef.h>
#include <string.h>

#if defined(__AVX512F__)
#include <immintrin.h>
#define VEC_LANES 16
#elif defined(__AVX__)
#include <immintrin.h>
#define VEC_LANES 8
#else
#define VEC_LANES 4
#endif
typedef float vecf __attribute__((vector_size(4 * VEC_LANES)));
typedef int veci __attribute__((vector_size(4 * VEC_LANES))); /* lane masks: -1 true, 0 false */

static inline vecf vec_set(float x) {
    vecf v;
    for (int i = 0; i < VEC_LANES; i++) v[i] = x;
    return v;
}

static inline vecf vec_load(const float *p) {
    vecf v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void vec_store(float *p, vecf v) { memcpy(p, &v, sizeof v); }

/* The first min(n, VEC_LANES) floats at p; the remaining lanes get `fill`
 * (AVX-512: one masked load, which reads nothing past p + n). */
static inline vecf vec_load_n(const float *p, size_t n, float fill) {
    if (n >= VEC_LANES) return vec_load(p);
#ifdef __AVX512F__
    return (vecf)_mm512_mask_loadu_ps(_mm512_set1_ps(fill), (__mmask16)((1u << n) - 1), p);
#else
    vecf v = vec_set(fill);
    for (size_t i = 0; i < n; i++) v[i] = p[i];
    return v;
#endif
}

static inline void vec_store_n(float *p, vecf v, size_t n) {
    if (n >= VEC_LANES) {
        vec_store(p, v);
        return;
    }
#ifdef __AVX512F__
    _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1), (__m512)v);
#else
    for (size_t i = 0; i < n; i++) p[i] = v[i];
#endif
}

/* m ? a : b per lane */
static inline vecf vec_select(veci m, vecf a, vecf b) { return (vecf)((m & (veci)a) | (~m & (veci)b)); }

/* Lane-wise max that keeps a NaN of a. */
static inline vecf vec_max(vecf a, vecf b) { return vec_select(b > a, b, a); }

/* Lane-wise square root (the instruction: sqrtf would check errno per lane). */
static inline vecf vec_sqrt(vecf v) {
#if defined(__AVX512F__)
    return (vecf)_mm512_sqrt_ps((__m512)v);
#elif defined(__AVX__)
    return (vecf)_mm256_sqrt_ps((__m256)v);
#else
    for (int i = 0; i < VEC_LANES; i++) v[i] = sqrtf(v[i]);
    return v;
#endif
}

/* A float sum in SUM_LANES interleaved partial sums: lane i takes the
 * elements i, i + 16, i + 32, ... of the row, held as SUM_VECS vectors of
 * the build's width; the lanes are then added as a tree (8 apart, 4, 2,
 * 1). The order depends on the row's length alone, not on VEC_LANES. */
#define SUM_LANES 16
#define SUM_VECS (SUM_LANES / VEC_LANES)
typedef struct {
    vecf part[SUM_VECS]; /* lane i of the sum: part[i / VEC_LANES][i % VEC_LANES] */
} VecSum;

static inline VecSum vsum_zero(void) {
    VecSum s;
    for (int k = 0; k < SUM_VECS; k++) s.part[k] = vec_set(0.0f);
    return s;
}

/* Add the VEC_LANES elements at offset j of the row (j a multiple of
 * VEC_LANES; lanes past the row's end hold 0). */
static inline void vsum_add(VecSum *s, size_t j, vecf x) { s->part[(j / VEC_LANES) % SUM_VECS] += x; }

static inline float vsum_total(const VecSum *s) {
    float lane[SUM_LANES];
    memcpy(lane, s->part, sizeof lane);
    for (int w = SUM_LANES / 2; w >= 1; w /= 2)
        for (int i = 0; i < w; i++) lane[i] += lane[i + w];
    return lane[0];
}

static inline float vec_hmax(vecf v) {
    float m = v[0];
    for (int i = 1; i < VEC_LANES; i++) m = v[i] > m ? v[i] : m;
    return m;
}

/* exp(x), within 2 ulp of expf for x in [-87.33, 88.37]; 0 below (no
 * subnormals), +inf above; NaN stays NaN. Cephes' expf: x = n ln2 + r with
 * |r| <= ln2 / 2, a degree-6 polynomial for exp(r), 2^n put in the exponent
 * bits. */
static inline vecf vec_exp(vecf x) {
    const float hi = 88.3762626647949f, lo = -87.3365447505531f, magic = 0x1.8p23f; /* 1.5 * 2^23 */
    veci over = x > hi, under = x < lo;
    vecf xc = vec_select(over, vec_set(hi), x);
    xc = vec_select(under, vec_set(lo), xc);
    vecf t = xc * 1.44269504088896341f + magic; /* round(x / ln2) in the low mantissa bits */
    vecf n = t - magic;
    vecf r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    vecf p = 1.9875691500e-4f * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    vecf y = p * (r * r) + r + 1.0f;
    veci pow2 = ((veci)t - 0x4B400000 + 127) << 23; /* 2^n as float bits */
    y = y * (vecf)pow2;
    y = vec_select(over, vec_set(__builtin_inff()), y);
    return vec_select(under, vec_set(0.0f), y);
}

/* erf(u) given e = exp(-u*u) (vec_exp(-(u*u))), max abs error 1.3e-7 (tested
 * against erf() in double). |u| < 1: u P(u^2), P a degree-5 minimax fit;
 * above: 1 - e R(|u|), R a rational minimax fit of erfc(a) exp(a^2) on
 * [1, 3.92] (erf rounds to 1 in float beyond). */
static inline vecf vec_erf(vecf u, vecf e) {
    veci sbit = (veci)u & ~0x7fffffff;
    vecf a = (vecf)((veci)u & 0x7fffffff);
    vecf t = a * a;
    vecf s = -5.631448205e-04f * t + 4.917558132e-03f;
    s = s * t - 2.671131730e-02f;
    s = s * t + 1.128018033e-01f;
    s = s * t - 3.761232621e-01f;
    s = s * t + 1.128379122e+00f;
    vecf ac = vec_select(a > 3.92f, vec_set(3.92f), a);
    vecf num = -6.770209036e-05f * ac + 2.476286866e-01f;
    num = num * ac + 7.538100693e-01f;
    num = num * ac + 1.001494651e+00f;
    vecf den = 4.365521756e-01f * ac + 1.356520604e+00f;
    den = den * ac + 1.891077347e+00f;
    den = den * ac + 1.0f;
    vecf r = vec_select(a < 1.0f, a * s, 1.0f - e * (num / den));
    return (vecf)((veci)r | sbit);
}

#endif
