/* TREE_ENSEMBLE, LINEAR, GAUSSIAN_NB, KNN and SVM_RBF: scikit-learn
 * estimators on float32 features (record layouts and rules in tml_blob.h,
 * converter in converter/tinyml_converter/classic.py).
 *
 * The oracle is scikit-learn, which sums in float64. Tree walks are exact:
 * features are compared as integer keys against thresholds the converter
 * rounded to the float32 grid, so every row reaches the leaf sklearn's
 * `float32(x) <= threshold` reaches. Sums and output functions are double
 * (soft-float on cores without a double FPU) in a fixed order: trees in
 * blob order, features, vectors and points in index order. exp() is our
 * own (the core links no libm): range reduction by ln 2 and a degree-13
 * Taylor polynomial on |r| <= 0.35, within about one ulp of double, far
 * below the float32 the outputs keep.
 *
 * Nothing here trusts the blob's arrays at run time: they may change after
 * load (tml_model.h), so every node, root, value, class and class-start
 * index is bounded where it is read, and a walk that strays ends without a
 * leaf (that tree adds nothing). */

#include "tml_blob.h"
#include "tml_check.h"
#include "tml_kernels.h"

#define TML_LN2_HI (6.93147180369123816490e-01) /* ln 2 with its low bits zero: k * LN2_HI is exact */
#define TML_LN2_LO (1.90821492927058770002e-10)
#define TML_LOG2E (1.44269504088896338700e+00)
#define TML_LN2 (6.93147180559945309417e-01)

/* Bit patterns through unions: GCC and clang make them register moves,
 * where a memcpy may stay a library call on Cortex-M0 at -Os. */
typedef union {
    double d;
    uint64_t u;
    uint32_t w[2];
} tml_f64_bits_t;

typedef union {
    float f;
    uint32_t u;
} tml_f32_bits_t;

/* +infinity without <math.h> (a freestanding build, such as the Xtensa
 * check's, has none). */
static double tml_infinity(void) {
    tml_f64_bits_t b;
    b.u = 0x7FF0000000000000ull;
    return b.d;
}

static double tml_exp(double x) {
    if (x != x) {
        return x;
    }
    if (x > 709.78) {
        return tml_infinity();
    }
    if (x < -745.2) {
        return 0.0;
    }
    const double kd = x * TML_LOG2E;
    const int32_t k = (int32_t)(kd + (kd >= 0.0 ? 0.5 : -0.5));
    const double r = (x - (double)k * TML_LN2_HI) - (double)k * TML_LN2_LO;
    /* 1/n! for n = 13 down to 1, Horner from the top. */
    static const double inv_fact[13] = {
        1.6059043836821613e-10, 2.0876756987868099e-09, 2.5052108385441720e-08,
        2.7557319223985893e-07, 2.7557319223985888e-06, 2.4801587301587302e-05,
        1.9841269841269841e-04, 1.3888888888888889e-03, 8.3333333333333332e-03,
        4.1666666666666664e-02, 1.6666666666666666e-01, 5.0000000000000000e-01,
        1.0,
    };
    double p = inv_fact[0];
    for (int i = 1; i < 13; i++) {
        p = p * r + inv_fact[i];
    }
    p = p * r + 1.0;
    /* 2^k in two steps keeps every factor a normal double (-1075 <= k <= 1024). */
    int32_t k1 = k < -1000 ? k + 100 : k > 1000 ? k - 100 : k;
    tml_f64_bits_t scale;
    scale.u = (uint64_t)(uint32_t)(k1 + 1023) << 52;
    p *= scale.d;
    if (k1 != k) {
        scale.u = (uint64_t)(uint32_t)(k - k1 + 1023) << 52;
        p *= scale.d;
    }
    return p;
}

/* Element i of a float64 or float32 constant, 4-byte aligned in the blob
 * (a double may not be 8-aligned there: two word loads). */
static double tml_f64_at(const uint8_t *p, uint32_t i) {
    const uint32_t *w = (const uint32_t *)(const void *)(p + 8u * i);
    tml_f64_bits_t v;
    v.w[0] = w[0];
    v.w[1] = w[1];
    return v.d;
}

