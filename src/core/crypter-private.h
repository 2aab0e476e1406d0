/* Test hook for the transport crypter: moving the counters near their cap without 2^24 messages. */
#ifndef CABLE_CORE_CRYPTER_PRIVATE_H
#define CABLE_CORE_CRYPTER_PRIVATE_H

#include <stdint.h>

#include "cable/crypter.h"

void cable_crypter_set_counters_for_testing(struct cable_crypter *c, uint32_t read_counter,
    uint32_t write_counter);

#endif
