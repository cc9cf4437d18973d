// The argument specs of USDT notes (emu/usdt.h) in the forms <sys/sdt.h>
// writes on x86-64, and the ones the emulator cannot lay out.
#include <gtest/gtest.h>

#include "emu/probe_event.h"
#include "emu/usdt.h"

namespace {

using bpfemu::emu::parse_usdt_arg;
using bpfemu::emu::PtRegs;
using bpfemu::emu::UsdtArg;

UsdtArg parsed(const char* spec) {
  UsdtArg a;
  EXPECT_TRUE(parse_usdt_arg(spec, &a)) << spec;
  return a;
}

TEST(UsdtArgs, RegistersByEveryWidthOfTheirName) {
  for (const char* name : {"rdi", "edi", "di", "dil"}) {
    const UsdtArg a = parsed((std::string("-4@%") + name).c_str());
    EXPECT_EQ(a.kind, UsdtArg::kReg);
    EXPECT_EQ(a.reg, PtRegs::kDi) << name;
    EXPECT_EQ(a.size, -4);
  }
  EXPECT_EQ(parsed("8@%r12").reg, PtRegs::kR12);
  EXPECT_EQ(parsed("2@%r9w").reg, PtRegs::kR9);
  EXPECT_EQ(parsed("1@%al").reg, PtRegs::kAx);
  EXPECT_EQ(parsed("8@%rsp").reg, PtRegs::kSp);
}

TEST(UsdtArgs, MemoryOperandsAndConstants) {
  UsdtArg a = parsed("-8@-16(%rbp)");
  EXPECT_EQ(a.kind, UsdtArg::kRegDeref);
  EXPECT_EQ(a.reg, PtRegs::kBp);
  EXPECT_EQ(a.value, -16);
  a = parsed("4@(%rax)");
  EXPECT_EQ(a.kind, UsdtArg::kRegDeref);
  EXPECT_EQ(a.value, 0);
  a = parsed("4@24(%rsp)");
  EXPECT_EQ(a.value, 24);
  a = parsed("-4@$-5");
  EXPECT_EQ(a.kind, UsdtArg::kConst);
  EXPECT_EQ(a.value, -5);
}

TEST(UsdtArgs, FormsNotLaidOutAreRefused) {
  UsdtArg a;
  for (const char* bad : {"", "%edi", "3@%edi", "16@%rax", "4@%xmm0", "4@-8(%rbp,%rax,8)", "8@counter(%rip)",
                          "4@%edi junk", "4@$"})
    EXPECT_FALSE(parse_usdt_arg(bad, &a)) << bad;
}

}  // namespace