static double tml_f32_at(const uint8_t *p, uint32_t i) {
    return (double)((const float *)(const void *)p)[i];
}

static double tml_expit(double x) {
    return 1.0 / (1.0 + tml_exp(-x));
}

/* The next float32 up from a finite v. */
static float tml_next_up(float v) {
    tml_f32_bits_t b;
    b.f = v;
    if (b.u == 0x80000000u) {
        b.u = 1u;
    } else if ((b.u & 0x80000000u) != 0) {
        b.u -= 1u;
    } else if (b.u < 0x7F800000u) {
        b.u += 1u;
    }
    return b.f;
}

/* raw (in acc, room for max(raw, outputs) doubles) -> outputs; see
 * tml_blob.h for each post. */
static void tml_classic_finish(uint8_t post, double *acc, uint16_t raw, uint16_t outputs, double count,
    const uint8_t *post_params, float *out) {
    double sum = 0.0;
    switch (post) {
        case TML_CLASSIC_POST_AVERAGE:
            for (uint16_t o = 0; o < raw; o++) {
                acc[o] = acc[o] / count;
            }
            break;
        case TML_CLASSIC_POST_LOGISTIC:
            acc[1] = tml_expit(acc[0]);
            acc[0] = 1.0 - acc[1];
            break;
        case TML_CLASSIC_POST_SIGN2:
            acc[1] = acc[0];
            acc[0] = -acc[0];
            break;
        case TML_CLASSIC_POST_SOFTMAX: {
            double top = acc[0];
            for (uint16_t o = 1; o < raw; o++) {
                top = acc[o] > top ? acc[o] : top;
            }
            for (uint16_t o = 0; o < raw; o++) {
                acc[o] = tml_exp(acc[o] - top);
                sum += acc[o];
            }
            for (uint16_t o = 0; o < raw; o++) {
                acc[o] = acc[o] / sum;
            }
            break;
        }
        case TML_CLASSIC_POST_ISOLATION: {
            const double a = tml_f64_at(post_params, 0);
            const double b = tml_f64_at(post_params, 1);
            for (uint16_t o = 0; o < raw; o++) {
                acc[o] = -tml_exp(-(acc[o] / a) * TML_LN2) - b;
            }
            break;
        }
        default:
            break;
    }
    uint16_t best = 0;
    uint16_t first = 0;
    for (uint16_t o = 0; o < outputs; o++) {
        out[o] = (float)acc[o];
        best = acc[o] > acc[best] ? o : best;
        first = out[o] > out[first] ? o : first;
    }
    if (first != best && out[best] == out[first]) {
        out[best] = tml_next_up(out[best]);
    }
}

uint32_t tml_classic_scratch_size(uint16_t raw) {
    /* LOGISTIC and SIGN2 widen one raw value to two outputs in place. */
    return 8u * (raw < 2 ? 2u : raw);
}

static tml_status_t tml_classic_check_post(uint8_t post, uint16_t raw, uint16_t outputs, const char **detail) {
    if (post >= TML_CLASSIC_POST_COUNT_) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "unknown post-processing");
    }
    const int two_from_one = post == TML_CLASSIC_POST_LOGISTIC || post == TML_CLASSIC_POST_SIGN2;
    if (raw < 1 || (two_from_one ? (raw != 1 || outputs != 2) : raw != outputs)) {
        return tml_check_fail(detail, TML_ERR_BAD_SHAPE,
            "output count does not match the raw values and post-processing");
    }
    return TML_OK;
}

/* ---- TREE_ENSEMBLE ------------------------------------------------------- */

/* One node, either width. */
typedef struct {
    int32_t threshold;
    uint32_t feature;   /* TML_TREE_LEAF32 for a leaf */
    uint32_t right;
    uint8_t nan_left;
} tml_node_t;

