; Highlights for quandary (.qd). The capture names are Helix's scopes; Neovim falls back
; from `@constant.numeric` to `@constant` and so on (docs/editors.md).

(comment) @comment

(string) @string
(escape_sequence) @constant.character.escape

(number) @constant.numeric

; ------------------------------------------------------------------ keywords

[
  "framework" "use" "as" "map" "conflict" "prefer" "wiser" "rule" "profile" "scenario"
  "suite" "prompt" "steer" "constitution" "judge" "question" "stance" "populations"
] @keyword

[
  "source" "version" "license" "levels" "describe" "kind" "alias" "when" "in" "weight"
  "note" "upholds" "violates" "context" "topic" "slot" "pick" "from" "text" "action"
  "affects" "follows" "either" "relevance" "seed" "count" "each" "balance" "twins"
  "require" "distractors" "order" "persona" "pass" "languages" "option" "reference"
  "statement" "reversed" "system" "user" "labels" "instruction" "answer" "toward" "away"
  "principle" "verdict" "scale" "to" "show"
] @keyword

[
  (verbatim)
  (indirectly)
  (distractor)
  (dedupe)
] @keyword

; The level keyword of a value node (`value`, `foundation`, …: the framework's `levels`).
(value_node level: (identifier) @keyword)
(levels level: (identifier) @keyword)

; ------------------------------------------------------------------ names

; Declarations: the id an item, a value or an action introduces.
(framework name: (identifier) @type)
(value_node name: (identifier) @type)
(rule name: (identifier) @type)
(profile name: (identifier) @type)
(scenario name: (identifier) @type)
(suite name: (identifier) @type)
(prompt name: (identifier) @type)
(steer name: (identifier) @type)
(constitution name: (identifier) @type)
(judge name: (identifier) @type)
(question name: (identifier) @type)
(stance name: (identifier) @type)
(action name: (identifier) @function)
(option name: (identifier) @function)

; The variables a scenario binds, and their uses.
(slot name: (identifier) @variable.parameter)
(pick name: (identifier) @variable.parameter)
(follows (identifier) @variable.parameter)

; `use "…" as ns` and `ns.id`.
(use namespace: (identifier) @namespace)
(reference namespace: (identifier) @namespace)
(namespace_all namespace: (identifier) @namespace)
(namespace_all "*" @operator)
(reference name: (identifier) @variable)

; `children(x)`, `conflicts(…)`, …
(set_call function: (identifier) @function.builtin)

; The word a setting takes: `balance pairs`, `answer choice`, `verdict stance`, `kind duty`, …
(show mode: (identifier) @constant)
(balance mode: (identifier) @constant)
(twins mode: (identifier) @constant)
(require mode: (identifier) @constant)
(order mode: (identifier) @constant)
(labels mode: (identifier) @constant)
(answer mode: (identifier) @constant)
(verdict mode: (identifier) @constant)
(verdict_labels label: (identifier) @constant)
(kind kind: (identifier) @constant)

(context (identifier) @label)
(party (identifier) @variable)

(language_tag) @attribute

; ------------------------------------------------------------------ operators and punctuation

[ "<>" ">" "=>" "=" "+" "-" ] @operator

[ "{" "}" "[" "]" "(" ")" ] @punctuation.bracket

[ "," "." ] @punctuation.delimiter
