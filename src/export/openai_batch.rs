//! A suite as the input file of a batch inference engine: one JSON line per request that a
//! run of `eval --adapter openai` would make, in the shape of OpenAI's Batch API, which
//! `vllm run-batch` and other providers read too:
//!
//! ```json
//! {"custom_id":"0-s0ec41…-5d1f0a3c","method":"POST","url":"/v1/chat/completions","body":{"model":…}}
//! ```
//!
//! The `body` is the bytes the `openai` adapter sends for the request
//! ([`ChatSettings::body`]): the same prompts, options in the same order, the same
//! parameters and seed. The `custom_id` names the request: the scenario's index and id,
//! the steer's number and the epoch when they are not the first, and a hash of the body, so
//! that [`import openai-batch`](crate::import::openai_batch) joins each answer back to its
//! request and knows an answer to a request asked with other settings when it sees one.

use std::io::Write;
use std::path::Path;

use crate::diagnostic::{Code, Diagnostic};
use crate::eval::adapters::ChatSettings;
use crate::eval::{Asking, Request, ScenarioLine, Settings, Steer};
use crate::formats::Input;
use crate::formats::suite::SuiteReader;

/// The endpoint every line asks, as the Batch API names it.
pub const URL: &str = "/v1/chat/completions";

/// The most requests one input file of OpenAI's Batch API may hold.
pub const MAX_REQUESTS: u64 = 50_000;
/// The largest input file OpenAI's Batch API takes, in bytes.
pub const MAX_BYTES: u64 = 200_000_000;

/// What a batch export wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// Requests written, one a line.
    pub requests: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Scenarios they ask.
    pub scenarios: u64,
    /// Requests left out: `eval` would send nothing for them either (the prompt cannot be
    /// rendered, or the scenario has no options), and records them as errors.
    pub left_out: u64,
}

/// One request of a batch.
pub struct BatchRequest<'a> {
    /// Its `custom_id`.
    pub custom_id: String,
    /// The body, as the `openai` adapter sends it.
    pub body: Vec<u8>,
    /// The scenario it asks.
    pub scenario: &'a ScenarioLine,
    /// The steer it is asked under, if any.
    pub steer: Option<&'a Steer>,
    /// Its epoch.
    pub epoch: u32,
}

/// The `custom_id` of `request`, asked under the steer numbered `steer` (0 for the run
/// without one, then 1, 2, … in the run's order) with `body`:
/// `INDEX-SCENARIO[-sSTEER][-eEPOCH]-HASH`, the hash 8 hex digits of the body's.
pub fn custom_id(request: &Request<'_>, steer: usize, body: &[u8]) -> String {
    let mut id = format!("{}-{}", request.index, request.scenario);
    if steer > 0 {
        id.push_str(&format!("-s{steer}"));
    }
    if request.epoch > 0 {
        id.push_str(&format!("-e{}", request.epoch));
    }
    id.push_str(&format!("-{:08x}", body_hash(body)));
    id
}

/// The hash a `custom_id` ends with.
fn body_hash(body: &[u8]) -> u32 {
    xxhash_rust::xxh3::xxh3_64(body) as u32
}

/// A `custom_id` of [`custom_id`]'s shape split into the request it names and the hash of
/// the body it was asked with; `None` for any other shape.
pub fn split_custom_id(id: &str) -> Option<(&str, u32)> {
    let (request, hash) = id.rsplit_once('-')?;
    if hash.len() != 8 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) || request.is_empty() {
        return None;
    }
    Some((request, u32::from_str_radix(hash, 16).ok()?))
}

