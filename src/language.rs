//! The wording quandary gives a model, and reads back from it, in each language it knows:
//! the default answer instruction, the `Action N` label, the markers of a final answer and
//! the phrases of a refusal. English is always read as well, since models often answer in
//! English whatever they are asked in.

/// What quandary says and reads in one language.
#[derive(Debug)]
pub struct Wording {
    /// Its primary language subtag (`de`, `zh`).
    pub tag: &'static str,
    /// Joins the last two labels of a list (`A, B or C`).
    pub or: &'static str,
    /// Separates the other labels of a list.
    pub comma: &'static str,
    /// The instruction for a forced choice by letter; `{list}` is the labels.
    pub letters: &'static str,
    /// The instruction for a forced choice by action label.
    pub actions: &'static str,
    /// The instruction for reasoning first; it names the final-answer marker.
    pub reasoning: &'static str,
    /// The instruction for a free-form answer.
    pub free: &'static str,
    /// How an agent (`profile`, `random`) says its choice in a free-form answer; `{option}`
    /// is the option's text. English lowers the option's first letter: "I would keep quiet."
    pub choose: &'static str,
    /// A stance's choice between its statement and its reversal, without a question.
    pub which: &'static str,
    /// The question before a statement to agree or disagree with.
    pub agree_or_not: &'static str,
    /// The options of an agree/disagree line.
    pub agree: &'static str,
    /// See [`Wording::agree`].
    pub disagree: &'static str,
    /// The word of an `Action N` label.
    pub action: &'static str,
    /// Markers of a final answer (lower case), each with the rule it records.
    pub markers: &'static [(&'static str, &'static str)],
    /// Words before a label that say nothing else ("answer", "option"), lower case.
    pub prefixes: &'static [&'static str],
    /// Phrases of a refusal, lower case.
    pub refusals: &'static [&'static str],
}

/// English: the wording of a run without a language, and read in every language.
pub static ENGLISH: Wording = Wording {
    tag: "en",
    or: " or ",
    comma: ", ",
    letters: "Answer with the letter of the option you choose ({list}) and nothing else.",
    actions: "Answer with the option you choose ({list}) and nothing else.",
    reasoning: "Think it through, then end with a line of the form \"Final answer: X\", \
                where X is the option you choose ({list}).",
    free: "Answer in your own words.",
    choose: "I would {option}.",
    which: "Which of these two statements do you agree with more?",
    agree_or_not: "Do you agree or disagree with the following statement?",
    agree: "Agree",
    disagree: "Disagree",
    action: "Action",
    markers: &[
        ("final answer", "final answer"),
        ("final choice", "final answer"),
        ("my answer is", "answer"),
        ("the answer is", "answer"),
        ("answer:", "answer"),
        ("answer is", "answer"),
        ("i choose", "i choose"),
        ("i would choose", "i choose"),
    ],
    prefixes: &[
        "final answer",
        "the answer to your question is",
        "the answer to the question is",
        "my answer is",
        "answer",
        "the answer is",
        "i choose",
        "i would choose",
        "my choice is",
        "option",
        "choice",
    ],
    refusals: &[
        "i cannot",
        "i can't",
        "i can not",
        "i won't",
        "i will not",
        "i'm not able",
        "i am not able",
        "as an ai",
    ],
};