static void tml_node_at(const tml_tree_params_t *p, uint32_t i, tml_node_t *n) {
    if ((p->flags & TML_TREE_WIDE) != 0) {
        const tml_tree_node32_t *r = (const tml_tree_node32_t *)(const void *)p->nodes + i;
        n->threshold = r->threshold;
        n->right = r->right;
        n->nan_left = (r->feature & TML_TREE_NAN_LEFT32) != 0 && r->feature != TML_TREE_LEAF32;
        n->feature = r->feature == TML_TREE_LEAF32 ? TML_TREE_LEAF32 : r->feature & ~TML_TREE_NAN_LEFT32;
    } else {
        const tml_tree_node16_t *r = (const tml_tree_node16_t *)(const void *)p->nodes + i;
        n->threshold = r->threshold;
        n->right = r->right;
        n->nan_left = (r->feature & TML_TREE_NAN_LEFT16) != 0 && r->feature != TML_TREE_LEAF16;
        n->feature = r->feature == TML_TREE_LEAF16 ? TML_TREE_LEAF32 : (uint32_t)(r->feature & ~TML_TREE_NAN_LEFT16);
    }
}

tml_status_t tml_tree_ensemble_check(const tml_tree_params_t *p, const char **detail) {
    tml_status_t s = tml_classic_check_post(p->post, p->raw, p->outputs, detail);
    if (s != TML_OK) {
        return s;
    }
    if (p->features < 1 || p->tree_count < 1 || p->node_count < 1) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "no features, trees or nodes");
    }
    if ((p->flags & ~(TML_TREE_WIDE | TML_TREE_F64)) != 0) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "unknown tree ensemble flags");
    }
    if (p->leaf_width < 1 || p->leaf_width > p->raw || p->raw % p->leaf_width != 0) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "leaf width not a divisor of the raw values");
    }
    if (p->leaf_values < p->leaf_width) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "fewer leaf values than one leaf holds");
    }
    if ((p->post == TML_CLASSIC_POST_ISOLATION) != (p->post_params != 0)) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "post parameters missing, or given to a post without any");
    }
    for (uint32_t t = 0; t < p->tree_count; t++) {
        if (p->roots[t] >= p->node_count) {
            return tml_check_fail(detail, TML_ERR_BAD_PARAM, "tree root outside the nodes");
        }
    }
    for (uint32_t i = 0; i < p->node_count; i++) {
        tml_node_t n;
        tml_node_at(p, i, &n);
        if (n.feature == TML_TREE_LEAF32) {
            if ((uint32_t)n.threshold > p->leaf_values - p->leaf_width) {
                return tml_check_fail(detail, TML_ERR_BAD_PARAM, "leaf value index outside the leaf values");
            }
        } else if (n.feature >= p->features) {
            return tml_check_fail(detail, TML_ERR_BAD_PARAM, "node feature not below the input's features");
        } else if (n.right < 1 || i + 1u >= p->node_count || n.right > p->node_count - 1u - i) {
            return tml_check_fail(detail, TML_ERR_BAD_PARAM, "node child not forward inside the nodes");
        }
    }
    return TML_OK;
}

/* The value index of the leaf the row x reaches from node i, or TML_NONE
 * when the walk strays (a blob changed after load). */
static uint32_t tml_tree_walk(const tml_tree_params_t *p, uint32_t i, const float *x) {
    while (i < p->node_count) {
        tml_node_t n;
        tml_node_at(p, i, &n);
        if (n.feature == TML_TREE_LEAF32) {
            return (uint32_t)n.threshold;
        }
        if (n.feature >= p->features || n.right < 1) {
            return TML_NONE;
        }
        tml_f32_bits_t bits;
        bits.f = x[n.feature];
        const uint32_t b = bits.u;
        int left;
        if ((b & 0x7FFFFFFFu) > 0x7F800000u) {
            left = n.nan_left;
        } else {
            /* Keys biased by 2^31 so that they compare as unsigned. */
            const uint32_t key = (b & 0x80000000u) != 0 ? ~b : (b | 0x80000000u);
            left = key <= ((uint32_t)n.threshold ^ 0x80000000u);
        }
        i = left ? i + 1u : (n.right >= p->node_count - i ? p->node_count : i + n.right);
    }
    return TML_NONE;
}

