//! Choosing by scores instead of asking for a choice: the request bodies and the reading of
//! the answers of the two scoring readouts of the `openai` adapter's HTTP machinery.
//!
//! - **`logprob`** (`--adapter openai-logprob`): the total log-probability of each option's
//!   text, as NaVAB compares a statement with its reversal. One request an option:
//!   `POST {base_url}/completions` with
//!   `{"model": M, "prompt": TEXT, "echo": true, "logprobs": 0, "max_tokens": 1,
//!   "temperature": 0}`; the answer's `choices[0].logprobs.token_logprobs` over the
//!   prompt's tokens (the first `usage.prompt_tokens` entries, else all but the one
//!   generated) are summed, skipping the first token's `null`. The option with the highest
//!   sum is chosen; the probabilities recorded are the softmax of the sums.
//! - **`reward`** (`--adapter reward`): a reward model's score of each option as the answer
//!   to the prompt. One request an option: `POST {server}/pooling` (vLLM's pooling API,
//!   `{server}` the base URL without its `/v1`) with
//!   `{"model": M, "messages": [{"role": "system", …}?, {"role": "user", "content": PROMPT},
//!   {"role": "assistant", "content": TEXT}]}`; the score is the last number of
//!   `data[0].data` (a sequence classifier's one number, or the last token's under `ALL`
//!   pooling). The option with the highest score is chosen.

use serde::Deserialize;
use serde_json::Value;

use super::chat::Secrets;
use crate::eval::{AdapterError, Request, Score};

/// What the `openai` adapter's HTTP machinery asks the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Readout {
    /// `POST {base_url}/chat/completions`: the model chooses (read by the mode).
    #[default]
    Chat,
    /// `POST {base_url}/completions` with echo: the log-probability of each option's text.
    Logprob,
    /// `POST {server}/pooling`: a reward model's score of each option.
    Reward,
}

impl Readout {
    /// The URL asked, from the base URL (up to and including `/v1`; a query stays after
    /// the path).
    pub fn url(self, base_url: &str) -> String {
        let (base, query) = match base_url.split_once('?') {
            Some((b, q)) => (b.trim_end_matches('/'), Some(q)),
            None => (base_url.trim_end_matches('/'), None),
        };
        let url = match self {
            Readout::Chat => format!("{base}/chat/completions"),
            Readout::Logprob => format!("{base}/completions"),
            Readout::Reward => format!(
                "{}/pooling",
                base.strip_suffix("/v1")
                    .unwrap_or(base)
                    .trim_end_matches('/')
            ),
        };
        match query {
            Some(q) => format!("{url}?{q}"),
            None => url,
        }
    }

    /// Its name in fingerprints and parameters.
    pub fn name(self) -> &'static str {
        match self {
            Readout::Chat => "chat",
            Readout::Logprob => "logprob",
            Readout::Reward => "reward",
        }
    }
}

