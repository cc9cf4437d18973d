// Packet-rewriting and resizing helpers of skb programs (emu/helpers_skb.cc),
// for the helper table in emu/helpers.cc.
#pragma once

#include <cstdint>

#include "emu/interpreter.h"

namespace bpfemu::emu::interp {

bool skb_store_bytes(HelperCall& c, uint64_t* r0);
bool l3_csum_replace(HelperCall& c, uint64_t* r0);
bool l4_csum_replace(HelperCall& c, uint64_t* r0);
bool csum_diff(HelperCall& c, uint64_t* r0);
bool redirect(HelperCall& c, uint64_t* r0);
bool skb_pull_data(HelperCall& c, uint64_t* r0);
bool skb_change_tail(HelperCall& c, uint64_t* r0);
bool skb_change_head(HelperCall& c, uint64_t* r0);
bool skb_adjust_room(HelperCall& c, uint64_t* r0);
bool skb_change_proto(HelperCall& c, uint64_t* r0);
bool skb_load_bytes_relative(HelperCall& c, uint64_t* r0);
bool skb_vlan_push(HelperCall& c, uint64_t* r0);
bool skb_vlan_pop(HelperCall& c, uint64_t* r0);

}  // namespace bpfemu::emu::interp