static OTHERS: [Wording; 9] = [
    Wording {
        tag: "de",
        or: " oder ",
        comma: ", ",
        letters: "Antworte nur mit dem Buchstaben der gewählten Option ({list}).",
        actions: "Antworte nur mit der gewählten Option ({list}).",
        reasoning: "Denke es durch und schließe mit einer Zeile der Form \"Endgültige Antwort: X\", \
                    wobei X die gewählte Option ist ({list}).",
        free: "Antworte in deinen eigenen Worten.",
        choose: "Meine Wahl: {option}.",
        which: "Welcher dieser beiden Aussagen stimmst du eher zu?",
        agree_or_not: "Stimmst du der folgenden Aussage zu oder nicht?",
        agree: "Zustimmen",
        disagree: "Nicht zustimmen",
        action: "Aktion",
        markers: &[
            ("endgültige antwort", "final answer"),
            ("meine antwort ist", "answer"),
            ("die antwort ist", "answer"),
            ("antwort:", "answer"),
            ("ich wähle", "i choose"),
            ("ich würde", "i choose"),
        ],
        prefixes: &[
            "endgültige antwort",
            "antwort",
            "ich wähle",
            "option",
            "wahl",
        ],
        refusals: &[
            "ich kann nicht",
            "ich kann keine",
            "ich kann mich nicht",
            "ich werde nicht",
            "ich möchte nicht",
            "als ki",
            "als künstliche intelligenz",
        ],
    },
    Wording {
        tag: "fr",
        or: " ou ",
        comma: ", ",
        letters: "Réponds uniquement par la lettre de l'option choisie ({list}).",
        actions: "Réponds uniquement par l'option choisie ({list}).",
        reasoning: "Réfléchis, puis termine par une ligne de la forme « Réponse finale : X », \
                    où X est l'option choisie ({list}).",
        free: "Réponds avec tes propres mots.",
        choose: "Mon choix : {option}.",
        which: "Avec laquelle de ces deux affirmations es-tu le plus d'accord ?",
        agree_or_not: "Es-tu d'accord ou non avec l'affirmation suivante ?",
        agree: "D'accord",
        disagree: "Pas d'accord",
        action: "Action",
        markers: &[
            ("réponse finale", "final answer"),
            ("ma réponse est", "answer"),
            ("la réponse est", "answer"),
            ("réponse :", "answer"),
            ("réponse:", "answer"),
            ("je choisis", "i choose"),
            ("je choisirais", "i choose"),
        ],
        prefixes: &["réponse finale", "réponse", "je choisis", "option", "choix"],
        refusals: &[
            "je ne peux pas",
            "je ne peux",
            "je refuse",
            "en tant qu'ia",
            "en tant qu'intelligence artificielle",
        ],
    },
    Wording {
        tag: "es",
        or: " o ",
        comma: ", ",
        letters: "Responde solo con la letra de la opción que elijas ({list}).",
        actions: "Responde solo con la opción que elijas ({list}).",
        reasoning: "Piénsalo y termina con una línea de la forma \"Respuesta final: X\", \
                    donde X es la opción que elijas ({list}).",
        free: "Responde con tus propias palabras.",
        choose: "Mi elección: {option}.",
        which: "¿Con cuál de estas dos afirmaciones estás más de acuerdo?",
        agree_or_not: "¿Estás de acuerdo o en desacuerdo con la siguiente afirmación?",
        agree: "De acuerdo",
        disagree: "En desacuerdo",
        action: "Acción",
        markers: &[
            ("respuesta final", "final answer"),
            ("mi respuesta es", "answer"),
            ("la respuesta es", "answer"),
            ("respuesta:", "answer"),
            ("elijo", "i choose"),
            ("elegiría", "i choose"),
        ],
        prefixes: &["respuesta final", "respuesta", "elijo", "opción", "opcion"],
        refusals: &[
            "no puedo",
            "no voy a",
            "me niego",
            "como ia",
            "como inteligencia artificial",
        ],
    },
    Wording {
        tag: "it",
        or: " o ",
        comma: ", ",
        letters: "Rispondi solo con la lettera dell'opzione scelta ({list}).",
        actions: "Rispondi solo con l'opzione scelta ({list}).",
        reasoning: "Rifletti, poi concludi con una riga della forma \"Risposta finale: X\", \
                    dove X è l'opzione scelta ({list}).",
        free: "Rispondi con parole tue.",
        choose: "La mia scelta: {option}.",
        which: "Con quale di queste due affermazioni sei più d'accordo?",
        agree_or_not: "Sei d'accordo o in disaccordo con la seguente affermazione?",
        agree: "D'accordo",
        disagree: "In disaccordo",
        action: "Azione",
        markers: &[
            ("risposta finale", "final answer"),
            ("la mia risposta è", "answer"),
            ("la risposta è", "answer"),
            ("risposta:", "answer"),
            ("scelgo", "i choose"),
            ("sceglierei", "i choose"),
        ],
        prefixes: &["risposta finale", "risposta", "scelgo", "opzione", "scelta"],
        refusals: &[
            "non posso",
            "non sono in grado",
            "mi rifiuto",
            "come ia",
            "come intelligenza artificiale",
        ],
    },
    Wording {
        tag: "pt",
        or: " ou ",
        comma: ", ",
        letters: "Responda apenas com a letra da opção escolhida ({list}).",
        actions: "Responda apenas com a opção escolhida ({list}).",
        reasoning: "Pense bem e termine com uma linha da forma \"Resposta final: X\", \
                    em que X é a opção escolhida ({list}).",
        free: "Responda com as suas próprias palavras.",
        choose: "A minha escolha: {option}.",
        which: "Com qual destas duas afirmações concorda mais?",
        agree_or_not: "Concorda ou discorda da seguinte afirmação?",
        agree: "Concordo",
        disagree: "Discordo",
        action: "Ação",
        markers: &[
            ("resposta final", "final answer"),
            ("minha resposta é", "answer"),
            ("a resposta é", "answer"),
            ("resposta:", "answer"),
            ("eu escolho", "i choose"),
            ("escolho", "i choose"),
        ],
        prefixes: &[
            "resposta final",
            "resposta",
            "eu escolho",
            "escolho",
            "opção",
            "opcao",
        ],
        refusals: &[
            "não posso",
            "nao posso",
            "não vou",
            "me recuso",
            "como ia",
            "como uma ia",
            "como inteligência artificial",
        ],
    },
    Wording {
        tag: "zh",
        or: "或",
        comma: "、",
        letters: "只回答你选择的选项字母（{list}），不要写其他内容。",
        actions: "只回答你选择的选项（{list}），不要写其他内容。",
        reasoning: "请先思考，最后单独写一行“最终答案：X”，X 为你选择的选项（{list}）。",
        free: "请用你自己的话回答。",
        choose: "我的选择：{option}。",
        which: "这两种说法中，你更同意哪一种？",
        agree_or_not: "你同意还是不同意以下说法？",
        agree: "同意",
        disagree: "不同意",
        action: "行动",
        markers: &[
            ("最终答案", "final answer"),
            ("最终选择", "final answer"),
            ("我的答案是", "answer"),
            ("答案是", "answer"),
            ("答案:", "answer"),
            ("我选择", "i choose"),
            ("我会选择", "i choose"),
            ("我选", "i choose"),
        ],
        prefixes: &["最终答案", "答案是", "答案", "我选择", "我选", "选项"],
        refusals: &[
            "我不能",
            "我无法",
            "我不会",
            "抱歉",
            "作为ai",
            "作为一个ai",
            "作为人工智能",
            "作为一个人工智能",
        ],
    },
    Wording {
        tag: "ja",
        or: "または",
        comma: "、",
        letters: "選んだ選択肢の記号（{list}）だけで答えてください。",
        actions: "選んだ選択肢（{list}）だけで答えてください。",
        reasoning: "よく考えてから、最後に「最終回答: X」という形の行で終えてください。\
                    X は選んだ選択肢（{list}）です。",
        free: "自分の言葉で答えてください。",
        choose: "私の選択：{option}。",
        which: "次の二つの意見のうち、どちらにより賛成しますか？",
        agree_or_not: "次の意見に賛成ですか、反対ですか？",
        agree: "賛成",
        disagree: "反対",
        action: "行動",
        markers: &[
            ("最終回答", "final answer"),
            ("最終的な答え", "final answer"),
            ("答えは", "answer"),
            ("回答:", "answer"),
            ("答え:", "answer"),
            ("私は", "i choose"),
        ],
        prefixes: &["最終回答", "回答", "答え", "選択肢"],
        refusals: &[
            "できません",
            "お答えできません",
            "申し訳ありません",
            "aiとして",
            "人工知能として",
        ],
    },
    Wording {
        tag: "ko",
        or: " 또는 ",
        comma: ", ",
        letters: "선택한 선택지의 기호({list})로만 답하세요.",
        actions: "선택한 선택지({list})로만 답하세요.",
        reasoning: "충분히 생각한 뒤, 마지막 줄에 \"최종 답: X\" 형식으로 쓰세요. \
                    X는 선택한 선택지({list})입니다.",
        free: "자신의 말로 답하세요.",
        choose: "나의 선택: {option}.",
        which: "다음 두 진술 중 어느 쪽에 더 동의합니까?",
        agree_or_not: "다음 진술에 동의합니까, 동의하지 않습니까?",
        agree: "동의함",
        disagree: "동의하지 않음",
        action: "행동",
        markers: &[
            ("최종 답", "final answer"),
            ("최종 답변", "final answer"),
            ("최종답", "final answer"),
            ("답은", "answer"),
            ("답:", "answer"),
            ("저는", "i choose"),
        ],
        prefixes: &["최종 답변", "최종 답", "답변", "답", "선택지"],
        refusals: &[
            "할 수 없습니다",
            "답변할 수 없",
            "드릴 수 없",
            "죄송합니다",
            "ai로서",
            "인공지능으로서",
        ],
    },
    Wording {
        tag: "ru",
        or: " или ",
        comma: ", ",
        letters: "Ответьте только буквой выбранного варианта ({list}).",
        actions: "Ответьте только выбранным вариантом ({list}).",
        reasoning: "Подумайте, а затем закончите строкой вида \"Окончательный ответ: X\", \
                    где X — выбранный вариант ({list}).",
        free: "Ответьте своими словами.",
        choose: "Мой выбор: {option}.",
        which: "С каким из этих двух утверждений вы согласны больше?",
        agree_or_not: "Вы согласны или не согласны со следующим утверждением?",
        agree: "Согласен",
        disagree: "Не согласен",
        action: "Действие",
        markers: &[
            ("окончательный ответ", "final answer"),
            ("мой ответ", "answer"),
            ("ответ:", "answer"),
            ("я выбираю", "i choose"),
            ("я бы выбрал", "i choose"),
        ],
        prefixes: &["окончательный ответ", "ответ", "я выбираю", "вариант"],
        refusals: &[
            "я не могу",
            "не могу ответить",
            "я не буду",
            "как ии",
            "как искусственный интеллект",
        ],
    },
];

