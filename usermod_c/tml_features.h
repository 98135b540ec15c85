/* Audio features, one frame at a time: Hann-windowed real FFT, magnitude
 * spectrum, mel filterbank, log-mel and MFCC.
 *
 * Integer only, on purpose. Most boards this runs on (Cortex-M0/M3, RP2040)
 * have no FPU, where soft-float FFTs cost several times more than int32
 * arithmetic; and an integer definition is reproducible bit for bit, so the
 * NumPy mirror (converter/tinyml_converter/features.py) that makes training
 * features on the PC gives exactly the numbers the board computes. Even the
 * tables (window, twiddles, mel filter edges and weights, DCT) are derived
 * with integer arithmetic from three small constant tables, so nothing
 * depends on a libm.
 *
 * Definitions (N = fft_size, a power of two in [16, 1024]; M = N/2):
 * - sin/cos: a 1024-point quarter-wave Q15 table (amplitude 32767) with
 *   linear interpolation; phases are fractions of a turn scaled by 2^32.
 * - window: periodic Hann, w[n] = (32767 - cos(n/N)) >> 1 in Q15;
 *   xw[n] = (x[n] * w[n] + 16384) >> 15.
 * - FFT: the N real samples packed as M complex values, radix-2
 *   decimation in time without scaling, then the usual split into N/2+1
 *   bins. Every product by a Q15 twiddle is floor(a * c / 2^15). Bins are
 *   in input units (a full-scale sine gives about 2^14 * N/2 at its bin);
 *   int32 never overflows: |xw| <= 2^15, log2(M) <= 9 stages add at most
 *   9.5 bits and the split one more, so every value stays below 2^27.
 * - magnitude: floor(sqrt(re^2 + im^2)), uint32.
 * - mel: HTK mel scale (mel = 1127 ln(1 + f/700)); n_mels + 2 edges evenly
 *   spaced in mel between fmin and fmax; triangular filters (peak 1, no
 *   area normalisation) on the power re^2 + im^2, energies in uint64.
 *   log2 and exp2 are fixed point (Q16, 64-segment linear interpolation,
 *   error < 1e-4); edges are in Q8 FFT bins, weights in Q15.
 * - log-mel: ln(max(energy, 1)) in Q16, so values are >= 0.
 * - MFCC: unnormalised DCT-II of the log-mel vector,
 *   c[i] = (sum_b logmel[b] * cos(pi * i * (2b + 1) / (2 n_mels))) >> 15,
 *   Q16 like the log-mel (scipy's dct(type=2) is twice this).
 */
#ifndef TML_FEATURES_H
#define TML_FEATURES_H

#include <stdint.h>
#include "tml_status.h"

#define TML_AUDIO_MIN_FFT (16)
#define TML_AUDIO_MAX_FFT (1024)
/* mel_band entries are uint8 and 255 marks a bin outside every filter. */
#define TML_AUDIO_MAX_MELS (254)
#define TML_AUDIO_MAX_RATE (64000)
#define TML_AUDIO_NO_BAND (255)

typedef struct {
    uint32_t fft_size;
    uint32_t log2_fft;
    uint32_t sample_rate;
    uint32_t n_mels;      /* 0: spectrum only */
    uint32_t n_mfcc;      /* <= n_mels */
    /* Caller-owned, fft_size / 2 + 1 entries each, filled by tml_audio_init:
     * bin k lies on the rising slope of band mel_band[k] with weight
     * mel_weight[k] (Q15) and on the falling slope of band mel_band[k] - 1
     * with weight 32768 - mel_weight[k]. */
    uint8_t *mel_band;
    uint16_t *mel_weight;
} tml_audio_t;

/* Checks the parameters and fills the mel tables. fmax == 0 means
 * sample_rate / 2. TML_ERR_BAD_PARAM when fft_size is not a power of two in
 * range, sample_rate is 0 or above TML_AUDIO_MAX_RATE, fmin >= fmax,
 * fmax > sample_rate / 2, n_mels > TML_AUDIO_MAX_MELS or n_mfcc > n_mels. */
tml_status_t tml_audio_init(tml_audio_t *a, uint32_t fft_size, uint32_t sample_rate,
    uint32_t n_mels, uint32_t fmin, uint32_t fmax, uint32_t n_mfcc,
    uint8_t *mel_band, uint16_t *mel_weight);

/* frame: fft_size int16 samples. spec: fft_size + 2 int32 (re, im of bins
 * 0 .. fft_size/2), also the FFT's working memory. */
void tml_audio_rfft(const tml_audio_t *a, const int16_t *frame, int32_t *spec);

/* mag: fft_size / 2 + 1 values. */
void tml_audio_magnitude(const tml_audio_t *a, const int32_t *spec, uint32_t *mag);

/* energy: n_mels values. */
void tml_audio_mel(const tml_audio_t *a, const int32_t *spec, uint64_t *energy);

/* out[i] = ln(max(energy[i], 1)) in Q16; out may not alias energy. */
void tml_audio_log(const uint64_t *energy, uint32_t count, int32_t *out);

/* mfcc: n_mfcc values from n_mels log-mel values. */
void tml_audio_dct(const tml_audio_t *a, const int32_t *log_mel, int32_t *mfcc);

/* The building blocks, exposed for the tests and for other front ends. */
int32_t tml_sin_q15(uint32_t phase);
uint32_t tml_phase(uint32_t num, uint32_t den);
uint32_t tml_log2_q16(uint64_t v);

#endif /* TML_FEATURES_H */
