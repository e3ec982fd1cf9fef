/**
 * @file The quandary language (`.qd`): value frameworks, dilemma templates, suites,
 * questions, stances, prompts, steers, constitutions and judges.
 * @license MIT OR Apache-2.0
 *
 * A transcription of grammar/quandary.pest, the language's single source of truth, for
 * editors that highlight with tree-sitter (Helix, Neovim). Every rule below carries the name
 * of the pest rule it follows. It parses every file of the repository that `quandary fmt`
 * accepts (bindings/rust/tests.rs holds it to that); where it is looser than pest:
 *
 * - an item need not end at the end of its line (pest: `item_line`);
 * - a language tag is any identifier, or a tag with `-` subtags (pest: `lang`, 2–3 lower-case
 *   letters first);
 * - `ns.id` may have spaces after the dot (pest: `reference`, compound-atomic);
 * - reserved words are keywords only where one of them may stand (tree-sitter's keyword
 *   extraction), so `source x` at the top level reads as a value node where pest refuses it.
 */

/// <reference types="tree-sitter-cli/dsl" />
// @ts-check

/**
 * One or more of `rule`, separated by commas.
 * @param {RuleOrLiteral} rule
 */
function commaSep1(rule) {
  return seq(rule, repeat(seq(',', rule)));
}

/**
 * A keyword, then an optional `.tag` (a translation of the text): `text.zh`, `system.zh`.
 * @param {GrammarSymbols<string>} $
 * @param {string} keyword
 */
function keyed(keyword, $) {
  return seq(keyword, optional(seq(token.immediate('.'), field('language', $.language_tag))));
}

