; A scenario binds variables with `slot` and `pick`; `follows x` names one of them.

(scenario_body) @local.scope

(slot name: (identifier) @local.definition)
(pick name: (identifier) @local.definition)

(follows (identifier) @local.reference)
(reference . name: (identifier) @local.reference .)