/// The body asking for the log-probability of `text`.
pub fn logprob_body(model: &str, text: &str) -> Vec<u8> {
    let body = serde_json::json!({
        "model": model,
        "prompt": text,
        "echo": true,
        "logprobs": 0,
        "max_tokens": 1,
        "temperature": 0,
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

/// The body asking a reward model to score option `option` of `request` as the answer to
/// its prompt.
pub fn reward_body(model: &str, request: &Request<'_>, option: usize) -> Vec<u8> {
    let mut messages = Vec::with_capacity(3);
    if let Some(system) = request.system {
        messages.push(serde_json::json!({"role": "system", "content": system}));
    }
    messages.push(serde_json::json!({"role": "user", "content": request.prompt}));
    let text = request.options.get(option).map_or("", |o| o.text.as_str());
    messages.push(serde_json::json!({"role": "assistant", "content": text}));
    let body = serde_json::json!({"model": model, "messages": messages});
    serde_json::to_vec(&body).unwrap_or_default()
}

#[derive(Deserialize)]
struct Completion {
    #[serde(default)]
    choices: Vec<CompletionChoice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct CompletionChoice {
    #[serde(default)]
    logprobs: Option<Logprobs>,
}

#[derive(Deserialize)]
struct Logprobs {
    #[serde(default)]
    token_logprobs: Option<Vec<Option<f64>>>,
}

#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
}

/// The log-probability of a text from a completion's body (`bytes`) that echoed it, and
/// the prompt tokens the server counted. A body without the prompt's log-probabilities
/// (a server that does not echo them, such as llama.cpp's) is an error saying what the
/// readout needs; `server` names the server in it.
pub fn read_logprob(
    bytes: &[u8],
    server: &str,
    attempts: u32,
    secrets: &Secrets,
) -> Result<(Score, Option<u64>), AdapterError> {
    let text = String::from_utf8_lossy(bytes);
    let response: Completion = serde_json::from_str(&text).map_err(|e| {
        secrets.error(
            format!("the server's answer is not a completion: {e}"),
            attempts,
            Some(secrets.excerpt(&text)),
        )
    })?;
    let prompt_tokens = response.usage.as_ref().and_then(|u| u.prompt_tokens);
    let entries = response
        .choices
        .into_iter()
        .next()
        .and_then(|c| c.logprobs)
        .and_then(|l| l.token_logprobs)
        .filter(|l| !l.is_empty());
    let Some(entries) = entries else {
        return Err(secrets.error(
            format!(
                "the server at {server} returned no prompt log-probabilities; this readout \
                 needs a completions endpoint with echo and logprobs, such as vLLM's"
            ),
            attempts,
            Some(secrets.excerpt(&text)),
        ));
    };
    // The prompt's tokens come first, then the one generated.
    let prompt = match prompt_tokens {
        Some(n) if (n as usize) <= entries.len() => n as usize,
        _ => entries.len().saturating_sub(1).max(1),
    };
    let mut sum = 0.0;
    let mut tokens = 0u64;
    for lp in entries[..prompt].iter().flatten() {
        if !lp.is_finite() {
            return Err(secrets.error(
                format!("the server at {server} gave a log-probability that is not finite"),
                attempts,
                Some(secrets.excerpt(&text)),
            ));
        }
        sum += lp;
        tokens += 1;
    }
    if tokens == 0 {
        return Err(secrets.error(
            format!(
                "the server at {server} returned no prompt log-probabilities past the first \
                 token; this readout needs a completions endpoint with echo and logprobs, \
                 such as vLLM's, and texts of two tokens or more"
            ),
            attempts,
            Some(secrets.excerpt(&text)),
        ));
    }
    let score = Score {
        logprob: Some(sum),
        tokens: Some(tokens),
        mean: Some(sum / tokens as f64),
        reward: None,
    };
    Ok((score, prompt_tokens))
}

/// A reward model's score from a pooling answer's body (`bytes`): the last number of
/// `data[0].data`.
pub fn read_reward(bytes: &[u8], attempts: u32, secrets: &Secrets) -> Result<f64, AdapterError> {
    let text = String::from_utf8_lossy(bytes);
    let bad = |why: &str| {
        secrets.error(
            format!("the server's answer {why}"),
            attempts,
            Some(secrets.excerpt(&text)),
        )
    };
    let response: Value =
        serde_json::from_str(&text).map_err(|e| bad(&format!("is not JSON: {e}")))?;
    let Some(data) = response
        .get("data")
        .and_then(Value::as_array)
        .and_then(|d| d.first())
        .and_then(|d| d.get("data"))
    else {
        return Err(bad(
            "has no `data[0].data`: the reward readout needs vLLM's pooling API \
             (a model served with --task reward or --runner pooling)",
        ));
    };
    // The last number: a sequence score is one number (or a list of one), a token-level
    // one a list a token.
    let mut at = data;
    for _ in 0..4 {
        match at {
            Value::Array(items) => match items.last() {
                Some(last) => at = last,
                None => break,
            },
            _ => break,
        }
    }
    match at.as_f64().filter(|r| r.is_finite()) {
        Some(r) => Ok(r),
        None => Err(bad("has no finite score in `data[0].data`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::test_options;

    #[test]
    fn urls_by_readout() {
        let base = "http://127.0.0.1:8000/v1/";
        assert_eq!(
            Readout::Chat.url(base),
            "http://127.0.0.1:8000/v1/chat/completions"
        );
        assert_eq!(
            Readout::Logprob.url(base),
            "http://127.0.0.1:8000/v1/completions"
        );
        assert_eq!(Readout::Reward.url(base), "http://127.0.0.1:8000/pooling");
        assert_eq!(
            Readout::Reward.url("https://h/x/v1?api-version=2"),
            "https://h/x/pooling?api-version=2"
        );
    }

    #[test]
    fn a_vllm_echo_is_summed_over_the_prompt_tokens() {
        // vLLM's shape: the first token's log-probability is null; the last entry is the
        // token generated, past `usage.prompt_tokens`.
        let body = br#"{"id":"cmpl-1","object":"text_completion","model":"m","choices":[{"index":0,"text":"Public money should not fund. The","logprobs":{"text_offset":[0,6,12,19,23,28],"token_logprobs":[null,-1.5,-0.25,-2.0,-0.25,-3.0],"tokens":["Public"," money"," should"," not"," fund."," The"],"top_logprobs":[null,{" money":-1.5},{" should":-0.25},{" not":-2.0},{" fund.":-0.25},{" The":-3.0}]},"finish_reason":"length"}],"usage":{"prompt_tokens":5,"total_tokens":6,"completion_tokens":1}}"#;
        let (score, prompt) = read_logprob(body, "S", 1, &Secrets::default()).unwrap();
        assert_eq!(prompt, Some(5));
        assert_eq!(score.logprob, Some(-4.0));
        assert_eq!(score.tokens, Some(4));
        assert_eq!(score.mean, Some(-1.0));
        // Without usage, all but the generated token.
        let body = br#"{"choices":[{"logprobs":{"token_logprobs":[null,-1.0,-2.0,-9.0]}}]}"#;
        let (score, _) = read_logprob(body, "S", 1, &Secrets::default()).unwrap();
        assert_eq!(score.logprob, Some(-3.0));
    }

    #[test]
    fn llama_cpp_s_answer_says_what_the_readout_needs() {
        // llama.cpp ignores `echo`: its logprobs are the generated token's, in the chat shape.
        let body = br#"{"choices":[{"text":" That","index":0,"logprobs":{"content":[{"id":1848,"token":" That","logprob":-3.4}]}}],"usage":{"completion_tokens":1,"prompt_tokens":5}}"#;
        let e = read_logprob(body, "http://127.0.0.1:1/v1", 1, &Secrets::default()).unwrap_err();
        assert!(e.message.starts_with(
            "the server at http://127.0.0.1:1/v1 returned no prompt log-probabilities; this \
             readout needs a completions endpoint with echo and logprobs, such as vLLM's"
        ));
        let e = read_logprob(b"<html>", "S", 2, &Secrets::default()).unwrap_err();
        assert!(e.message.contains("not a completion"));
        assert_eq!(e.attempts, 2);
        let nan = br#"{"choices":[{"logprobs":{"token_logprobs":[null,-1.0,"x"]}}]}"#;
        assert!(read_logprob(nan, "S", 1, &Secrets::default()).is_err());
    }

    #[test]
    fn rewards_are_read_from_every_pooling_shape() {
        let secrets = Secrets::default();
        for (body, want) in [
            (
                r#"{"data":[{"index":0,"object":"pooling","data":[0.75]}]}"#,
                0.75,
            ),
            (r#"{"data":[{"data":-1.5}]}"#, -1.5),
            (r#"{"data":[{"data":[[0.1],[0.2],[2.5]]}]}"#, 2.5),
        ] {
            assert_eq!(read_reward(body.as_bytes(), 1, &secrets).unwrap(), want);
        }
        for body in [r#"{"data":[]}"#, r#"{"data":[{"data":[]}]}"#, "nope"] {
            assert!(read_reward(body.as_bytes(), 1, &secrets).is_err(), "{body}");
        }
    }

    #[test]
    fn a_reward_body_pairs_the_prompt_with_the_option() {
        let options = test_options(&["a", "b"]);
        let mut request = Request::new("s", "Which?", &options);
        request.system = Some("Be fair.");
        let body: Value = serde_json::from_slice(&reward_body("rm", &request, 1)).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"model": "rm", "messages": [
                {"role": "system", "content": "Be fair."},
                {"role": "user", "content": "Which?"},
                {"role": "assistant", "content": "Do the b thing"},
            ]})
        );
        let body: Value = serde_json::from_slice(&logprob_body("m", "A text.")).unwrap();
        assert_eq!(body["prompt"], "A text.");
        assert_eq!(body["echo"], true);
        assert_eq!(body["max_tokens"], 1);
    }
}
