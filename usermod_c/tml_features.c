/* Audio features in integer arithmetic; the definitions, and why integer,
 * are in tml_features.h. converter/tinyml_converter/features.py mirrors every
 * step in NumPy and tests/host/test_features.py holds the two equal. */
#include <stddef.h>

#include "tml_features.h"

/* round(32767 * sin(2 pi i / 1024)), i = 0 .. 256. */
static const int16_t tml_sin_quarter[257] = {
    0, 201, 402, 603, 804, 1005, 1206, 1407, 1608, 1809, 2009, 2210,
    2410, 2611, 2811, 3012, 3212, 3412, 3612, 3811, 4011, 4210, 4410, 4609,
    4808, 5007, 5205, 5404, 5602, 5800, 5998, 6195, 6393, 6590, 6786, 6983,
    7179, 7375, 7571, 7767, 7962, 8157, 8351, 8545, 8739, 8933, 9126, 9319,
    9512, 9704, 9896, 10087, 10278, 10469, 10659, 10849, 11039, 11228, 11417, 11605,
    11793, 11980, 12167, 12353, 12539, 12725, 12910, 13094, 13279, 13462, 13645, 13828,
    14010, 14191, 14372, 14553, 14732, 14912, 15090, 15269, 15446, 15623, 15800, 15976,
    16151, 16325, 16499, 16673, 16846, 17018, 17189, 17360, 17530, 17700, 17869, 18037,
    18204, 18371, 18537, 18703, 18868, 19032, 19195, 19357, 19519, 19680, 19841, 20000,
    20159, 20317, 20475, 20631, 20787, 20942, 21096, 21250, 21403, 21554, 21705, 21856,
    22005, 22154, 22301, 22448, 22594, 22739, 22884, 23027, 23170, 23311, 23452, 23592,
    23731, 23870, 24007, 24143, 24279, 24413, 24547, 24680, 24811, 24942, 25072, 25201,
    25329, 25456, 25582, 25708, 25832, 25955, 26077, 26198, 26319, 26438, 26556, 26674,
    26790, 26905, 27019, 27133, 27245, 27356, 27466, 27575, 27683, 27790, 27896, 28001,
    28105, 28208, 28310, 28411, 28510, 28609, 28706, 28803, 28898, 28992, 29085, 29177,
    29268, 29358, 29447, 29534, 29621, 29706, 29791, 29874, 29956, 30037, 30117, 30195,
    30273, 30349, 30424, 30498, 30571, 30643, 30714, 30783, 30852, 30919, 30985, 31050,
    31113, 31176, 31237, 31297, 31356, 31414, 31470, 31526, 31580, 31633, 31685, 31736,
    31785, 31833, 31880, 31926, 31971, 32014, 32057, 32098, 32137, 32176, 32213, 32250,
    32285, 32318, 32351, 32382, 32412, 32441, 32469, 32495, 32521, 32545, 32567, 32589,
    32609, 32628, 32646, 32663, 32678, 32692, 32705, 32717, 32728, 32737, 32745, 32752,
    32757, 32761, 32765, 32766, 32767,
};

/* round(65536 * log2(1 + i / 64)), i = 0 .. 64. */
static const uint32_t tml_log2_frac[65] = {
    0, 1466, 2909, 4331, 5732, 7112, 8473, 9814, 11136, 12440,
    13727, 14996, 16248, 17484, 18704, 19909, 21098, 22272, 23433, 24579,
    25711, 26830, 27936, 29029, 30109, 31178, 32234, 33279, 34312, 35334,
    36346, 37346, 38336, 39316, 40286, 41246, 42196, 43137, 44068, 44990,
    45904, 46809, 47705, 48593, 49472, 50344, 51207, 52063, 52911, 53751,
    54584, 55410, 56229, 57040, 57845, 58643, 59434, 60219, 60997, 61769,
    62534, 63294, 64047, 64794, 65536,
};

/* round(2^24 * 2^(i / 64)), i = 0 .. 64. */
static const uint32_t tml_exp2_frac[65] = {
    16777216u, 16959908u, 17144589u, 17331282u, 17520007u, 17710787u,
    17903645u, 18098603u, 18295684u, 18494911u, 18696307u, 18899897u,
    19105703u, 19313750u, 19524063u, 19736666u, 19951585u, 20168843u,
    20388467u, 20610483u, 20834917u, 21061794u, 21291142u, 21522987u,
    21757357u, 21994279u, 22233781u, 22475891u, 22720638u, 22968049u,
    23218155u, 23470984u, 23726566u, 23984932u, 24246111u, 24510133u,
    24777031u, 25046835u, 25319578u, 25595290u, 25874004u, 26155754u,
    26440571u, 26728490u, 27019544u, 27313768u, 27611195u, 27911861u,
    28215802u, 28523052u, 28833647u, 29147625u, 29465022u, 29785875u,
    30110222u, 30438101u, 30769550u, 31104608u, 31443315u, 31785710u,
    32131834u, 32481727u, 32835430u, 33192984u, 33554432u,
};