/// Calls `f` with every request a run of the suite at `suite` under `settings` would send,
/// its body made with `chat`, in the order the run asks them: each scenario in turn (of the
/// run's shard, if it has one), the run without a steer first, then each steer, every
/// epoch.
pub fn each_request(
    suite: &Path,
    settings: &Settings,
    chat: &ChatSettings,
    mut f: impl FnMut(BatchRequest<'_>) -> Result<(), Diagnostic>,
) -> Result<Written, Diagnostic> {
    let mut reader = SuiteReader::open(Input::Path(suite))?;
    let presentation = &settings.presentation;
    let mut written = Written::default();
    while let Some(scenario) = reader.next_line()? {
        if !settings.asks(scenario.index) {
            continue;
        }
        crate::eval::untranslated(presentation, &scenario)?;
        written.scenarios += 1;
        let mut shown: Option<(usize, Asking)> = None;
        for (n, steer, epoch) in crate::eval::runs(settings) {
            if shown.as_ref().is_none_or(|(m, _)| *m != n) {
                shown = Some((n, Asking::new(presentation, &scenario, steer)));
            }
            let Some((_, asking)) = &shown else {
                continue;
            };
            let request = match asking.request(presentation, &scenario, steer, epoch) {
                Ok(r) if !r.options.is_empty() => r,
                _ => {
                    written.left_out += 1;
                    continue;
                }
            };
            let body = chat.body(&request);
            f(BatchRequest {
                custom_id: custom_id(&request, n, &body),
                body,
                scenario: &scenario,
                steer,
                epoch,
            })?;
            written.requests += 1;
        }
    }
    Ok(written)
}

/// Writes the batch input file of the suite at `suite` for a run under `settings`, with
/// bodies made by `chat`, to `out`: one line per request, in the order the run asks them.
pub fn write(
    suite: &Path,
    settings: &Settings,
    chat: &ChatSettings,
    out: &mut dyn Write,
) -> Result<Written, Diagnostic> {
    let mut buffer = Vec::new();
    let mut bytes = 0u64;
    let written = each_request(suite, settings, chat, |request| {
        line(&request, &mut buffer);
        bytes += buffer.len() as u64;
        out.write_all(&buffer).map_err(write_failed)
    })?;
    out.flush().map_err(write_failed)?;
    Ok(Written { bytes, ..written })
}

/// The line of the batch input file that asks `request`, newline included, into `buffer`
/// (cleared first).
pub fn line(request: &BatchRequest<'_>, buffer: &mut Vec<u8>) {
    buffer.clear();
    buffer.extend_from_slice(b"{\"custom_id\":");
    json_string(&request.custom_id, buffer);
    buffer.extend_from_slice(b",\"method\":\"POST\",\"url\":");
    json_string(URL, buffer);
    buffer.extend_from_slice(b",\"body\":");
    buffer.extend_from_slice(&request.body);
    buffer.extend_from_slice(b"}\n");
}

/// `text` as a JSON string.
fn json_string(text: &str, out: &mut Vec<u8>) {
    // Serialising a string into a vector cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

/// The diagnostic of a batch file that cannot be written.
pub fn write_failed(e: std::io::Error) -> Diagnostic {
    Diagnostic::new(
        Code::Io,
        format!(
            "cannot write the batch file: {}",
            e.to_string().to_lowercase()
        ),
    )
}

/// Into how many files a batch must be split for OpenAI's Batch API to take each
/// ([`MAX_REQUESTS`] requests and [`MAX_BYTES`] bytes a file at most, the bytes with a
/// tenth to spare for the shards' uneven sizes); `None` when it takes the batch whole.
pub fn shards_needed(written: &Written) -> Option<u64> {
    if written.requests <= MAX_REQUESTS && written.bytes <= MAX_BYTES {
        return None;
    }
    let by_count = written.requests.div_ceil(MAX_REQUESTS);
    let by_bytes = written.bytes.div_ceil(MAX_BYTES / 10 * 9);
    Some(by_count.max(by_bytes).max(2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::test_options;

    #[test]
    fn a_batch_past_the_api_limits_is_split_into_enough_shards() {
        let w = |requests, bytes| Written {
            requests,
            bytes,
            ..Written::default()
        };
        assert_eq!(shards_needed(&w(50_000, 200_000_000)), None);
        assert_eq!(shards_needed(&w(50_001, 1_000)), Some(2));
        assert_eq!(shards_needed(&w(120_000, 1_000)), Some(3));
        // 500 MB in files of at most 180 MB: 3.
        assert_eq!(shards_needed(&w(10, 500_000_000)), Some(3));
        assert_eq!(shards_needed(&w(10, 200_000_001)), Some(2));
    }

    #[test]
    fn custom_ids_name_the_request_and_split_back() {
        let options = test_options(&["stay", "go"]);
        let mut request = Request::new("s0abc", "Which?", &options);
        request.index = 7;
        let id = custom_id(&request, 0, b"{}");
        assert!(id.starts_with("7-s0abc-"), "{id}");
        assert_eq!(split_custom_id(&id), Some(("7-s0abc", body_hash(b"{}"))));
        request.epoch = 2;
        let id = custom_id(&request, 3, b"{}");
        assert!(id.starts_with("7-s0abc-s3-e2-"), "{id}");
        assert_eq!(split_custom_id(&id).map(|(r, _)| r), Some("7-s0abc-s3-e2"));
        // Another body, another hash; the request part stays.
        let other = custom_id(&request, 3, b"{\"model\":\"m\"}");
        assert_ne!(other, id);
        assert_eq!(
            split_custom_id(&other).map(|(r, _)| r),
            Some("7-s0abc-s3-e2")
        );
        for odd in [
            "request-1",
            "",
            "-",
            "7-s0abc-xyz12345",
            "-0123abcd",
            "7-s0abc-0123abc",
        ] {
            assert_eq!(split_custom_id(odd), None, "{odd}");
        }
    }
}
