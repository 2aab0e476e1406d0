/* The library version, set by the build. */
#include "cable/cable.h"

const char *
cable_version(void)
{
	return CABLE_VERSION;
}
