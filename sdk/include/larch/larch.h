/* larch SDK v1: everything a strategy or operator-set plugin needs. */
#ifndef LARCH_LARCH_H
#define LARCH_LARCH_H

#include "abi.h"
#include "abi_layout.h"
#include "archset.h"
#include "host.h"
#include "nn.h"
#include "opset.h"
#include "params.h"
#include "rng.h"
#include "space.h"
#include "status.h"
#include "strategy.h"

#endif