void tml_tree_ensemble_f32(const tml_tree_params_t *p, int32_t rows, const float *in, float *out,
    void *scratch) {
    double *acc = (double *)(void *)TML_SCRATCH(scratch);
    const uint32_t groups = (uint32_t)(p->raw / p->leaf_width);
    double (*value_at)(const uint8_t *, uint32_t) = (p->flags & TML_TREE_F64) != 0 ? tml_f64_at : tml_f32_at;
    for (int32_t row = 0; row < rows; row++) {
        const float *x = in + (uint32_t)row * p->features;
        for (uint16_t o = 0; o < p->raw; o++) {
            acc[o] = p->base != 0 ? value_at(p->base, o) : 0.0;
        }
        uint32_t group = 0;
        for (uint32_t t = 0; t < p->tree_count; t++) {
            const uint32_t v = tml_tree_walk(p, p->roots[t], x);
            if (v <= p->leaf_values - p->leaf_width) {
                double *dst = acc + group * p->leaf_width;
                for (uint16_t k = 0; k < p->leaf_width; k++) {
                    dst[k] += value_at(p->leaves, v + k);
                }
            }
            group = group + 1u == groups ? 0u : group + 1u;
        }
        tml_classic_finish(p->post, acc, p->raw, p->outputs, (double)p->tree_count, p->post_params,
            out + (uint32_t)row * p->outputs);
    }
}

/* ---- LINEAR ---------------------------------------------------------------- */

tml_status_t tml_linear_check(const tml_linear_params_t *p, const char **detail) {
    if (p->post == TML_CLASSIC_POST_AVERAGE || p->post == TML_CLASSIC_POST_ISOLATION) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "post-processing not for a linear model");
    }
    if (p->features < 1) {
        return tml_check_fail(detail, TML_ERR_BAD_SHAPE, "no features");
    }
    return tml_classic_check_post(p->post, p->raw, p->outputs, detail);
}

void tml_linear_f32(const tml_linear_params_t *p, int32_t rows, const float *in, float *out, void *scratch) {
    double *acc = (double *)(void *)TML_SCRATCH(scratch);
    for (int32_t row = 0; row < rows; row++) {
        const float *x = in + (uint32_t)row * p->features;
        const uint8_t *w = p->weights;
        for (uint16_t c = 0; c < p->raw; c++) {
            double sum = tml_f64_at(p->bias, c);
            for (uint32_t j = 0; j < p->features; j++) {
                sum += tml_f64_at(w, j) * (double)x[j];
            }
            acc[c] = sum;
            w += 8u * p->features;
        }
        tml_classic_finish(p->post, acc, p->raw, p->outputs, 1.0, 0, out + (uint32_t)row * p->outputs);
    }
}

/* ---- GAUSSIAN_NB -------------------------------------------------------------- */

tml_status_t tml_gaussian_nb_check(const tml_gaussian_nb_params_t *p, const char **detail) {
    if (p->features < 1) {
        return tml_check_fail(detail, TML_ERR_BAD_SHAPE, "no features");
    }
    return tml_classic_check_post(TML_CLASSIC_POST_SOFTMAX, p->raw, p->outputs, detail);
}

void tml_gaussian_nb_f32(const tml_gaussian_nb_params_t *p, int32_t rows, const float *in, float *out,
    void *scratch) {
    double *acc = (double *)(void *)TML_SCRATCH(scratch);
    for (int32_t row = 0; row < rows; row++) {
        const float *x = in + (uint32_t)row * p->features;
        for (uint16_t c = 0; c < p->raw; c++) {
            const uint32_t first = (uint32_t)c * p->features;
            double sum = 0.0;
            for (uint32_t j = 0; j < p->features; j++) {
                const double d = (double)x[j] - tml_f64_at(p->theta, first + j);
                sum += d * d / tml_f64_at(p->var, first + j);
            }
            acc[c] = tml_f64_at(p->bias, c) - 0.5 * sum;
        }
        tml_classic_finish(TML_CLASSIC_POST_SOFTMAX, acc, p->raw, p->outputs, 1.0, 0,
            out + (uint32_t)row * p->outputs);
    }
}

