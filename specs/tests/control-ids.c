// SPDX-License-Identifier: MIT
/*
 * Why this exists: the control API's function ids are defined by
 * specs/control.spec, but the public header include/wormhole/proto.h spells
 * them too (scripts compile the switcher without the generator).  Building
 * this file fails if the two ever disagree.
 */
#include <assert.h>

#include "wh_ctl_ids.h"
#include "wormhole/proto.h"

static_assert((int)WH_CTL_HELLO == (int)WH_CTL_F_HELLO, "HELLO: proto.h and control.spec disagree");
static_assert((int)WH_CTL_PING == (int)WH_CTL_F_PING, "PING: proto.h and control.spec disagree");
static_assert((int)WH_CTL_BYE == (int)WH_CTL_F_BYE, "BYE: proto.h and control.spec disagree");
static_assert(WH_CTL_API_ID == WH_API_CONTROL, "the api number of control.spec is WH_API_CONTROL");

int main(void)
{
	return 0;
}
