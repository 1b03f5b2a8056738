// RFC 2047 decoding, charset conversion, case folding and the search text built from them.
#include "mail/rfc2047.hpp"

#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "base/text.hpp"
#include "mail/charset.hpp"
#include "mail/fold_case.hpp"
#include "mail/mime.hpp"
#include "mail/mime_test_util.hpp"
#include "mail/search_text.hpp"

namespace valija::mail {
namespace {

TEST(Rfc2047, Section8Examples) {
  struct Case {
    const char* in;
    const char* out;
  };
  // RFC 2047 §8, the display-text examples.
  const Case cases[] = {
      {"(=?ISO-8859-1?Q?a?=)", "(a)"},
      {"(=?ISO-8859-1?Q?a?= b)", "(a b)"},
      {"(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)"},
      {"(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "(ab)"},
      {"(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", "(ab)"},
      {"(=?ISO-8859-1?Q?a_b?=)", "(a b)"},
      {"(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)"},
      {"=?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>", "Keith Moore <moore@cs.utk.edu>"},
      {"=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>", "Keld J\xC3\xB8rn Simonsen <keld@dkuug.dk>"},
      {"=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>", "Andr\xC3\xA9 Pirard <PIRARD@vm1.ulg.ac.be>"},
      {"=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\r\n =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=",
       "If you can read this you understand the example."},
      {"=?ISO-8859-1?Q?Olle_J=E4rnefors?= <ojarnef@admin.kth.se>", "Olle J\xC3\xA4rnefors <ojarnef@admin.kth.se>"},
      {"Nathaniel Borenstein <nsb@thumper.bellcore.com> (=?iso-8859-8?b?7eXs+SDv4SDp7Oj08A==?=)",
       "Nathaniel Borenstein <nsb@thumper.bellcore.com> (\xD7\x9D\xD7\x95\xD7\x9C\xD7\xA9 \xD7\x9F\xD7\x91 "
       "\xD7\x99\xD7\x9C\xD7\x98\xD7\xA4\xD7\xA0)"},
      {"=?ISO-8859-1?Q?Patrik_F=E4ltstr=F6m?= <paf@nada.kth.se>", "Patrik F\xC3\xA4ltstr\xC3\xB6m <paf@nada.kth.se>"},
  };
  for (const auto& c : cases) EXPECT_EQ(decode_rfc2047(c.in), c.out) << c.in;
}

TEST(Rfc2047, InvalidWordsStayAsTheyAre) {
  const char* same[] = {
      "=?utf-8?q?unterminated", "=?utf-8?x?bad encoding?=", "=??q?nocharset?=", "=?utf-8?q?has space?=",
      "=?utf-8?q?", "=?", "a =? b ?= c", "=?utf-8?b?",
  };
  for (const char* s : same) EXPECT_EQ(decode_rfc2047(s), s) << s;
}

TEST(Rfc2047, JoinsSplitCharactersAndLanguageTags) {
  // "ñ" (C3 B1) split across two B words, as some mailers do.
  EXPECT_EQ(decode_rfc2047("=?utf-8?b?YcM=?= =?utf-8?b?sW8=?="), "a\xC3\xB1o");
  EXPECT_EQ(decode_rfc2047("=?UTF-8*es?Q?a=C3=B1o?="), "a\xC3\xB1o");  // RFC 2231 §5
  EXPECT_EQ(decode_rfc2047("x=?utf-8?q?y?=z"), "xyz");  // recognised inside words too
  EXPECT_EQ(decode_rfc2047("caf\xE9 =?utf-8?q?ok?="), "caf\xC3\xA9 ok");  // raw Latin-1 around it
  EXPECT_EQ(decode_header_value(" =?utf-8?q?a?=\r\n b"), "a b");
}

TEST(Rfc2047, Bounded) {
  std::string many;
  for (int i = 0; i < 100000; ++i) many += "=?utf-8?q?abc?= ";
  EXPECT_EQ(decode_rfc2047(many, 1000).size(), 1000u);
  std::string traps;
  for (int i = 0; i < 100000; ++i) traps += "=?a?q?";
  EXPECT_EQ(decode_rfc2047(traps), traps);
}

TEST(Charset, Conversions) {
  EXPECT_EQ(to_utf8("a\xF1o", "ISO-8859-1"), "a\xC3\xB1o");
  EXPECT_EQ(to_utf8("\x93x\x94 \x80", "windows-1252"), "\xE2\x80\x9Cx\xE2\x80\x9D \xE2\x82\xAC");
  EXPECT_EQ(to_utf8("\xA4", "iso-8859-15"), "\xE2\x82\xAC");
  EXPECT_EQ(to_utf8("\xD0\xD2\xC9\xD7\xC5\xD4", "KOI8-R"), "\xD0\xBF\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82");
  EXPECT_EQ(to_utf8("\x93\xFA\x96{", "Shift_JIS"), "\xE6\x97\xA5\xE6\x9C\xAC");
  EXPECT_EQ(to_utf8("\x1b$BF|K\\\x1b(B", "ISO-2022-JP"), "\xE6\x97\xA5\xE6\x9C\xAC");
  EXPECT_EQ(to_utf8("ok", "\"utf-8\""), "ok");
}

TEST(Charset, InvalidAndUnknown) {
  EXPECT_EQ(to_utf8("a\xFF" "b", "utf-8"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(to_utf8("\xED\xA0\x80", "utf-8"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // no surrogates
  EXPECT_EQ(to_utf8("a\xC3\xB1o", "x-unknown"), "a\xC3\xB1o");  // valid UTF-8 stays
  EXPECT_EQ(to_utf8("a\xF1o", "x-unknown"), "a\xC3\xB1o");      // else Latin-1
  EXPECT_EQ(to_utf8("a\xF1o", "us-ascii"), "a\xC3\xB1o");       // mislabelled 8-bit
  EXPECT_EQ(to_utf8("a\xF1o", "utf-8//TRANSLIT"), "a\xC3\xB1o");  // never handed to iconv
  EXPECT_EQ(to_utf8("\x82\xA0\xFF", "shift_jis"), "\xE3\x81\x82\xEF\xBF\xBD");
  EXPECT_EQ(to_utf8(std::string("a\0", 2), "utf-16le"), "a");
  EXPECT_EQ(to_utf8(std::string("a\0b", 3), "utf-16le"), "a\xEF\xBF\xBD");  // incomplete at the end
  EXPECT_TRUE(charset_known("ISO-8859-2"));
  EXPECT_FALSE(charset_known("x-no-such-charset"));
}

TEST(Charset, IconvOutputIsCheckedToo) {
  // Found by fuzz/mime_decode.cpp (fuzz/corpus/mime_decode/crash-iconv-five-byte-utf8): glibc
  // reads "utf-(8" as UTF-8 and lets an old 5-octet form through.
  std::string out = to_utf8("\xF9\x8C\x8C\x8C\x8C", "utf-(8");
  EXPECT_TRUE(text::valid_utf8(out));
  EXPECT_TRUE(text::valid_utf8(decode_rfc2047("=?utf-(8?q?=F9=8C=8C=8C=8C?=")));
}

TEST(Charset, FuzzCorpusInputsGiveValidUtf8) {
  for (const auto& e : std::filesystem::directory_iterator(std::string(VALIJA_SOURCE_DIR) + "/fuzz/corpus/mime_decode")) {
    std::string in = testing::read_file(e.path().string());
    for (const char* cs : {"utf-8", "shift_jis", "iso-2022-jp", "utf-16", "gb18030", "x-unknown"})
      EXPECT_TRUE(text::valid_utf8(to_utf8(in, cs, 4096))) << e.path() << " " << cs;
    std::string h = decode_rfc2047(in, 4096);
    EXPECT_TRUE(text::valid_utf8(h)) << e.path();
    EXPECT_TRUE(text::valid_utf8(fold_case(h))) << e.path();
  }
}

TEST(Charset, OutputIsBoundedOnCharacterBoundaries) {
  std::string latin(1000, '\xF1');
  EXPECT_EQ(to_utf8(latin, "iso-8859-1", 11).size(), 10u);
  EXPECT_EQ(to_utf8(latin, "iso-8859-2", 11).size(), 10u);
  EXPECT_EQ(sanitize_utf8("\xE6\x97\xA5\xE6\x9C\xAC", 5), "\xE6\x97\xA5");
}

TEST(Charset, ThreadsEachUseTheirOwnDescriptors) {
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      const char* names[] = {"iso-8859-2", "koi8-r", "shift_jis", "iso-8859-15", "cp1251"};
      for (int i = 0; i < 2000; ++i) {
        auto cs = names[(i + t) % 5];
        if (to_utf8("abc", cs) != "abc") ++bad;
        // Many distinct names push entries out of the per-thread cache.
        to_utf8("x", "x-junk-" + std::to_string(i % 40));
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST(FoldCase, Table) {
  struct Case {
    const char* in;
    const char* out;
  };
  const Case cases[] = {
      {"HeLLo 123", "hello 123"},
      {"A\xC3\x91O", "a\xC3\xB1o"},                          // AÑO
      {"Stra\xC3\x9F" "e", "strasse"},                        // Straße
      {"\xC5\x81\xC3\x93" "D\xC5\xB9", "\xC5\x82\xC3\xB3" "d\xC5\xBA"},  // ŁÓDŹ (Latin Extended-A)
      {"\xC7\x84", "\xC7\x86"},                               // Ǆ (Latin Extended-B)
      {"\xC8\xA0", "\xC6\x9E"},                               // Ƞ
      {"\xCE\xA3\xCE\x8A\xCE\xA3\xCE\xA5\xCE\xA6\xCE\x9F\xCE\xA3", "\xCF\x83\xCE\xAF\xCF\x83\xCF\x85\xCF\x86\xCE\xBF\xCF\x83"},
      {"\xCF\x82", "\xCF\x83"},                               // final sigma
      {"\xD0\x9F\xD0\xA0\xD0\x98\xD0\x92\xD0\x95\xD0\xA2", "\xD0\xBF\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82"},
      {"\xD0\x81\xD1\x97", "\xD1\x91\xD1\x97"},               // Ё ї
      {"\xC4\xB0stanbul", "istanbul"},                        // İ: see fold_case.hpp
      {"\xC2\xB5", "\xCE\xBC"},                               // micro sign
      {"\xE1\xBA\x9E", "ss"},                                 // ẞ
      {"\xEF\xBC\xA1", "\xEF\xBD\x81"},                       // fullwidth Ａ
      {"\xE6\x97\xA5\xE6\x9C\xAC", "\xE6\x97\xA5\xE6\x9C\xAC"},
      {"bad\xFF", "bad\xEF\xBF\xBD"},
  };
  for (const auto& c : cases) EXPECT_EQ(fold_case(c.in), c.out) << c.in;
}

TEST(SearchText, Windows1252Base64BodyFoundCaseInsensitively) {
  std::string msg = testing::corpus("windows1252_base64");
  auto part = mime::parse(msg);
  std::string body = searchable_text(msg, part, SearchScope::Body);
  std::string text = searchable_text(msg, part, SearchScope::Text);
  EXPECT_NE(fold_case(body).find(fold_case("A\xC3\x91O NUEVO")), std::string::npos) << body;
  EXPECT_NE(body.find("\xE2\x80\x9C" "2024\xE2\x80\x9D"), std::string::npos);  // “2024” from cp1252
  EXPECT_NE(fold_case(body).find(fold_case("otro A\xC3\x91O")), std::string::npos);  // ISO-8859-1 QP
  EXPECT_EQ(fold_case(body).find("feliz a\xC3\xB1o\n"), std::string::npos);  // the subject is a header
  EXPECT_NE(text.find("Subject: Feliz A\xC3\x91O\n"), std::string::npos) << text;
  EXPECT_NE(text.find("From: Mar\xC3\xAD" "a Pe\xC3\xB1" "a <maria@example.es>"), std::string::npos);
}

TEST(SearchText, SkipsNonTextAndIsBounded) {
  std::string msg = testing::corpus("mixed_attachments");
  auto part = mime::parse(msg);
  std::string body = searchable_text(msg, part, SearchScope::Body);
  EXPECT_NE(body.find("Caf\xC3\xA9 at 10?"), std::string::npos);
  EXPECT_EQ(body.find("PDF"), std::string::npos);
  EXPECT_EQ(searchable_text(msg, part, SearchScope::Text, 20).size(), 20u);
  std::string fwd = testing::corpus("rfc822_attachment");
  std::string t = searchable_text(fwd, mime::parse(fwd), SearchScope::Body);
  EXPECT_NE(t.find("Subject: the original\n"), std::string::npos);  // encapsulated header is body
  EXPECT_NE(t.find("<p>original text</p>"), std::string::npos);
}

}  // namespace
}  // namespace valija::mail