/* ln(2) in Q16. */
#define TML_LN2_Q16 (45426u)
/* The HTK mel scale's break frequency, Hz. */
#define TML_MEL_BREAK_HZ (700u)

int32_t tml_sin_q15(uint32_t phase) {
    uint32_t quadrant = phase >> 30;
    uint32_t p = phase & 0x3FFFFFFFu;
    if (quadrant & 1u) {
        p = 0x40000000u - p;
    }
    uint32_t i = p >> 22;
    int32_t v = tml_sin_quarter[i];
    /* i == 256 only at exactly a quarter turn, where there is nothing to interpolate. */
    if (i < 256u) {
        uint32_t frac = (p >> 6) & 0xFFFFu;
        uint32_t rise = (uint32_t)(tml_sin_quarter[i + 1] - tml_sin_quarter[i]);
        v += (int32_t)((rise * frac) >> 16);
    }
    return (quadrant & 2u) ? -v : v;
}

static int32_t tml_cos_q15(uint32_t phase) {
    return tml_sin_q15(phase + 0x40000000u);
}

/* floor(2^32 * (num mod den) / den) in two 32-bit divisions (den < 2^16),
 * because 64-bit division is a libgcc call some of our links lack. */
uint32_t tml_phase(uint32_t num, uint32_t den) {
    uint32_t r = num % den;
    uint32_t hi = (r << 16) / den;
    uint32_t r1 = (r << 16) % den;
    uint32_t lo = (r1 << 16) / den;
    return (hi << 16) | lo;
}

uint32_t tml_log2_q16(uint64_t v) {
    uint32_t e = 0;
    while (e < 63u && (v >> (e + 1u)) != 0u) {
        e++;
    }
    uint32_t y = e >= 31u ? (uint32_t)(v >> (e - 31u)) : (uint32_t)v << (31u - e);
    uint32_t m = y - 0x80000000u;
    uint32_t i = m >> 25;
    uint32_t frac = (m >> 9) & 0xFFFFu;
    return (e << 16) + tml_log2_frac[i] + (((tml_log2_frac[i + 1] - tml_log2_frac[i]) * frac) >> 16);
}

/* 2^(u / 65536) in Q8, for u < 15 << 16 (the mel edges stay below 2^15 Hz). */
static uint32_t tml_exp2_q8(uint32_t u) {
    uint32_t e = u >> 16;
    uint32_t i = (u >> 10) & 63u;
    uint32_t frac = u & 0x3FFu;
    uint32_t mant = tml_exp2_frac[i] + (((tml_exp2_frac[i + 1] - tml_exp2_frac[i]) * frac) >> 10);
    return mant >> (16u - e);
}

/* floor(a * c / 2^15) for |a| < 2^27, |c| <= 2^15, without a 64-bit product:
 * a = hi * 2^15 + lo with 0 <= lo < 2^15, and hi * c * 2^15 is a multiple of
 * 2^15, so only lo * c needs the floor. */
static int32_t tml_mul_q15(int32_t a, int32_t c) {
    int32_t hi = a >> 15;
    int32_t lo = a & 0x7FFF;
    return hi * c + ((lo * c) >> 15);
}

/* floor(p * w / 2^15) for w <= 2^15 and p < 2^52, the same way. */
static uint64_t tml_mul_w(uint64_t p, uint32_t w) {
    return (p >> 15) * w + ((((uint32_t)p & 0x7FFFu) * w) >> 15);
}

