// The product's copy of the official v4.4 schemas (schemas/), loaded once
// per test binary.
#pragma once

#include <gtest/gtest.h>

#include "xml/schema.h"

namespace llavero::testing {

inline const xml::SchemaValidator& official_schemas() {
  static const auto* validator = [] {
    auto* v = new xml::SchemaValidator(xml::schema_directory(""));
    auto loaded = v->load();
    EXPECT_TRUE(loaded.ok()) << (loaded ? "" : loaded.error().message);
    return v;
  }();
  return *validator;
}

}  // namespace llavero::testing
