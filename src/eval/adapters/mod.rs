//! The built-in adapters.

pub mod chat;
mod command;
#[cfg(feature = "openai")]
mod http;
#[cfg(feature = "openai")]
pub mod openai;
mod profile;
mod random;
mod replay;
#[cfg(feature = "openai")]
pub mod scoring;
mod spec;

pub use chat::ChatSettings;
pub use command::{Command, StderrSink, terminate_all as terminate_commands};
#[cfg(feature = "openai")]
pub use openai::{Flights, OpenAi, OpenAiOptions, Readout};
pub use profile::ProfileAgent;
pub use random::Random;
pub use replay::Replay;
pub use spec::{AdapterSpec, Built, KINDS};

/// Which readings of an answer to make, and which one decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// Ask for `top_logprobs` and choose by them (falling back to parsing the text when they
    /// name no option).
    Logprobs,
    /// Parse the answer text only; no logprobs are asked for.
    Parse,
    /// Both readings; the logprobs one decides when there is one.
    #[default]
    Both,
}

impl Mode {
    /// Its name: `logprobs`, `parse` or `both`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Logprobs => "logprobs",
            Mode::Parse => "parse",
            Mode::Both => "both",
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Mode, String> {
        match s {
            "logprobs" => Ok(Mode::Logprobs),
            "parse" => Ok(Mode::Parse),
            "both" => Ok(Mode::Both),
            other => Err(format!(
                "`{other}` is not a mode: the modes are logprobs, parse and both"
            )),
        }
    }
}

/// The longest reasoning answer the `openai` adapter asks for unless told otherwise.
pub(crate) const fn openai_reasoning_tokens() -> u32 {
    1024
}

/// A seeded stream for one request: the same (seed, scenario, steer) always draws the same.
pub(crate) fn stream(
    seed: u64,
    scenario: &str,
    steer: Option<&str>,
    epoch: u32,
    what: &str,
) -> rand_chacha::ChaCha8Rng {
    // The first epoch draws as a single asking always did; each later one draws afresh.
    let key = if epoch == 0 {
        format!("{what}\u{1f}{scenario}\u{1f}{}", steer.unwrap_or(""))
    } else {
        format!(
            "{what}\u{1f}{scenario}\u{1f}{}\u{1f}{epoch}",
            steer.unwrap_or("")
        )
    };
    crate::rng::fixed(seed, &key)
}

/// The shortest part of a secret that is hidden on its own: shorter fragments are too
/// common to hide without hiding ordinary text.
const SECRET_FRAGMENT: usize = 8;

/// `text` with `secret` hidden as `***`: every whole occurrence, every run of at least
/// [`SECRET_FRAGMENT`] bytes that starts like the secret (a server may echo it cut short),
/// and a beginning of the secret at the very end of the text (where the text was cut).
/// Secrets shorter than four bytes are not looked for.
pub(crate) fn scrub(text: &str, secret: &str) -> String {
    if secret.len() < 4 {
        return text.to_string();
    }
    let key = secret.as_bytes();
    let bytes = text.as_bytes();
    let probe = &key[..SECRET_FRAGMENT.min(key.len())];
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    let mut from = 0;
    while let Some(found) = memchr::memmem::find(&bytes[from..], probe).map(|n| n + from) {
        // As much of the secret as follows.
        let len = bytes[found..]
            .iter()
            .zip(key)
            .take_while(|(a, b)| a == b)
            .count();
        let mut end = found + len;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        if !text.is_char_boundary(found) || end <= found {
            from = found + 1;
            continue;
        }
        out.push_str(&text[at..found]);
        out.push_str("***");
        at = end;
        from = end;
    }
    out.push_str(&text[at..]);
    // A beginning of the secret where the text ends.
    let tail = (3..SECRET_FRAGMENT.min(key.len()))
        .rev()
        .find(|&n| out.len() >= n && out.as_bytes().ends_with(&key[..n]));
    if let Some(n) = tail
        && out.is_char_boundary(out.len() - n)
    {
        out.truncate(out.len() - n);
        out.push_str("***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::scrub;

    #[test]
    fn secrets_are_hidden_whole_cut_and_at_the_end() {
        let key = "sk-SECRET-cafe-1234";
        assert_eq!(scrub("Bearer sk-SECRET-cafe-1234.", key), "Bearer ***.");
        assert_eq!(
            scrub("a sk-SECRET-cafe-1234 b sk-SECRET-cafe-1234", key),
            "a *** b ***"
        );
        // Echoed cut short, in the middle or at the end.
        assert_eq!(
            scrub("you sent: sk-SECRET-ca… ok", key),
            "you sent: ***… ok"
        );
        assert_eq!(
            scrub("you sent: Bearer sk-SEC", key),
            "you sent: Bearer ***"
        );
        assert_eq!(scrub("you sent: Bearer sk-", key), "you sent: Bearer ***");
        // Ordinary text is left alone.
        assert_eq!(scrub("risk-free", key), "risk-free");
        assert_eq!(scrub("anything", "abc"), "anything");
        assert_eq!(scrub("名字 sk-SECRET-cafe", key), "名字 ***");
    }
}
