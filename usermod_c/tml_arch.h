/* The one place that picks the architecture path of the kernels' inner
 * loops, from compiler macros. Exactly one of these is 1:
 *   TML_ARCH_DSP       Cortex-M4/M7/M33 with the DSP extension (SXTB16, SMLAD)
 *   TML_ARCH_V7M       Cortex-M3 (armv7m: MLA, post-indexed sign-extending loads)
 *   TML_ARCH_M0        Cortex-M0/M0+ (armv6m, the RP2040: Thumb-1)
 *   TML_ARCH_SSE2      x86-64 (the unix port, the host tests)
 *   TML_ARCH_PORTABLE  any other target, and every target built with
 *                      TML_FORCE_PORTABLE, so that both can be built and
 *                      compared on one machine
 * and TML_ARCH_NAME names it (build_info()'s "arch").
 *
 * The chosen path's primitives are in its own header, included here:
 * tml_arch_dsp.h, tml_arch_v7m.h, tml_arch_m0.h, tml_arch_sse2.h,
 * tml_arch_portable.h (the last two and the Cortex-M0/M3 ones share the
 * portable C). Assembly routines are in tml_arch_<path>.S, one prototype
 * each in the path's header; every .S file is in every build's source list
 * and includes this header, assembling to nothing off its own path.
 *
 * Every path computes exactly the same integers: every product and partial
 * sum of the reduction fits in int32 (see the overflow argument in
 * tml_conv.c), and sums that start from the bias wrap modulo 2^32 as
 * TFLite's int32 does, so neither the order of the additions nor the
 * instructions change the result. */
#ifndef TML_ARCH_H
#define TML_ARCH_H

/* The Cortex-M0 and M3 paths need GNU assembler syntax (their .S files). */
#if !defined(TML_FORCE_PORTABLE) && defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#define TML_ARCH_DSP (1)
#define TML_ARCH_NAME "armv7em-dsp"
#elif !defined(TML_FORCE_PORTABLE) && defined(__ARM_ARCH_7M__) && defined(__GNUC__)
#define TML_ARCH_V7M (1)
#define TML_ARCH_NAME "armv7m"
#elif !defined(TML_FORCE_PORTABLE) && defined(__ARM_ARCH_6M__) && defined(__GNUC__)
#define TML_ARCH_M0 (1)
#define TML_ARCH_NAME "armv6m"
#elif !defined(TML_FORCE_PORTABLE) && defined(__SSE2__)
#define TML_ARCH_SSE2 (1)
#define TML_ARCH_NAME "x86-64-sse2"
#else
#define TML_ARCH_PORTABLE (1)
#define TML_ARCH_NAME "portable"
#endif

#ifndef TML_ARCH_DSP
#define TML_ARCH_DSP (0)
#endif
#ifndef TML_ARCH_V7M
#define TML_ARCH_V7M (0)
#endif
#ifndef TML_ARCH_M0
#define TML_ARCH_M0 (0)
#endif
#ifndef TML_ARCH_SSE2
#define TML_ARCH_SSE2 (0)
#endif
#ifndef TML_ARCH_PORTABLE
#define TML_ARCH_PORTABLE (0)
#endif

/* The .S files need the selection only. */
#ifndef __ASSEMBLER__
#if TML_ARCH_DSP
#include "tml_arch_dsp.h"
#elif TML_ARCH_V7M
#include "tml_arch_v7m.h"
#elif TML_ARCH_M0
#include "tml_arch_m0.h"
#elif TML_ARCH_SSE2
#include "tml_arch_sse2.h"
#else
#include "tml_arch_portable.h"
#endif
#endif

#endif /* TML_ARCH_H */
