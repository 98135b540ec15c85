/* Status codes shared by kernels, the loader and the executor. Kernels
 * never raise and never allocate: they return one of these, and the binding
 * (modtinyml.c) or the host wrapper turns it into an exception. */
#ifndef TML_STATUS_H
#define TML_STATUS_H

typedef enum {
    TML_OK = 0,
    TML_ERR_TRUNCATED,       /* blob shorter than its header or total_size says */
    TML_ERR_MAGIC,           /* not a tinyml blob */
    TML_ERR_VERSION,         /* format version this runtime does not read */
    TML_ERR_CRC,             /* checksum mismatch: corrupted copy */
    TML_ERR_ALIGNMENT,       /* blob or section not aligned as the format requires */
    TML_ERR_BAD_OFFSET,      /* an offset or size points outside its section */
    TML_ERR_BAD_SHAPE,       /* dims invalid, overflow, or inconsistent with the op */
    TML_ERR_BAD_PARAM,       /* an op parameter outside its valid range */
    TML_ERR_UNSUPPORTED_OP,  /* opcode unknown to this runtime */
    TML_ERR_ARENA_TOO_SMALL, /* the arena given is smaller than the plan needs */
    TML_ERR_BAD_TENSOR,      /* tensor index, dtype or placement invalid */
    TML_ERR_COUNT_
} tml_status_t;

/* The loader's sentences (what rule a blob broke) are ~11 KB of flash. A
 * build with TML_TERSE_ERRORS keeps the status and the op's name and index
 * and drops the sentences; the (void) keeps a variable's use. */
#ifdef TML_TERSE_ERRORS
#define TML_DETAIL(text) ((void)(text), "")
#else
#define TML_DETAIL(text) (text)
#endif

#endif /* TML_STATUS_H */