tml_status_t tml_audio_init(tml_audio_t *a, uint32_t fft_size, uint32_t sample_rate,
    uint32_t n_mels, uint32_t fmin, uint32_t fmax, uint32_t n_mfcc,
    uint8_t *mel_band, uint16_t *mel_weight) {
    uint32_t log2_fft = 0;
    while ((1u << log2_fft) < fft_size && log2_fft < 31u) {
        log2_fft++;
    }
    if (fft_size < TML_AUDIO_MIN_FFT || fft_size > TML_AUDIO_MAX_FFT || (1u << log2_fft) != fft_size) {
        return TML_ERR_BAD_PARAM;
    }
    if (fmax == 0u) {
        fmax = sample_rate / 2u;
    }
    if (sample_rate == 0u || sample_rate > TML_AUDIO_MAX_RATE || n_mels > TML_AUDIO_MAX_MELS ||
        n_mfcc > n_mels || fmin >= fmax || fmax > sample_rate / 2u) {
        return TML_ERR_BAD_PARAM;
    }
    if (n_mels > 0u && (mel_band == NULL || mel_weight == NULL)) {
        return TML_ERR_BAD_PARAM;
    }
    a->fft_size = fft_size;
    a->log2_fft = log2_fft;
    a->sample_rate = sample_rate;
    a->n_mels = n_mels;
    a->n_mfcc = n_mfcc;
    a->mel_band = mel_band;
    a->mel_weight = mel_weight;
    if (n_mels == 0u) {
        return TML_OK;
    }

    /* Edges evenly spaced in log2(700 + f), an affine function of the mel. */
    uint32_t u_lo = tml_log2_q16(TML_MEL_BREAK_HZ + fmin);
    uint32_t u_hi = tml_log2_q16(TML_MEL_BREAK_HZ + fmax);
    uint32_t bins = fft_size / 2u + 1u;
    uint32_t edge = 0;      /* edge index j: bins in [edge_j, edge_j+1) */
    uint32_t edge_lo = 0;   /* edge_j in Q8 bins */
    uint32_t edge_hi = 0;   /* edge_j+1 in Q8 bins */
    for (uint32_t j = 0; j <= n_mels + 1u; j++) {
        uint32_t u = u_lo + ((u_hi - u_lo) * j) / (n_mels + 1u);
        uint32_t f_q8 = tml_exp2_q8(u);
        f_q8 = f_q8 > (TML_MEL_BREAK_HZ << 8) ? f_q8 - (TML_MEL_BREAK_HZ << 8) : 0u;
        /* f_q8 * fft_size / sample_rate, split so nothing exceeds 32 bits. */
        uint32_t e_q8 = (f_q8 / sample_rate) * fft_size + ((f_q8 % sample_rate) * fft_size) / sample_rate;
        if (j == 0u) {
            edge_hi = e_q8;
            for (uint32_t k = 0; k < bins; k++) {
                mel_band[k] = TML_AUDIO_NO_BAND;
                mel_weight[k] = 0;
            }
            continue;
        }
        edge = j - 1u;
        edge_lo = edge_hi;
        edge_hi = e_q8;
        for (uint32_t k = 0; k < bins; k++) {
            uint32_t pos = k << 8;
            if (pos >= edge_lo && pos < edge_hi) {
                mel_band[k] = (uint8_t)edge;
                /* pos - edge_lo < edge_hi <= 2^17, so the shift fits 32 bits. */
                mel_weight[k] = (uint16_t)(((pos - edge_lo) << 15) / (edge_hi - edge_lo));
            }
        }
    }
    return TML_OK;
}

static void tml_fft_butterflies(int32_t *z, uint32_t log2_m) {
    uint32_t m = 1u << log2_m;
    for (uint32_t i = 0, j = 0; i < m; i++) {
        if (i < j) {
            int32_t re = z[2 * i];
            int32_t im = z[2 * i + 1];
            z[2 * i] = z[2 * j];
            z[2 * i + 1] = z[2 * j + 1];
            z[2 * j] = re;
            z[2 * j + 1] = im;
        }
        uint32_t bit = m >> 1;
        while (bit != 0u && (j & bit) != 0u) {
            j ^= bit;
            bit >>= 1;
        }
        j |= bit;
    }
    for (uint32_t s = 1; s <= log2_m; s++) {
        uint32_t half = 1u << (s - 1u);
        for (uint32_t k = 0; k < half; k++) {
            /* W = exp(-2 pi i k / 2^s) = c - i sn */
            uint32_t phase = k << (32u - s);
            int32_t c = tml_cos_q15(phase);
            int32_t sn = tml_sin_q15(phase);
            for (uint32_t g = k; g < m; g += 2u * half) {
                int32_t *x = &z[2 * g];
                int32_t *y = &z[2 * (g + half)];
                int32_t t_re = tml_mul_q15(y[0], c) + tml_mul_q15(y[1], sn);
                int32_t t_im = tml_mul_q15(y[1], c) - tml_mul_q15(y[0], sn);
                y[0] = x[0] - t_re;
                y[1] = x[1] - t_im;
                x[0] += t_re;
                x[1] += t_im;
            }
        }
    }
}

/* Bin k of the N-point real FFT from a = Z[k] and b = Z[M - k] of the
 * packed M-point FFT: X = (E + W^k O) / 2, E = a + conj(b), O = -i (a - conj(b)). */
