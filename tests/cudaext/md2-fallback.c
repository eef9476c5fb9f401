// SPDX-License-Identifier: MIT
/* client-lib/cudaext/exptab.c built with its own MD2 (as on a machine without nettle's headers),
 * for tests/cudaext's cudaext-exptab-md2: the same tests, the integrity value checked against
 * nettle's MD2. */
#define WHD_CONFIG_H_FORCED 1
#include "../../client-lib/cudaext/exptab.c"