/* ---- KNN -------------------------------------------------------------------------- */

tml_status_t tml_knn_check(const tml_knn_params_t *p, const char **detail) {
    if (p->features < 1 || p->count < 1 || p->k < 1 || p->k > TML_KNN_MAX_K || p->k > p->count) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "k not in 1..min(256, training points), or no features");
    }
    if (p->weights > 1 || p->regression > 1 || (p->regression && p->raw != 1)) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "knn weights or regression flag not 0 or 1");
    }
    return tml_classic_check_post(TML_CLASSIC_POST_NONE, p->raw, p->outputs, detail);
}

uint32_t tml_knn_scratch_size(const tml_knn_params_t *p) {
    return tml_classic_scratch_size(p->raw) + 12u * p->k;
}

/* sqrt(v) for v >= 0 by Newton's method from a guess with half the
 * exponent: six steps reach double precision from any start the guess gives. */
static double tml_sqrt(double v) {
    if (v != v || v == tml_infinity()) {
        return v;
    }
    if (!(v > 0.0)) {
        return 0.0;
    }
    tml_f64_bits_t guess;
    guess.d = v;
    guess.u = (guess.u >> 1) + ((uint64_t)1023u << 51);
    double r = guess.d;
    for (int i = 0; i < 6; i++) {
        r = 0.5 * (r + v / r);
    }
    return r;
}

void tml_knn_f32(const tml_knn_params_t *p, int32_t rows, const float *in, float *out, void *scratch) {
    double *acc = (double *)(void *)TML_SCRATCH(scratch);
    double *best = acc + tml_classic_scratch_size(p->raw) / 8u;
    uint32_t *index = (uint32_t *)(void *)(best + p->k);
    for (int32_t row = 0; row < rows; row++) {
        const float *x = in + (uint32_t)row * p->features;
        uint16_t found = 0;
        for (uint32_t i = 0; i < p->count; i++) {
            double d2 = 0.0;
            for (uint32_t j = 0; j < p->features; j++) {
                double d = (double)x[j] - tml_f64_at(p->points, i * p->features + j);
                d = p->scale != 0 ? d * tml_f64_at(p->scale, j) : d;
                d2 += d * d;
            }
            if (found == p->k && !(d2 < best[p->k - 1])) {
                continue;
            }
            /* Insert after every point at the same or a smaller distance. */
            uint16_t at = found < p->k ? found++ : (uint16_t)(p->k - 1);
            while (at > 0 && d2 < best[at - 1]) {
                best[at] = best[at - 1];
                index[at] = index[at - 1];
                at--;
            }
            best[at] = d2;
            index[at] = i;
        }
        int exact = 0;
        for (uint16_t n = 0; n < found; n++) {
            best[n] = tml_sqrt(best[n]);
            exact |= best[n] == 0.0;
        }
        for (uint16_t o = 0; o < p->raw; o++) {
            acc[o] = 0.0;
        }
        double total = 0.0;
        for (uint16_t n = 0; n < found; n++) {
            const double w = p->weights == 0 ? 1.0 : exact ? (best[n] == 0.0 ? 1.0 : 0.0) : 1.0 / best[n];
            const double target = tml_f64_at(p->targets, index[n]);
            if (p->regression) {
                acc[0] += w * target;
                total += w;
            } else if (target >= 0.0 && target < (double)p->raw) {
                acc[(uint32_t)target] += w;
                total += w;
            }
        }
        for (uint16_t o = 0; o < p->raw; o++) {
            acc[o] = total > 0.0 ? acc[o] / total : 0.0;
        }
        tml_classic_finish(TML_CLASSIC_POST_NONE, acc, p->raw, p->outputs, 1.0, 0, out + (uint32_t)row * p->outputs);
    }
}

/* ---- SVM_RBF ---------------------------------------------------------------------- */

