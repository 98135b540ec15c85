/* The two-step load of the test drivers: tml_model_open, then
 * tml_model_load into a malloc'ed state (malloc's alignment covers the 8
 * bytes the state needs). On success *state is the caller's to free once
 * the model is done with; on failure it is NULL and m->error says why. */
#ifndef TML_TEST_LOAD_MODEL_H
#define TML_TEST_LOAD_MODEL_H

#include <stdlib.h>
#include "tml_model.h"

static tml_status_t load_model(tml_model_t *m, const uint8_t *blob, uint32_t len, void **state) {
    *state = NULL;
    tml_status_t s = tml_model_open(m, blob, len);
    if (s != TML_OK) {
        return s;
    }
    uint32_t size = tml_model_state_size(m);
    void *mem = malloc(size ? size : 1);
    if (mem == NULL) {
        abort();
    }
    s = tml_model_load(m, mem, size);
    if (s != TML_OK) {
        free(mem);
        return s;
    }
    *state = mem;
    return TML_OK;
}

#endif
