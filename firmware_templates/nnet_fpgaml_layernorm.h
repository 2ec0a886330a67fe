// fpgaml: bit-exact LayerNorm over the last axis (io_parallel).
//
// The datapath is integer arithmetic on the input's fixed-point grid, defined once in
// fpgaml/compiler/extensions/fixed_layernorm.py and mirrored line by line by the Keras layer
// QLayerNormalization, so C-simulation and Keras agree bit for bit:
//   X = x * 2^F;  d = D*X - sum(X);  v = sum((d >> r)^2);
//   h = table[bucket(v)]  (1/(D*sqrt(var + eps)), float-like index: exponent + M mantissa bits)
//   N = sat(floor(d * h * 2^-p_shift));  y = N * 2^-fn * gamma + beta  (full width, then res_T)
// Widths and shifts come from the generated config struct; the table is a weight array.
#ifndef NNET_FPGAML_LAYERNORM_H_
#define NNET_FPGAML_LAYERNORM_H_

#include "ap_fixed.h"
#include "ap_int.h"
#include "nnet_common.h"

namespace nnet {

struct fpgaml_layernorm_config {
    static const unsigned n_in = 16;     // all elements
    static const unsigned seq_len = 1;   // tokens, normalised independently
    static const unsigned dim = 16;      // features of one token (the last axis)
    static const int in_frac = 0;        // F: the input lies on a 2^-F grid
    static const unsigned x_width = 16;  // signed bits of X
    static const unsigned sum_width = 20;
    static const unsigned d_width = 21;
    static const unsigned var_shift = 0;  // r
    static const unsigned dv_width = 21;
    static const unsigned v_width = 45;
    static const int w_shift = 0;  // exponent offset of v in units of var * D^3: 2r - 2F
    static const int e_lo = 0;
    static const int e_hi = 0;
    static const unsigned mant_bits = 5;
    static const unsigned table_size = 64;
    static const unsigned h_width = 16;
    static const int p_shift = 0;  // F + table_frac - norm_frac
    static const unsigned norm_int = 3;
    static const unsigned norm_frac = 8;
    static const unsigned io_type = io_parallel;
    static const unsigned reuse_factor = 1;
    typedef ap_fixed<16, 6> accum_t;
    typedef ap_fixed<16, 6> scale_t;
    typedef ap_fixed<16, 6> bias_t;
    typedef ap_ufixed<16, 16> table_t;
};

// floor(x * 2^-S) for a compile-time S of either sign, at width W.
template <int S, int W> ap_int<W> fpgaml_shift_floor(ap_int<W> x) {
    if (S >= 0)
        return x >> (S >= 0 ? S : 0);
    return x << (S < 0 ? -S : 0);
}

// Index of the inverse-square-root table for v = sum((d >> r)^2).
template <typename CONFIG_T> unsigned fpgaml_isqrt_index(ap_uint<CONFIG_T::v_width> v) {
    #pragma HLS INLINE
    const unsigned one_m = 1u << CONFIG_T::mant_bits;
    if (v == 0)
        return 0;
    int e_v = 0;  // leading one of v (a priority encoder in hardware)
    for (int b = 0; b < (int)CONFIG_T::v_width; b++) {
        #pragma HLS UNROLL
        if (v[b])
            e_v = b;
    }
    const int e_w = e_v + CONFIG_T::w_shift;
    typedef ap_int<CONFIG_T::v_width + CONFIG_T::mant_bits + 2> wide_t;
    wide_t vw = v;
    if (e_w < CONFIG_T::e_lo) {  // "subnormal" bucket 0: linear in v
        const int s0 = CONFIG_T::e_lo - (int)CONFIG_T::mant_bits - CONFIG_T::w_shift;
        wide_t m = fpgaml_shift_floor<s0, CONFIG_T::v_width + CONFIG_T::mant_bits + 2>(vw);
        return (unsigned)m;
    }
    if (e_w > CONFIG_T::e_hi)
        return CONFIG_T::table_size - 1;
    const int s = e_v - (int)CONFIG_T::mant_bits;
    wide_t m = (s >= 0) ? wide_t(vw >> s) : wide_t(vw << (-s));
    return (unsigned)(e_w - CONFIG_T::e_lo + 1) * one_m + (unsigned)(m - one_m);
}

template <class data_T, class res_T, typename CONFIG_T>
void fpgaml_layernorm_token(data_T data[CONFIG_T::dim], res_T res[CONFIG_T::dim],
                            typename CONFIG_T::scale_t scale[CONFIG_T::dim],
                            typename CONFIG_T::bias_t bias[CONFIG_T::dim],
                            typename CONFIG_T::table_t table[CONFIG_T::table_size]) {
    #pragma HLS INLINE
    typedef ap_fixed<CONFIG_T::x_width, (int)CONFIG_T::x_width - CONFIG_T::in_frac> x_fix_t;
    typedef ap_int<CONFIG_T::x_width> x_int_t;
    typedef ap_int<CONFIG_T::d_width> d_t;
    typedef ap_int<CONFIG_T::d_width + CONFIG_T::h_width + 1> p_t;
    const unsigned norm_width = CONFIG_T::norm_int + CONFIG_T::norm_frac + 1;
    typedef ap_fixed<norm_width, CONFIG_T::norm_int + 1> norm_t;

    x_int_t X[CONFIG_T::dim];
    d_t d[CONFIG_T::dim];
    #pragma HLS ARRAY_PARTITION variable=X complete
    #pragma HLS ARRAY_PARTITION variable=d complete

    ap_int<CONFIG_T::sum_width> sum = 0;
FPGAML_LN_SUM:
    for (unsigned i = 0; i < CONFIG_T::dim; i++) {
        #pragma HLS UNROLL
        x_fix_t xf = data[i];  // exact: data has at most F fractional bits and fits x_width
        X[i].range(CONFIG_T::x_width - 1, 0) = xf.range(CONFIG_T::x_width - 1, 0);
        sum += X[i];
    }

    ap_uint<CONFIG_T::v_width> v = 0;
FPGAML_LN_VAR:
    for (unsigned i = 0; i < CONFIG_T::dim; i++) {
        #pragma HLS UNROLL
        d[i] = d_t(CONFIG_T::dim) * X[i] - sum;
        ap_int<CONFIG_T::dv_width> dv = d[i] >> CONFIG_T::var_shift;
        v += dv * dv;
    }

    ap_uint<CONFIG_T::h_width> h = table[fpgaml_isqrt_index<CONFIG_T>(v)];

    const p_t n_max = (p_t(1) << (CONFIG_T::norm_int + CONFIG_T::norm_frac)) - 1;
    const p_t n_min = -(p_t(1) << (CONFIG_T::norm_int + CONFIG_T::norm_frac));
FPGAML_LN_OUT:
    for (unsigned i = 0; i < CONFIG_T::dim; i++) {
        #pragma HLS UNROLL
        p_t p = p_t(d[i]) * p_t(h);
        p_t n = fpgaml_shift_floor<CONFIG_T::p_shift, CONFIG_T::d_width + CONFIG_T::h_width + 1>(p);
        if (n > n_max)
            n = n_max;
        if (n < n_min)
            n = n_min;
        norm_t nf;
        nf.range(norm_width - 1, 0) = n.range(norm_width - 1, 0);
        typename CONFIG_T::accum_t acc = nf * scale[i] + bias[i];
        res[i] = acc;
    }
}

template <class data_T, class res_T, typename CONFIG_T>
void fpgaml_layernorm(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in],
                      typename CONFIG_T::scale_t scale[CONFIG_T::dim], typename CONFIG_T::bias_t bias[CONFIG_T::dim],
                      typename CONFIG_T::table_t table[CONFIG_T::table_size]) {
    #pragma HLS ARRAY_PARTITION variable=scale complete
    #pragma HLS ARRAY_PARTITION variable=bias complete
    data_T in_val[CONFIG_T::dim];
    res_T out_val[CONFIG_T::dim];
    #pragma HLS ARRAY_PARTITION variable=in_val complete
    #pragma HLS ARRAY_PARTITION variable=out_val complete

FPGAML_LN_TOKENS:
    for (unsigned j = 0; j < CONFIG_T::seq_len; j++) {
        #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
        for (unsigned i = 0; i < CONFIG_T::dim; i++) {
            #pragma HLS UNROLL
            in_val[i] = data[j * CONFIG_T::dim + i];
        }
        fpgaml_layernorm_token<data_T, res_T, CONFIG_T>(in_val, out_val, scale, bias, table);
        for (unsigned i = 0; i < CONFIG_T::dim; i++) {
            #pragma HLS UNROLL
            res[j * CONFIG_T::dim + i] = out_val[i];
        }
    }
}

} // namespace nnet

#endif