tml_status_t tml_svm_rbf_check(const tml_svm_params_t *p, const char **detail) {
    if (p->classes < 2 || p->classes > TML_SVM_MAX_CLASSES || p->outputs != p->classes || p->features < 1) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "svm classes not 2..64 and the outputs, or no features");
    }
    if (p->starts[0] != 0 || p->starts[p->classes] != p->count) {
        return tml_check_fail(detail, TML_ERR_BAD_PARAM, "svm class starts do not run from 0 to the vector count");
    }
    for (uint16_t c = 0; c < p->classes; c++) {
        if (p->starts[c] > p->starts[c + 1]) {
            return tml_check_fail(detail, TML_ERR_BAD_PARAM, "svm class starts decrease");
        }
    }
    return TML_OK;
}

static uint32_t tml_svm_pairs(uint16_t classes) {
    return (uint32_t)classes * (classes - 1u) / 2u;
}

uint32_t tml_svm_rbf_scratch_size(const tml_svm_params_t *p) {
    return 8u * (p->count + tml_svm_pairs(p->classes) + 2u * p->classes);
}

/* Class c's vectors, with starts a blob changed after load may have made
 * anything: clamped to the vectors there are. */
static void tml_svm_range(const tml_svm_params_t *p, uint16_t c, uint32_t *first, uint32_t *end) {
    *end = p->starts[c + 1] < p->count ? p->starts[c + 1] : p->count;
    *first = p->starts[c] < *end ? p->starts[c] : *end;
}

void tml_svm_rbf_f32(const tml_svm_params_t *p, int32_t rows, const float *in, float *out, void *scratch) {
    double *kv = (double *)(void *)TML_SCRATCH(scratch);
    double *dec = kv + p->count;
    double *res = dec + tml_svm_pairs(p->classes);
    double *votes = res + p->classes;
    const double gamma = tml_f64_at(p->gamma, 0);
    for (int32_t row = 0; row < rows; row++) {
        const float *x = in + (uint32_t)row * p->features;
        for (uint32_t i = 0; i < p->count; i++) {
            double d2 = 0.0;
            for (uint32_t j = 0; j < p->features; j++) {
                double d = (double)x[j] - tml_f64_at(p->support, i * p->features + j);
                d = p->scale != 0 ? d * tml_f64_at(p->scale, j) : d;
                d2 += d * d;
            }
            kv[i] = tml_exp(-gamma * d2);
        }
        uint32_t pair = 0;
        for (uint16_t a = 0; a < p->classes; a++) {
            res[a] = 0.0;
        }
        for (uint16_t a = 0; a < p->classes; a++) {
            for (uint16_t b = (uint16_t)(a + 1); b < p->classes; b++, pair++) {
                double sum = tml_f64_at(p->intercept, pair);
                uint32_t first, end;
                tml_svm_range(p, a, &first, &end);
                for (uint32_t i = first; i < end; i++) {
                    sum += tml_f64_at(p->coef, (uint32_t)(b - 1u) * p->count + i) * kv[i];
                }
                tml_svm_range(p, b, &first, &end);
                for (uint32_t i = first; i < end; i++) {
                    sum += tml_f64_at(p->coef, (uint32_t)a * p->count + i) * kv[i];
                }
                dec[pair] = sum;
            }
        }
        if (p->classes == 2) {
            res[0] = dec[0];
            res[1] = -dec[0];
        } else {
            /* The sums of confidences go where the outputs will, the votes
             * are counted apart: then res = votes + s / (3 (|s| + 1)). */
            for (uint16_t a = 0; a < p->classes; a++) {
                votes[a] = 0.0;
            }
            pair = 0;
            for (uint16_t a = 0; a < p->classes; a++) {
                for (uint16_t b = (uint16_t)(a + 1); b < p->classes; b++, pair++) {
                    res[a] += dec[pair];
                    res[b] -= dec[pair];
                    votes[dec[pair] < 0.0 ? b : a] += 1.0;
                }
            }
            for (uint16_t a = 0; a < p->classes; a++) {
                const double s = res[a];
                res[a] = votes[a] + s / (3.0 * ((s < 0.0 ? -s : s) + 1.0));
            }
        }
        tml_classic_finish(TML_CLASSIC_POST_NONE, res, p->classes, p->outputs, 1.0, 0,
            out + (uint32_t)row * p->outputs);
    }
}
