; Labels, texts, prompts and personas are minijinja templates (`{{ a.label }}`, `{% if %}`):
; a string part that holds a Jinja delimiter is handed to the `jinja` grammar, where the
; editor has one (Helix and nvim-treesitter both name it so). The pattern is written with
; brackets alone, which read the same as a Rust regex (Helix) and as a Vim regex (Neovim's
; `#match?`), where `\{` starts a count.
((string_content) @injection.content
  (#match? @injection.content "[{][{%#]")
  (#set! injection.language "jinja"))

((comment) @injection.content
  (#set! injection.language "comment"))
