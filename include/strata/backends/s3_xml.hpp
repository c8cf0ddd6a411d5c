#pragma once
/// \file
/// The S3 tier's XML: the DeleteObjects request body, and parsing of the
/// DeleteResult, ListBucketResult (ListObjectsV2) and Error documents with
/// pugixml. Elements are matched by local name, so a document parses the same
/// whatever its namespace (s3rver's differs from AWS's) or prefix. A document
/// that is not well-formed, or lacks what it must hold, yields nullopt: a
/// malformed answer is an error, never a crash and never a guess.

#include "strata/core/config.hpp"

#include <cstddef>      // std::size_t
#include <cstring>      // std::strchr
#include <optional>     // std::optional
#include <span>         // std::span
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <vector>       // std::vector

#include <pugixml.hpp>

STRATA_BEGIN_NAMESPACE

namespace detail::s3 {

/// An element's name without its namespace prefix.
inline std::string_view local_name(const pugi::xml_node& node) noexcept {
  const char* name = node.name();
  const char* colon = std::strchr(name, ':');
  return colon != nullptr ? std::string_view(colon + 1) : std::string_view(name);
}

/// The first child element called `name` (any prefix), or an empty node.
inline pugi::xml_node child(const pugi::xml_node& parent, std::string_view name) noexcept {
  for (pugi::xml_node node = parent.first_child(); node; node = node.next_sibling())
    if (node.type() == pugi::node_element && local_name(node) == name) return node;
  return {};
}

inline std::optional<pugi::xml_document> parse_xml(std::string_view text) {
  std::optional<pugi::xml_document> doc(std::in_place);
  if (!doc->load_buffer(text.data(), text.size())) return std::nullopt;
  return doc;
}

/// The document element if it is called `name`, else an empty node.
inline pugi::xml_node root(const pugi::xml_document& doc, std::string_view name) noexcept {
  const pugi::xml_node element = doc.document_element();
  return element && local_name(element) == name ? element : pugi::xml_node{};
}

inline void append_escaped(std::string& out, std::string_view text) {
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out.push_back(c);
    }
  }
}

/// The body of a DeleteObjects request (not quiet: every key is answered).
inline std::string delete_request_body(std::span<const std::string> object_names) {
  std::string body = R"(<?xml version="1.0" encoding="UTF-8"?><Delete>)";
  for (const std::string& name : object_names) {
    body += "<Object><Key>";
    append_escaped(body, name);
    body += "</Key></Object>";
  }
  body += "</Delete>";
  return body;
}

/// One answer of a DeleteResult: the object name, and the error code when it
/// was not deleted (empty when it was).
struct DeleteAnswer {
  std::string name;
  std::string error_code;
};

inline std::optional<std::vector<DeleteAnswer>> parse_delete_result(std::string_view text) {
  const auto doc = parse_xml(text);
  if (!doc) return std::nullopt;
  const pugi::xml_node result = root(*doc, "DeleteResult");
  if (!result) return std::nullopt;
  std::vector<DeleteAnswer> answers;
  for (pugi::xml_node node = result.first_child(); node; node = node.next_sibling()) {
    if (node.type() != pugi::node_element) continue;
    const std::string_view kind = local_name(node);
    if (kind != "Deleted" && kind != "Error") continue;
    const pugi::xml_node key = child(node, "Key");
    if (!key) return std::nullopt;
    DeleteAnswer answer{key.child_value(), {}};
    if (kind == "Error") {
      answer.error_code = child(node, "Code").child_value();
      if (answer.error_code.empty()) answer.error_code = "Unknown";
    }
    answers.push_back(std::move(answer));
  }
  return answers;
}

/// One page of a ListObjectsV2 answer.
struct ListAnswer {
  std::vector<std::string> names;
  bool truncated = false;
  std::string next_token;
};

inline std::optional<ListAnswer> parse_list_result(std::string_view text) {
  const auto doc = parse_xml(text);
  if (!doc) return std::nullopt;
  const pugi::xml_node result = root(*doc, "ListBucketResult");
  if (!result) return std::nullopt;
  ListAnswer answer;
  for (pugi::xml_node node = result.first_child(); node; node = node.next_sibling()) {
    if (node.type() != pugi::node_element || local_name(node) != "Contents") continue;
    const pugi::xml_node key = child(node, "Key");
    if (!key) return std::nullopt;
    answer.names.emplace_back(key.child_value());
  }
  const std::string_view truncated = child(result, "IsTruncated").child_value();
  answer.truncated = truncated == "true";
  if (answer.truncated) {
    answer.next_token = child(result, "NextContinuationToken").child_value();
    if (answer.next_token.empty()) return std::nullopt;  // a truncated page must say where to go on
  }
  return answer;
}

/// The Code of an S3 <Error> document ("SlowDown", "AccessDenied", ...), or
/// empty when the text is not one.
inline std::string error_code_of(std::string_view text) {
  const auto doc = parse_xml(text);
  if (!doc) return {};
  return child(root(*doc, "Error"), "Code").child_value();
}

}  // namespace detail::s3

STRATA_END_NAMESPACE
