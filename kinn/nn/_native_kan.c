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

#include "_native_kan.h"
