#include "align/log_key.h"

#include <gtest/gtest.h>

namespace triad {
namespace {

TEST(LogKeyTest, MasksVariableTokens) {
  EXPECT_EQ(MaskLogKey("GET /api/users/123 took 45ms from 10.0.0.1:8080"),
            "GET /api/users/<*> took <*> from <*>");
  EXPECT_EQ(MaskLogKey("order 3f2a9c1e-8b7d-4c6e-9f00-123456789abc failed"), "order <*> failed");
  EXPECT_EQ(MaskLogKey("trace deadbeefdeadbeefcafe ok"), "trace <*> ok");
  EXPECT_EQ(MaskLogKey("connection  refused\n by peer"), "connection refused by peer");
}

TEST(LogKeyTest, SameTemplateSameKey) {
  EXPECT_EQ(MaskLogKey("user=42 login ok"), MaskLogKey("user=97 login ok"));
  EXPECT_NE(MaskLogKey("user=42 login ok"), MaskLogKey("user=42 login failed"));
}

TEST(LogKeyTest, CutsLongKeys) {
  std::string s(1000, 'z');
  EXPECT_EQ(MaskLogKey(s, 50).size(), 50u);
}

}  // namespace
}  // namespace triad