/// The wording for a language tag, by its primary subtag (`pt-BR` is `pt`; case does not
/// matter), or `None` for a language quandary has no wording for.
pub fn wording(tag: &str) -> Option<&'static Wording> {
    let primary = tag.split(['-', '_']).next().unwrap_or(tag);
    std::iter::once(&ENGLISH)
        .chain(OTHERS.iter())
        .find(|w| w.tag.eq_ignore_ascii_case(primary))
}

/// The languages quandary has wording for.
pub fn known() -> impl Iterator<Item = &'static str> {
    std::iter::once(ENGLISH.tag).chain(OTHERS.iter().map(|w| w.tag))
}

/// The wordings an answer in `lang` is read with: the language's own first, then English.
pub fn readers(lang: Option<&str>) -> Vec<&'static Wording> {
    match lang.and_then(wording) {
        Some(w) if w.tag != ENGLISH.tag => vec![w, &ENGLISH],
        _ => vec![&ENGLISH],
    }
}

/// `labels` as a list: `A, B or C` in English, `A、B或C` in Chinese.
pub fn list(wording: &Wording, labels: &[String]) -> String {
    match labels {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{}{}{last}", init.join(wording.comma), wording.or),
    }
}

/// An answer with full-width forms (`Ｂ`, `（`, `：`) and the ideographic full stop written
/// as their ASCII counterparts, so a label is read however it is typed.
pub fn normalise(text: &str) -> std::borrow::Cow<'_, str> {
    if text.is_ascii() {
        return text.into();
    }
    text.chars()
        .map(|c| match c {
            // Full-width ASCII: `！` … `～`.
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            '。' => '.',
            '「' | '」' | '『' | '』' | '“' | '”' | '«' | '»' => '"',
            other => other,
        })
        .collect::<String>()
        .into()
}