static void tml_split_bin(const tml_audio_t *a, uint32_t k, const int32_t *za, const int32_t *zb, int32_t *out) {
    int32_t e_re = za[0] + zb[0];
    int32_t e_im = za[1] - zb[1];
    int32_t o_re = za[1] + zb[1];
    int32_t o_im = zb[0] - za[0];
    uint32_t phase = k << (32u - a->log2_fft);
    int32_t c = tml_cos_q15(phase);
    int32_t sn = tml_sin_q15(phase);
    out[0] = (e_re + tml_mul_q15(o_re, c) + tml_mul_q15(o_im, sn)) >> 1;
    out[1] = (e_im + tml_mul_q15(o_im, c) - tml_mul_q15(o_re, sn)) >> 1;
}

void tml_audio_rfft(const tml_audio_t *a, const int16_t *frame, int32_t *spec) {
    uint32_t n = a->fft_size;
    uint32_t m = n / 2u;
    for (uint32_t i = 0; i < n; i++) {
        int32_t w = (32767 - tml_cos_q15(i << (32u - a->log2_fft))) >> 1;
        spec[i] = ((int32_t)frame[i] * w + 16384) >> 15;
    }
    tml_fft_butterflies(spec, a->log2_fft - 1u);
    /* Bins k and M - k need the same two values of Z, so they are split in
     * pairs, in place; bin M lands in the two extra words. */
    for (uint32_t k = 0; k <= m / 2u; k++) {
        uint32_t kb = (m - k) % m;
        int32_t za[2] = { spec[2 * k], spec[2 * k + 1] };
        int32_t zb[2] = { spec[2 * kb], spec[2 * kb + 1] };
        tml_split_bin(a, k, za, zb, &spec[2 * k]);
        if (m - k != k) {
            tml_split_bin(a, m - k, zb, za, &spec[2 * (m - k)]);
        }
    }
}

static uint64_t tml_power(const int32_t *bin) {
    int64_t re = bin[0];
    int64_t im = bin[1];
    return (uint64_t)(re * re) + (uint64_t)(im * im);
}

/* floor(sqrt(v)), bit by bit: no division, no floats. */
static uint32_t tml_isqrt64(uint64_t v) {
    uint64_t res = 0;
    uint64_t bit = (uint64_t)1 << 62;
    while (bit > v) {
        bit >>= 2;
    }
    while (bit != 0u) {
        if (v >= res + bit) {
            v -= res + bit;
            res = (res >> 1) + bit;
        } else {
            res >>= 1;
        }
        bit >>= 2;
    }
    return (uint32_t)res;
}

void tml_audio_magnitude(const tml_audio_t *a, const int32_t *spec, uint32_t *mag) {
    uint32_t bins = a->fft_size / 2u + 1u;
    for (uint32_t k = 0; k < bins; k++) {
        mag[k] = tml_isqrt64(tml_power(&spec[2 * k]));
    }
}

void tml_audio_mel(const tml_audio_t *a, const int32_t *spec, uint64_t *energy) {
    uint32_t bins = a->fft_size / 2u + 1u;
    for (uint32_t b = 0; b < a->n_mels; b++) {
        energy[b] = 0;
    }
    /* Power < 2^52 and each band sums at most 2^9 bins: no overflow. */
    for (uint32_t k = 0; k < bins; k++) {
        uint32_t band = a->mel_band[k];
        if (band == TML_AUDIO_NO_BAND) {
            continue;
        }
        uint64_t p = tml_power(&spec[2 * k]);
        uint32_t w = a->mel_weight[k];
        if (band < a->n_mels) {
            energy[band] += tml_mul_w(p, w);
        }
        if (band > 0u) {
            energy[band - 1u] += tml_mul_w(p, 32768u - w);
        }
    }
}

void tml_audio_log(const uint64_t *energy, uint32_t count, int32_t *out) {
    for (uint32_t i = 0; i < count; i++) {
        uint32_t l2 = tml_log2_q16(energy[i] > 0u ? energy[i] : 1u);
        out[i] = (int32_t)((l2 >> 16) * TML_LN2_Q16 + (((l2 & 0xFFFFu) * TML_LN2_Q16) >> 16));
    }
}

void tml_audio_dct(const tml_audio_t *a, const int32_t *log_mel, int32_t *mfcc) {
    uint32_t n = a->n_mels;
    for (uint32_t i = 0; i < a->n_mfcc; i++) {
        int64_t acc = 0;
        for (uint32_t b = 0; b < n; b++) {
            acc += (int64_t)log_mel[b] * tml_cos_q15(tml_phase(i * (2u * b + 1u), 4u * n));
        }
        mfcc[i] = (int32_t)(acc >> 15);
    }
}