module.exports = grammar({
  name: 'quandary',

  // pest: WHITESPACE, COMMENT. A leading byte-order mark is accepted, as the tools accept it.
  extras: $ => [/[\s\uFEFF]/, $.comment],

  // The text inside strings (src/scanner.c).
  externals: $ => [$.string_content, $._triple_content],

  word: $ => $.identifier,

  rules: {
    // pest: file
    source_file: $ => repeat($._item),

    // pest: item
    _item: $ => choice(
      $.framework,
      $.use,
      $.map,
      $.conflict,
      $.prefer,
      $.wiser,
      $.rule,
      $.profile,
      $.scenario,
      $.suite,
      $.prompt,
      $.steer,
      $.constitution,
      $.judge,
      $.question,
      $.stance,
      $.populations,
      $.value_node,
    ),

    // ------------------------------------------------------------ lexical pieces

    comment: _ => token(seq('#', /.*/)),

    // pest: ident
    identifier: _ => /[A-Za-z_][A-Za-z0-9_]*/,

    // pest: reference (`ns.id` or `id`)
    reference: $ => seq(
      optional(seq(field('namespace', $.identifier), token.immediate('.'))),
      field('name', $.identifier),
    ),

    // pest: string, plain_string, escape, triple_string
    string: $ => choice(
      seq('"', repeat(choice($.string_content, $.escape_sequence)), '"'),
      seq('"""', optional(alias($._triple_content, $.string_content)), '"""'),
    ),
    escape_sequence: _ => token.immediate(/\\(["\\ntr]|u\{[0-9A-Fa-f]{1,6}\})/),

    // pest: number
    number: _ => /-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/,

    // pest: lang (`zh`, `fr`, `pt-BR`, `zh-Hant`)
    language_tag: $ => choice($.identifier, /[a-z]{2,3}(-[A-Za-z0-9]+)+/),

    // pest: translation
    translation: $ => seq(field('language', $.language_tag), field('text', $.string)),

    // pest: context (a word or a string)
    context: $ => choice($.identifier, $.string),

    // ------------------------------------------------------------ framework header

    // pest: framework
    framework: $ => seq(
      'framework',
      field('name', $.identifier),
      optional(field('label', $.string)),
      optional(field('body', $.framework_body)),
    ),
    // pest: framework_body
    framework_body: $ => seq(
      '{',
      repeat(choice($.source, $.version, $.license, $.levels, $.describe, $.translation)),
      '}',
    ),
    source: $ => seq('source', field('text', $.string)),
    version: $ => seq('version', field('text', $.string)),
    license: $ => seq('license', field('text', $.string)),
    levels: $ => seq('levels', commaSep1(field('level', $.identifier))),
    describe: $ => seq('describe', field('text', $.string)),

    // ------------------------------------------------------------ imports and mappings

    // pest: use_decl
    use: $ => seq('use', field('path', $.string), 'as', field('namespace', $.identifier)),
    // pest: map_decl
    map: $ => seq(
      'map',
      field('value', $.reference),
      '=>',
      commaSep1(field('target', $.reference)),
    ),

    // ------------------------------------------------------------ relations

    // pest: conflict
    conflict: $ => seq(
      'conflict',
      field('left', $.reference),
      '<>',
      field('right', $.reference),
      optional($._relation_attributes),
    ),
    // pest: prefer
    prefer: $ => seq(
      'prefer',
      field('left', $.reference),
      '>',
      field('right', $.reference),
      optional($.when),
      optional($._relation_attributes),
    ),
    // pest: wiser
    wiser: $ => seq(
      'wiser',
      field('left', $.reference),
      '>',
      field('right', $.reference),
      optional($.in),
      optional($._relation_attributes),
    ),
    when: $ => seq('when', $.context),
    in: $ => seq('in', $.context),
    // pest: relation_attr (`weight` and `note`, each at most once, in either order)
    _relation_attributes: $ => choice(
      seq($.weight, optional($.note)),
      seq($.note, optional($.weight)),
    ),
    weight: $ => seq('weight', $.number),
    note: $ => seq('note', field('text', $.string)),

    // ------------------------------------------------------------ rules and profiles

    // pest: rule
    rule: $ => seq(
      'rule',
      field('name', $.identifier),
      field('text', $.string),
      optional(field('body', $.rule_body)),
    ),
    rule_body: $ => seq(
      '{',
      repeat(choice($.upholds, $.violates, $.context_list, $.describe, $.translation)),
      '}',
    ),
    // pest: upholds_attr, violates_attr
    upholds: $ => seq('upholds', commaSep1($.reference)),
    violates: $ => seq('violates', commaSep1($.reference)),
    // pest: context_attr
    context_list: $ => seq('context', commaSep1($.context)),

    // pest: profile
    profile: $ => seq(
      'profile',
      field('name', $.identifier),
      optional(field('label', $.string)),
      field('body', $.profile_body),
    ),
    profile_body: $ => seq('{', repeat(choice($.describe, $.profile_entry)), '}'),
    profile_entry: $ => seq($.reference, $.number),

    // ------------------------------------------------------------ scenarios

    // pest: scenario
    scenario: $ => seq(
      'scenario',
      field('name', $.identifier),
      optional(field('label', $.string)),
      field('body', $.scenario_body),
    ),
    scenario_body: $ => seq(
      '{',
      repeat(choice(
        $.topic,
        $.slot,
        $.pick,
        $.text,
        $.action,
        $.describe,
        $.verbatim,
        $.show,
      )),
      '}',
    ),
    // pest: verbatim_flag
    verbatim: _ => 'verbatim',
    // pest: show_attr, show_mode
    show: $ => seq('show', $.number, optional(field('mode', $.identifier))),
    // pest: topic_attr
    topic: $ => seq('topic', $.context),
    // pest: slot_decl
    slot: $ => seq(
      'slot',
      field('name', $.identifier),
      '=',
      field('values', choice($.string_list, $.set_call)),
    ),
    string_list: $ => seq('[', optional(seq(commaSep1($.string), optional(','))), ']'),
    // pest: set_call (`children(x)`, `conflicts(…)`, …)
    set_call: $ => seq(
      field('function', $.identifier),
      '(',
      optional(commaSep1(choice($.namespace_all, $.reference, $.string))),
      ')',
    ),
    // pest: namespace_all (`ns.*`)
    namespace_all: $ => seq(
      field('namespace', $.identifier),
      token.immediate('.'),
      token.immediate('*'),
    ),
    // pest: pick_decl
    pick: $ => seq(
      'pick',
      field('name', $.identifier),
      ',',
      field('name', $.identifier),
      'from',
      $.set_call,
    ),
    // pest: text_attr, text_key
    text: $ => seq(keyed('text', $), field('text', $.string)),
    // pest: action
    action: $ => seq(
      'action',
      field('name', $.identifier),
      optional(field('label', $.string)),
      optional(field('body', $.action_body)),
    ),
    action_body: $ => seq(
      '{',
      repeat(choice(
        $.action_upholds,
        $.action_violates,
        $.either,
        $.affects,
        $.follows,
        $.distractor,
        $.describe,
        $.translation,
      )),
      '}',
    ),
    // pest: action_upholds, upheld, relevance
    action_upholds: $ => seq('upholds', optional($.indirectly), commaSep1($.upheld)),
    upheld: $ => seq($.reference, optional($.relevance)),
    relevance: $ => seq('relevance', $.number),
    // pest: action_either
    either: $ => seq('either', commaSep1($.reference)),
    // pest: action_violates
    action_violates: $ => seq('violates', optional($.indirectly), commaSep1($.reference)),
    indirectly: _ => 'indirectly',
    // pest: affects_attr, party, sign
    affects: $ => seq('affects', optional($.indirectly), commaSep1($.party)),
    party: $ => seq(choice($.identifier, $.string), optional(field('sign', choice('+', '-')))),
    // pest: follows_attr
    follows: $ => seq('follows', $.identifier),
    // pest: distractor_flag
    distractor: _ => 'distractor',

    // ------------------------------------------------------------ suites

    // pest: suite
    suite: $ => seq(
      'suite',
      field('name', $.identifier),
      optional(field('label', $.string)),
      field('body', $.suite_body),
    ),
    suite_body: $ => seq(
      '{',
      repeat(choice(
        $.seed,
        $.from,
        $.count,
        $.each,
        $.balance,
        $.twins,
        $.require,
        $.dedupe,
        $.distractors,
        $.order,
        $.persona,
        $.pass,
        $.languages,
        $.suite_judge,
        $.describe,
      )),
      '}',
    ),
    seed: $ => seq('seed', $.number),
    from: $ => seq('from', commaSep1($.reference)),
    count: $ => seq('count', $.number),
    each: $ => seq('each', $.number),
    balance: $ => seq('balance', field('mode', $.identifier)),
    twins: $ => seq('twins', field('mode', $.identifier)),
    require: $ => seq('require', field('mode', $.identifier)),
    dedupe: _ => 'dedupe',
    distractors: $ => seq('distractors', $.number),
    order: $ => seq('order', field('mode', $.identifier)),
    persona: $ => seq('persona', field('text', $.string)),
    pass: $ => seq('pass', optional(field('population', $.string)), $.number),
    languages: $ => seq('languages', commaSep1($.language_tag)),
    // pest: judge_attr
    suite_judge: $ => seq('judge', $.reference),

    // ------------------------------------------------------------ questions and stances

    // pest: question
    question: $ => seq(
      'question',
      field('name', $.identifier),
      field('text', $.string),
      optional(field('body', $.question_body)),
    ),
    question_body: $ => seq(
      '{',
      repeat(choice($.option, $.population_reference, $.text, $.source, $.describe)),
      '}',
    ),
    // pest: option_decl
    option: $ => seq(
      'option',
      field('name', $.identifier),
      field('text', $.string),
      repeat($.translation),
    ),
    // pest: reference_decl, number_list
    population_reference: $ => seq('reference', field('population', $.string), $.number_list),
    number_list: $ => seq('[', optional(seq(commaSep1($.number), optional(','))), ']'),

    // pest: stance
    stance: $ => seq(
      'stance',
      field('name', $.identifier),
      field('text', $.string),
      optional(field('body', $.stance_body)),
    ),
    stance_body: $ => seq(
      '{',
      repeat(choice($.stance_question, $.statement, $.reversed, $.source, $.describe)),
      '}',
    ),
    // pest: question_attr, statement_attr, reversed_attr
    stance_question: $ => seq(keyed('question', $), field('text', $.string)),
    statement: $ => seq(keyed('statement', $), field('text', $.string)),
    reversed: $ => seq(keyed('reversed', $), field('text', $.string)),

    // pest: populations
    populations: $ => seq('populations', '{', repeat($.population_aliases), '}'),
    population_aliases: $ => seq(
      field('population', $.string),
      'alias',
      commaSep1(field('alias', $.string)),
    ),

    // ------------------------------------------------------------ presentation

    // pest: prompt
    prompt: $ => seq(
      'prompt',
      field('name', $.identifier),
      optional(field('label', $.string)),
      field('body', $.prompt_body),
    ),
    prompt_body: $ => seq(
      '{',
      repeat(choice($.system, $.user, $.labels, $.instruction, $.answer, $.describe)),
      '}',
    ),
    // pest: system_attr, user_attr, instruction_attr
    system: $ => seq(keyed('system', $), field('text', $.string)),
    user: $ => seq(keyed('user', $), field('text', $.string)),
    instruction: $ => seq(keyed('instruction', $), field('text', $.string)),
    labels: $ => seq('labels', field('mode', $.identifier)),
    answer: $ => seq('answer', field('mode', $.identifier)),

    // pest: steer
    steer: $ => seq(
      'steer',
      field('name', $.identifier),
      optional(field('label', $.string)),
      field('body', $.steer_body),
    ),
    steer_body: $ => seq(
      '{',
      repeat(choice($.system, $.toward, $.away, $.source, $.describe)),
      '}',
    ),
    toward: $ => seq('toward', commaSep1($.reference)),
    away: $ => seq('away', commaSep1($.reference)),

    // pest: constitution
    constitution: $ => seq(
      'constitution',
      field('name', $.identifier),
      optional(field('label', $.string)),
      field('body', $.constitution_body),
    ),
    constitution_body: $ => seq('{', repeat(choice($.principle, $.source, $.describe)), '}'),
    principle: $ => seq('principle', field('text', $.string)),

    // pest: judge
    judge: $ => seq(
      'judge',
      field('name', $.identifier),
      optional(field('label', $.string)),
      field('body', $.judge_body),
    ),
    judge_body: $ => seq(
      '{',
      repeat(choice(
        $.judge_system,
        $.judge_user,
        $.judge_instruction,
        $.verdict,
        $.describe,
      )),
      '}',
    ),
    // A judge's texts have no translations.
    judge_system: $ => seq('system', field('text', $.string)),
    judge_user: $ => seq('user', field('text', $.string)),
    judge_instruction: $ => seq('instruction', field('text', $.string)),
    // pest: verdict_attr, verdict_labels, verdict_scale, verdict_word
    // `verdict labels` or `verdict scale` alone is the word itself, as in pest.
    verdict: $ => seq('verdict', choice(
      $.verdict_labels,
      $.verdict_scale,
      field('mode', choice(
        $.identifier,
        alias('labels', $.identifier),
        alias('scale', $.identifier),
      )),
    )),
    verdict_labels: $ => seq('labels', commaSep1(field('label', $.identifier))),
    verdict_scale: $ => seq('scale', field('low', $.number), 'to', field('high', $.number)),

    // ------------------------------------------------------------ value nodes

    // pest: node, level_word
    value_node: $ => seq(
      field('level', $.identifier),
      field('name', $.identifier),
      optional(field('label', $.string)),
      optional(field('body', $.node_body)),
    ),
    // pest: node_body
    node_body: $ => seq(
      '{',
      repeat(choice($.describe, $.kind, $.alias, $.translation, $.value_node)),
      '}',
    ),
    kind: $ => seq('kind', field('kind', $.identifier)),
    alias: $ => seq('alias', commaSep1($.string)),
  },
});