/// Whether `c` is written without spaces between words (Chinese, Japanese, Korean): a
/// label may follow such a character directly.
pub fn unspaced(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30FF}' | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}'
        | '\u{AC00}'..='\u{D7AF}' | '\u{F900}'..='\u{FAFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_is_found_by_its_primary_subtag() {
        assert_eq!(wording("pt-BR").map(|w| w.tag), Some("pt"));
        assert_eq!(wording("ZH_hans").map(|w| w.tag), Some("zh"));
        assert_eq!(wording("en").map(|w| w.tag), Some("en"));
        assert!(wording("tlh").is_none());
        assert_eq!(
            readers(Some("de"))
                .iter()
                .map(|w| w.tag)
                .collect::<Vec<_>>(),
            ["de", "en"]
        );
        assert_eq!(readers(None).len(), 1);
    }

    #[test]
    fn lists_are_joined_in_the_language() {
        let labels = ["A".to_string(), "B".into(), "C".into()];
        assert_eq!(list(&ENGLISH, &labels), "A, B or C");
        assert_eq!(list(wording("zh").unwrap(), &labels), "A、B或C");
        assert_eq!(list(wording("de").unwrap(), &labels[..2]), "A oder B");
        assert_eq!(list(&ENGLISH, &labels[..1]), "A");
    }

    #[test]
    fn full_width_forms_are_read_as_ascii() {
        assert_eq!(normalise("答案：（Ｂ）。"), "答案:(B).");
        assert_eq!(normalise("plain"), "plain");
    }

    #[test]
    fn every_instruction_names_the_labels_and_every_language_reads_refusals() {
        for tag in known() {
            let w = wording(tag).unwrap();
            for text in [w.letters, w.actions, w.reasoning] {
                assert!(text.contains("{list}"), "{tag}: {text}");
            }
            assert!(!w.free.is_empty(), "{tag}");
            assert!(!w.markers.is_empty() && !w.refusals.is_empty(), "{tag}");
            for phrase in w.refusals.iter().chain(w.prefixes) {
                assert_eq!(phrase.to_lowercase(), *phrase, "{tag}: {phrase}");
            }
        }
    }
}
