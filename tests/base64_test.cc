// The one base64 codec (RFC 4648) and the formats its callers state: what
// each accepts, and every way a text can fail to follow it.
#include "util/base64.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

namespace llavero {
namespace {

using Bytes8 = std::vector<std::uint8_t>;

constexpr Base64Format kStandardWithWhitespace{Base64Alphabet::kStandard, Base64Padding::kRequired,
                                               true};
constexpr Base64Format kEitherOptional{Base64Alphabet::kEither, Base64Padding::kOptional, false};
constexpr Base64Format kStandardOptional{Base64Alphabet::kStandard, Base64Padding::kOptional,
                                         false};
constexpr Base64Format kStandardForbidden{Base64Alphabet::kStandard, Base64Padding::kForbidden,
                                          false};
constexpr Base64Format kUrlRequired{Base64Alphabet::kUrlSafe, Base64Padding::kRequired, false};

Bytes8 bytes(std::string_view s) {
  return Bytes8(s.begin(), s.end());
}

bool accepted(std::string_view text, Base64Format format) {
  return base64_decode(text, format).has_value();
}

// --- RFC 4648, section 10 ----------------------------------------------------------

struct Vector {
  std::string_view plain;
  std::string_view encoded;
};
constexpr Vector kRfc4648[] = {{"f", "Zg=="},        {"fo", "Zm8="},        {"foo", "Zm9v"},
                               {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};

TEST(Base64, EncodesTheRfc4648TestVectors) {
  EXPECT_EQ(base64_encode(std::string_view()), "");
  for (const Vector& v : kRfc4648) EXPECT_EQ(base64_encode(v.plain), v.encoded) << v.plain;
}

TEST(Base64, DecodesTheRfc4648TestVectors) {
  for (const Vector& v : kRfc4648) {
    EXPECT_EQ(base64_decode_to_string(v.encoded), std::string(v.plain)) << v.encoded;
    EXPECT_EQ(base64_decode(v.encoded), bytes(v.plain)) << v.encoded;
  }
}

TEST(Base64, UrlFormatDropsThePadding) {
  EXPECT_EQ(base64_encode("f", kBase64Url), "Zg");
  EXPECT_EQ(base64_encode("fo", kBase64Url), "Zm8");
  EXPECT_EQ(base64_encode("foo", kBase64Url), "Zm9v");
  EXPECT_EQ(base64_decode_to_string("Zg", kBase64Url), "f");
  EXPECT_EQ(base64_decode_to_string("Zm8", kBase64Url), "fo");
}

TEST(Base64, TheTwoAlphabetsDifferOnlyInTheLastTwoSymbols) {
  const Bytes8 data = {0xfb, 0xff, 0xbf};  // sextets 62, 63, 62, 63
  EXPECT_EQ(base64_encode(data), "+/+/");
  EXPECT_EQ(base64_encode(data, kBase64Url), "-_-_");
  EXPECT_EQ(base64_encode(data, kEitherOptional), "+/+/");  // kEither writes standard
  EXPECT_EQ(base64_decode("+/+/"), data);
  EXPECT_EQ(base64_decode("-_-_", kBase64Url), data);
  EXPECT_EQ(base64_decode("-_+/", kEitherOptional), data);
}

// --- what each format refuses ------------------------------------------------------

TEST(Base64, EmptyInputIsRefusedInEveryFormat) {
  for (Base64Format f : {kBase64Standard, kBase64Url, kEitherOptional, kStandardWithWhitespace}) {
    EXPECT_FALSE(accepted("", f));
    EXPECT_FALSE(base64_decode_to_string("", f).has_value());
  }
  EXPECT_FALSE(accepted(" \r\n\t", kStandardWithWhitespace));  // nothing but whitespace
  EXPECT_FALSE(accepted("====", kStandardOptional));           // nothing but padding
}

TEST(Base64, CharactersOutsideTheAlphabetAreRefused) {
  for (std::string_view text : {std::string_view("Zm9v!mFy"), std::string_view("Zm9v.mFy"),
                                std::string_view("Zm9v\x80mFy"), std::string_view("Zm\0v", 4),
                                std::string_view("Zm9vYmF*"), std::string_view("\xc3\xb1Zm9")})
    EXPECT_FALSE(accepted(text, kBase64Standard)) << text;
  EXPECT_TRUE(accepted("Zm9vYmFy", kBase64Standard));  // the same length, all valid
}

TEST(Base64, UrlSafeSymbolsAreRefusedByTheStandardAlphabet) {
  EXPECT_FALSE(accepted("-_-_", kBase64Standard));
  EXPECT_FALSE(accepted("ab-c", kBase64Standard));
  EXPECT_FALSE(accepted("ab_c", kBase64Standard));
  EXPECT_TRUE(accepted("ab+c", kBase64Standard));
}

TEST(Base64, StandardSymbolsAreRefusedByTheUrlSafeAlphabet) {
  EXPECT_FALSE(accepted("+/+/", kBase64Url));
  EXPECT_FALSE(accepted("ab+c", kBase64Url));
  EXPECT_FALSE(accepted("ab/c", kBase64Url));
  EXPECT_TRUE(accepted("ab-c", kBase64Url));
}

TEST(Base64, PaddingInTheMiddleIsRefused) {
  EXPECT_FALSE(accepted("Zg==Zm8=", kBase64Standard));
  EXPECT_FALSE(accepted("Zm=9v", kStandardOptional));
  EXPECT_FALSE(accepted("=Zm9v", kStandardOptional));
  EXPECT_FALSE(accepted("Zm9v=YmFy", kStandardOptional));
}

TEST(Base64, MoreThanTwoPaddingCharactersAreRefused) {
  EXPECT_FALSE(accepted("Zg===", kBase64Standard));
  EXPECT_FALSE(accepted("Zg===", kStandardOptional));
  EXPECT_FALSE(accepted("Z===", kStandardOptional));
  EXPECT_FALSE(accepted("Zm9v====", kStandardOptional));
  EXPECT_TRUE(accepted("Zg==", kBase64Standard));
}

TEST(Base64, PaddingThatDoesNotCompleteTheQuantumIsRefused) {
  EXPECT_FALSE(accepted("Zg=", kBase64Standard));    // needs two
  EXPECT_FALSE(accepted("Zm8==", kBase64Standard));  // needs one
  EXPECT_FALSE(accepted("Zm9v=", kStandardOptional));
  EXPECT_FALSE(accepted("Zg=", kStandardOptional));  // optional means all or nothing
}

TEST(Base64, MissingPaddingIsRefusedWhenRequired) {
  EXPECT_FALSE(accepted("Zg", kBase64Standard));
  EXPECT_FALSE(accepted("Zm8", kBase64Standard));
  EXPECT_FALSE(accepted("Zm9vYg", kUrlRequired));
}

TEST(Base64, PaddingIsOptionalOnlyWhereTheFormatSaysSo) {
  EXPECT_EQ(base64_decode_to_string("Zg", kStandardOptional), "f");
  EXPECT_EQ(base64_decode_to_string("Zg==", kStandardOptional), "f");
  EXPECT_EQ(base64_decode_to_string("Zm8", kEitherOptional), "fo");
  EXPECT_EQ(base64_decode_to_string("Zm8=", kEitherOptional), "fo");
}

TEST(Base64, PaddingIsRefusedWhenForbidden) {
  EXPECT_FALSE(accepted("Zg==", kBase64Url));
  EXPECT_FALSE(accepted("Zm8=", kBase64Url));
  EXPECT_FALSE(accepted("Zm8=", kStandardForbidden));
  EXPECT_EQ(base64_decode_to_string("Zm8", kStandardForbidden), "fo");
}

TEST(Base64, ALengthNoEncoderProducesIsRefused) {
  // One symbol past a whole quantum carries only six bits: not even one byte.
  EXPECT_FALSE(accepted("Z", kStandardOptional));
  EXPECT_FALSE(accepted("Zm9vY", kStandardOptional));
  EXPECT_FALSE(accepted("Zm9vY", kBase64Url));
  EXPECT_FALSE(accepted("Zm9vY===", kStandardOptional));
}

TEST(Base64, WhitespaceIsRefusedUnlessTheFormatSkipsIt) {
  for (std::string_view text :
       {"Zm9v YmFy", "Zm9v\nYmFy", "Zm9v\r\nYmFy", "Zm9v\tYmFy", " Zm9vYmFy", "Zm9vYmFy\n"}) {
    EXPECT_FALSE(accepted(text, kBase64Standard)) << text;
    EXPECT_EQ(base64_decode_to_string(text, kStandardWithWhitespace), "foobar") << text;
  }
  // Signers wrap long values and may put a line break inside the padding.
  EXPECT_EQ(base64_decode_to_string("Zm9v\nYg=\n=\n", kStandardWithWhitespace), "foob");
}

TEST(Base64, SkippingWhitespaceSkipsOnlyWhitespace) {
  EXPECT_FALSE(accepted("Zm9v\vYmFy", kStandardWithWhitespace));  // vertical tab
  EXPECT_FALSE(accepted("Zm9v\fYmFy", kStandardWithWhitespace));  // form feed
  EXPECT_FALSE(accepted("Zm9v,YmFy", kStandardWithWhitespace));
  EXPECT_FALSE(accepted("Zg = =", kBase64Standard));
}

// --- round trips -------------------------------------------------------------------

void check_round_trip(const Bytes8& data, Base64Format format) {
  const std::string text = base64_encode(data, format);
  if (data.empty()) {
    RC_ASSERT(text.empty());
    RC_ASSERT(!base64_decode(text, format).has_value());
    return;
  }
  const auto back = base64_decode(text, format);
  RC_ASSERT(back.has_value());
  RC_ASSERT(*back == data);
  const auto as_string = base64_decode_to_string(text, format);
  RC_ASSERT(as_string.has_value());
  RC_ASSERT(*as_string == std::string(data.begin(), data.end()));
}

RC_GTEST_PROP(Base64, StandardRoundTrip, (const Bytes8& data)) {
  check_round_trip(data, kBase64Standard);
  const std::string text = base64_encode(data);
  RC_ASSERT(text.size() == (data.size() + 2) / 3 * 4);
  RC_ASSERT(text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                                   "+/=") == std::string::npos);
}

RC_GTEST_PROP(Base64, UrlSafeRoundTrip, (const Bytes8& data)) {
  check_round_trip(data, kBase64Url);
  const std::string text = base64_encode(data, kBase64Url);
  RC_ASSERT(text.size() == (data.size() * 4 + 2) / 3);
  RC_ASSERT(text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                                   "-_") == std::string::npos);
}

RC_GTEST_PROP(Base64, EitherAlphabetOptionalPaddingRoundTrip, (const Bytes8& data)) {
  check_round_trip(data, kEitherOptional);
  RC_PRE(!data.empty());
  // OCSP over GET: the other alphabet, and no padding, decode the same.
  RC_ASSERT(base64_decode(base64_encode(data, kBase64Url), kEitherOptional) == data);
}

RC_GTEST_PROP(Base64, UrlSafeWithRequiredPaddingRoundTrip, (const Bytes8& data)) {
  check_round_trip(data, kUrlRequired);
}

RC_GTEST_PROP(Base64, WrappedTextDecodesWhenWhitespaceIsSkipped, (const Bytes8& data)) {
  RC_PRE(!data.empty());
  const std::string text = base64_encode(data);
  // Break it where a signer would: every `width` characters, with CR LF or LF.
  const std::size_t width = *rc::gen::inRange<std::size_t>(1, 77);
  const bool crlf = *rc::gen::arbitrary<bool>();
  std::string wrapped;
  for (std::size_t i = 0; i < text.size(); i += width)
    wrapped += text.substr(i, width) + (crlf ? "\r\n" : "\n");
  RC_ASSERT(base64_decode(wrapped, kStandardWithWhitespace) == data);
  RC_ASSERT(!base64_decode(wrapped, kBase64Standard).has_value());
}

RC_GTEST_PROP(Base64, OneForeignCharacterAnywhereIsRefused, (const Bytes8& data)) {
  RC_PRE(!data.empty());
  const std::string text = base64_encode(data);
  const std::size_t at = *rc::gen::inRange<std::size_t>(0, text.size() + 1);
  const char foreign = *rc::gen::element('!', '-', '_', '.', '*', '\0', '\x7f', '@');
  std::string changed = text;
  changed.insert(changed.begin() + static_cast<std::ptrdiff_t>(at), foreign);
  RC_ASSERT(!base64_decode(changed, kBase64Standard).has_value());
}

}  // namespace
}  // namespace llavero
