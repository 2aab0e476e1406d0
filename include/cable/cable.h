/* libcable: FIDO hybrid (caBLE v2) for Linux. Umbrella header and version. */
#ifndef CABLE_CABLE_H
#define CABLE_CABLE_H

#include "cable/bytes.h"
#include "cable/env.h"
#include "cable/error.h"

/* The library version, "MAJOR.MINOR.PATCH". */
const char *cable_version(void);

#endif
