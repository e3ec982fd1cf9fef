// The text inside strings, scanned here rather than by the generated lexer so that a `#` at
// its start is text, not the start of a comment (the lexer would take the longer comment).
//
// - STRING_CONTENT: a run of a plain string's characters up to a `"`, a `\` (an escape, which
//   the grammar reads) or the end of the line (pest: plain_string).
// - TRIPLE_CONTENT: a triple-quoted string's text up to the first `"""` (pest: triple_string).

#include "tree_sitter/parser.h"

enum TokenType {
  STRING_CONTENT,
  TRIPLE_CONTENT,
};

void *tree_sitter_quandary_external_scanner_create(void) { return NULL; }

void tree_sitter_quandary_external_scanner_destroy(void *payload) { (void)payload; }

unsigned tree_sitter_quandary_external_scanner_serialize(void *payload, char *buffer) {
  (void)payload;
  (void)buffer;
  return 0;
}

void tree_sitter_quandary_external_scanner_deserialize(void *payload, const char *buffer,
                                                       unsigned length) {
  (void)payload;
  (void)buffer;
  (void)length;
}

static bool scan_plain(TSLexer *lexer) {
  bool any = false;
  while (!lexer->eof(lexer) && lexer->lookahead != '"' && lexer->lookahead != '\\' &&
         lexer->lookahead != '\n') {
    lexer->advance(lexer, false);
    any = true;
  }
  lexer->result_symbol = STRING_CONTENT;
  return any;
}

static bool scan_triple(TSLexer *lexer) {
  bool any = false;
  lexer->result_symbol = TRIPLE_CONTENT;
  while (!lexer->eof(lexer)) {
    if (lexer->lookahead == '"') {
      // The text ends before these quotes if they are three.
      lexer->mark_end(lexer);
      unsigned quotes = 0;
      while (quotes < 3 && lexer->lookahead == '"') {
        lexer->advance(lexer, false);
        quotes++;
      }
      if (quotes == 3) {
        return any;
      }
      any = true;
    } else {
      lexer->advance(lexer, false);
      any = true;
    }
  }
  lexer->mark_end(lexer);
  return any;
}

bool tree_sitter_quandary_external_scanner_scan(void *payload, TSLexer *lexer,
                                                const bool *valid_symbols) {
  (void)payload;
  // Both at once only during error recovery: leave that to the generated lexer.
  if (valid_symbols[STRING_CONTENT] && valid_symbols[TRIPLE_CONTENT]) {
    return false;
  }
  if (valid_symbols[STRING_CONTENT]) {
    return scan_plain(lexer);
  }
  if (valid_symbols[TRIPLE_CONTENT]) {
    return scan_triple(lexer);
  }
  return false;
}
