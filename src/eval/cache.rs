//! A response cache on disk: a request asked once is not asked again, in this run or any
//! later one, of any results file.
//!
//! [`Cached`] wraps any adapter. An entry is keyed by a hash of the adapter's fingerprint,
//! model and parameters and of the full request: the system prompt, the prompt, the options
//! (labels, action ids, texts, values), and the scenario, twin group and steer ids, which an
//! adapter may use too (a `command` program receives them). A scenario's id is a hash of its
//! content, so the same question in another suite of the framework is still asked once.
//! Nothing secret is in the key: adapters keep secrets out of their fingerprints and
//! parameters.
//!
//! Answers, unparsed and refused ones included, are stored; errors are not, so they are asked
//! again. A hit returns the decision as it was first made, its attempts and token counts
//! included, so a results file written from the cache equals the one written by asking.
//! [`Cached::counters`] tells hits from misses.
//!
//! The cache is a directory (by default `$QUANDARY_CACHE_DIR`, else `.quandary-cache` in the
//! current directory) with one small JSON file per entry, `ab/cd/abcd….json` after the key's
//! first four hex digits. Entries are written to a temporary file and renamed into place, so
//! concurrent runs and killed processes never leave a half-written entry; an entry that does
//! not read back (damaged by hand, say) counts as a miss and is overwritten. The cache knows
//! the adapter's fingerprint, not its inner workings: after changing the program behind a
//! `command` adapter, clear the cache.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Adapter, AdapterError, Answer, Decision, Pipeline, Request};

/// The environment variable naming the default cache directory.
pub const DIR_VARIABLE: &str = "QUANDARY_CACHE_DIR";

/// The default cache directory when [`DIR_VARIABLE`] is not set.
pub const DEFAULT_DIR: &str = ".quandary-cache";

/// Marks the directory as a cache for backup tools (<https://bford.info/cachedir/>).
const TAG: &str = "CACHEDIR.TAG";
const TAG_TEXT: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
    # This file is a cache directory tag created by quandary.\n\
    # For information about cache directory tags see https://bford.info/cachedir/\n";

/// Bumped when the key or the entry format changes, so old entries are never misread.
const VERSION: u32 = 1;

/// A cache directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cache {
    dir: PathBuf,
}

/// A stored decision.
#[derive(Serialize, Deserialize)]
struct Entry {
    version: u32,
    key: String,
    adapter: String,
    decision: Stored,
}

/// [`Decision`], as stored.
#[derive(Serialize, Deserialize)]
struct Stored {
    answer: Option<Answer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    probabilities: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    readings: Vec<(String, Answer)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    raw: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    prompt_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    completion_tokens: Option<u64>,
    attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reasoning: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    label_mass: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scores: Option<Vec<crate::eval::Score>>,
}

/// What a cache directory holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Entries.
    pub entries: u64,
    /// Bytes of the entries.
    pub bytes: u64,
    /// Entries by adapter fingerprint.
    pub adapters: BTreeMap<String, u64>,
    /// Files that do not read as entries (counted in `entries` and `bytes` too).
    pub unreadable: u64,
}

/// What [`Cache::clear`] removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Cleared {
    /// Entries removed.
    pub entries: u64,
    /// Their bytes.
    pub bytes: u64,
}

impl Cache {
    /// The cache in `dir` (created at the first write).
    pub fn new(dir: impl Into<PathBuf>) -> Cache {
        Cache { dir: dir.into() }
    }

    /// The cache in the default directory: `$QUANDARY_CACHE_DIR`, else `.quandary-cache`.
    pub fn default_dir() -> PathBuf {
        match std::env::var_os(DIR_VARIABLE) {
            Some(d) if !d.is_empty() => PathBuf::from(d),
            _ => PathBuf::from(DEFAULT_DIR),
        }
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key of `request` asked of an adapter with this fingerprint, model and parameters:
    /// 32 hex digits.
    pub fn key(
        fingerprint: &str,
        model: Option<&str>,
        parameters: &Value,
        request: &Request<'_>,
    ) -> String {
        let what = serde_json::json!({
            "version": VERSION,
            "adapter": fingerprint,
            "model": model,
            "parameters": parameters,
            "scenario": request.scenario,
            "group": request.group,
            "steer": request.steer,
            "system": request.system,
            "prompt": request.prompt,
            "options": request.options,
        });
        // A choice keeps the keys it always had; another mode is part of the key.
        let mut what = what;
        if request.mode != crate::model::AnswerMode::Choice {
            what["mode"] = request.mode.name().into();
        }
        // Each epoch is its own draw of the model: the first keeps the keys it always had.
        if request.epoch > 0 {
            what["epoch"] = request.epoch.into();
        }
        if let Some(lang) = request.lang {
            what["lang"] = lang.into();
        }
        format!(
            "{:032x}",
            xxhash_rust::xxh3::xxh3_128(what.to_string().as_bytes())
        )
    }

    fn path(&self, key: &str) -> PathBuf {
        let (a, b) = (
            &key[..2.min(key.len())],
            &key[2.min(key.len())..4.min(key.len())],
        );
        self.dir.join(a).join(b).join(format!("{key}.json"))
    }

    /// Whether the cache holds at least one entry (of any adapter).
    pub fn has_entries(&self) -> bool {
        self.files(true)
            .is_ok_and(|files| files.into_iter().any(|(_, entry)| entry))
    }

    /// The decision stored under `key`, if a readable entry holds it.
    pub fn get(&self, key: &str) -> Option<Decision> {
        let text = crate::input::read_file(&self.path(key), crate::input::MAX_LINE as u64).ok()?;
        let entry: Entry = serde_json::from_slice(&text).ok()?;
        if entry.version != VERSION || entry.key != key {
            return None;
        }
        let d = entry.decision;
        Some(Decision {
            answer: d.answer,
            probabilities: d.probabilities,
            readings: d.readings,
            raw: d.raw,
            prompt_tokens: d.prompt_tokens,
            completion_tokens: d.completion_tokens,
            attempts: d.attempts,
            rule: d.rule,
            reasoning: d.reasoning,
            label_mass: d.label_mass,
            scores: d.scores,
        })
    }

    /// Stores `decision` under `key`, replacing any entry there, atomically.
    pub fn put(&self, key: &str, fingerprint: &str, decision: &Decision) -> std::io::Result<()> {
        static UNIQUE: AtomicU64 = AtomicU64::new(0);
        let path = self.path(key);
        let Some(folder) = path.parent() else {
            return Err(std::io::Error::other("the cache directory has no parent"));
        };
        if !folder.is_dir() {
            std::fs::create_dir_all(folder)?;
            let tag = self.dir.join(TAG);
            if !tag.exists() {
                let _ = std::fs::write(tag, TAG_TEXT);
            }
        }
        let entry = Entry {
            version: VERSION,
            key: key.to_string(),
            adapter: fingerprint.to_string(),
            decision: Stored {
                answer: decision.answer.clone(),
                probabilities: decision.probabilities.clone(),
                readings: decision.readings.clone(),
                raw: decision.raw.clone(),
                prompt_tokens: decision.prompt_tokens,
                completion_tokens: decision.completion_tokens,
                attempts: decision.attempts,
                rule: decision.rule.clone(),
                reasoning: decision.reasoning.clone(),
                label_mass: decision.label_mass,
                scores: decision.scores.clone(),
            },
        };
        let mut text = serde_json::to_vec(&entry).map_err(std::io::Error::other)?;
        text.push(b'\n');
        let temporary = folder.join(format!(
            ".{key}.{}.{}.tmp",
            std::process::id(),
            UNIQUE.fetch_add(1, Ordering::Relaxed)
        ));
        let written = std::fs::File::create(&temporary).and_then(|mut f| f.write_all(&text));
        if let Err(e) = written.and_then(|()| std::fs::rename(&temporary, &path)) {
            let _ = std::fs::remove_file(&temporary);
            return Err(e);
        }
        Ok(())
    }

    /// Every file of the cache's layout: `(path, is an entry)`, leftover temporary files
    /// being the others (with `first_entry_only`, up to the first entry). A missing
    /// directory holds none.
    fn files(&self, first_entry_only: bool) -> std::io::Result<Vec<(PathBuf, bool)>> {
        let mut out = Vec::new();
        let fan_out = |p: &Path| {
            p.is_dir()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.len() == 2 && n.bytes().all(|b| b.is_ascii_hexdigit()))
        };
        let top = match std::fs::read_dir(&self.dir) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        for a in top {
            let a = a?.path();
            if !fan_out(&a) {
                continue;
            }
            for b in std::fs::read_dir(&a)? {
                let b = b?.path();
                if !fan_out(&b) {
                    continue;
                }
                for f in std::fs::read_dir(&b)? {
                    let f = f?.path();
                    let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    if name.ends_with(".json") && !name.starts_with('.') {
                        out.push((f, true));
                        if first_entry_only {
                            return Ok(out);
                        }
                    } else if name.starts_with('.') && name.ends_with(".tmp") {
                        out.push((f, false));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Counts the entries, their bytes, and the entries of each adapter.
    pub fn stats(&self) -> std::io::Result<Stats> {
        let mut stats = Stats::default();
        for (path, entry) in self.files(false)? {
            if !entry {
                continue;
            }
            let Ok(text) = crate::input::read_file(&path, crate::input::MAX_LINE as u64) else {
                continue;
            };
            stats.entries += 1;
            stats.bytes += text.len() as u64;
            match serde_json::from_slice::<Entry>(&text) {
                Ok(e) => *stats.adapters.entry(e.adapter).or_default() += 1,
                Err(_) => stats.unreadable += 1,
            }
        }
        Ok(stats)
    }

    /// Removes every entry (and leftover temporary file), then the directories the cache
    /// made if they are empty. Other files in the directory are left alone.
    pub fn clear(&self) -> std::io::Result<Cleared> {
        let mut cleared = Cleared::default();
        for (path, entry) in self.files(false)? {
            let bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
            std::fs::remove_file(&path)?;
            if entry {
                cleared.entries += 1;
                cleared.bytes += bytes;
            }
            // Empty fan-out folders go too; a folder still holding something stays.
            if let Some(b) = path.parent()
                && std::fs::remove_dir(b).is_ok()
                && let Some(a) = b.parent()
            {
                let _ = std::fs::remove_dir(a);
            }
        }
        let _ = std::fs::remove_file(self.dir.join(TAG));
        let _ = std::fs::remove_dir(&self.dir);
        Ok(cleared)
    }
}

/// Hits and misses of a [`Cached`] adapter, shareable while the adapter is in use.
#[derive(Debug, Default)]
pub struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    write_errors: AtomicU64,
    first_write_error: Mutex<Option<String>>,
}

impl Counters {
    /// Requests answered from the cache.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Requests passed to the adapter.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// Decisions that could not be stored, and why the first could not.
    pub fn write_errors(&self) -> (u64, Option<String>) {
        (
            self.write_errors.load(Ordering::Relaxed),
            self.first_write_error
                .lock()
                .map_or(None, |e| e.as_ref().cloned()),
        )
    }
}

/// An adapter whose decisions are kept in a [`Cache`]. It has the wrapped adapter's
/// fingerprint, model and parameters, so a run resumes with or without the cache.
///
/// ```
/// use quandary::eval::Adapter;
/// use quandary::eval::adapters::Random;
/// use quandary::eval::cache::{Cache, Cached};
///
/// let dir = std::env::temp_dir().join("quandary-doc-cache");
/// let cached = Cached::new(Box::new(Random { seed: 1 }), Cache::new(&dir));
/// assert_eq!(cached.fingerprint(), "random/seed=1");
/// ```
pub struct Cached<A: Adapter + ?Sized = dyn Adapter> {
    cache: Cache,
    fingerprint: String,
    model: Option<String>,
    parameters: Value,
    counters: Arc<Counters>,
    /// The inner adapter's check, made at the first request the cache cannot answer when
    /// the cache had entries at the start (so a run it answers needs no model at all).
    probe: std::sync::OnceLock<Result<(), AdapterError>>,
    inner: Box<A>,
}

impl<A: Adapter + ?Sized> Cached<A> {
    /// `inner`, with its decisions kept in `cache`.
    pub fn new(inner: Box<A>, cache: Cache) -> Self {
        Cached {
            cache,
            fingerprint: inner.fingerprint(),
            model: inner.model(),
            parameters: inner.parameters(),
            counters: Arc::default(),
            probe: std::sync::OnceLock::new(),
            inner,
        }
    }

    /// The wrapped adapter.
    pub fn inner(&self) -> &A {
        &self.inner
    }

    /// The cache.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// Its hits and misses so far.
    pub fn counters(&self) -> Arc<Counters> {
        Arc::clone(&self.counters)
    }
}

impl<A: Adapter + ?Sized> Adapter for Cached<A> {
    fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }

    fn model(&self) -> Option<String> {
        self.model.clone()
    }

    fn parameters(&self) -> Value {
        self.parameters.clone()
    }

    /// With entries in the cache, the model is not asked yet: a run the cache answers works
    /// offline, and the first request it cannot answer checks the model instead (each
    /// later miss then fails with the same error, which `--max-errors` stops).
    fn check(&self) -> Result<(), AdapterError> {
        if self.cache.has_entries() {
            return Ok(());
        }
        let checked = self.inner.check();
        let _ = self.probe.set(checked.clone());
        checked
    }

    fn decide(&self, request: &Request<'_>) -> Result<Decision, AdapterError> {
        let key = Cache::key(
            &self.fingerprint,
            self.model.as_deref(),
            &self.parameters,
            request,
        );
        if let Some(d) = self.cache.get(&key) {
            self.counters.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(d);
        }
        self.counters.misses.fetch_add(1, Ordering::Relaxed);
        self.probe.get_or_init(|| self.inner.check()).clone()?;
        let decision = self.inner.decide(request)?;
        self.keep(&key, &decision);
        Ok(decision)
    }

    /// The inner adapter's pipeline, the cache answering what it has before a request
    /// reaches it.
    fn pipeline(&self) -> Option<Box<dyn Pipeline + '_>> {
        let inner = self.inner.pipeline()?;
        Some(Box::new(CachedPipeline {
            cached: self,
            inner,
            keys: Vec::new(),
            ready: Vec::new(),
        }))
    }
}

impl<A: Adapter + ?Sized> Cached<A> {
    /// Keeps `decision` under `key`; the first failure to write is kept for the summary.
    fn keep(&self, key: &str, decision: &Decision) {
        if let Err(e) = self.cache.put(key, &self.fingerprint, decision)
            && self.counters.write_errors.fetch_add(1, Ordering::Relaxed) == 0
            && let Ok(mut first) = self.counters.first_write_error.lock()
        {
            *first = Some(format!(
                "cannot write to the cache `{}`: {}",
                self.cache.dir.display(),
                e.to_string().to_lowercase()
            ));
        }
    }
}

/// A [`Cached`] adapter's pipeline: hits are decided at once, misses go through the inner
/// adapter's pipeline and are kept when it decides them.
struct CachedPipeline<'a, A: Adapter + ?Sized> {
    cached: &'a Cached<A>,
    inner: Box<dyn Pipeline + 'a>,
    /// The cache key of each tag sent on.
    keys: Vec<Option<String>>,
    /// Requests decided without the inner pipeline.
    ready: Vec<(usize, Result<Decision, AdapterError>)>,
}

impl<A: Adapter + ?Sized> Pipeline for CachedPipeline<'_, A> {
    fn start(&mut self, tag: usize, request: &Request<'_>) {
        let c = self.cached;
        let key = Cache::key(&c.fingerprint, c.model.as_deref(), &c.parameters, request);
        if let Some(d) = c.cache.get(&key) {
            c.counters.hits.fetch_add(1, Ordering::Relaxed);
            return self.ready.push((tag, Ok(d)));
        }
        c.counters.misses.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = c.probe.get_or_init(|| c.inner.check()).clone() {
            return self.ready.push((tag, Err(e)));
        }
        if self.keys.len() <= tag {
            self.keys.resize(tag + 1, None);
        }
        self.keys[tag] = Some(key);
        self.inner.start(tag, request);
    }

    fn wait<'r>(
        &mut self,
        request: &dyn Fn(usize) -> Option<Request<'r>>,
        decided: &mut Vec<(usize, Result<Decision, AdapterError>)>,
    ) {
        if !self.ready.is_empty() {
            return decided.append(&mut self.ready);
        }
        let from = decided.len();
        self.inner.wait(request, decided);
        for (tag, result) in &decided[from..] {
            if let (Ok(d), Some(key)) = (result, self.keys.get_mut(*tag).and_then(Option::take)) {
                self.cached.keep(&key, d);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::Choice;

    /// Counts its calls; answers the last option, or fails when told to.
    struct Counting {
        calls: AtomicU64,
        fail: bool,
    }

    impl Adapter for Counting {
        fn fingerprint(&self) -> String {
            "counting/1".into()
        }
        fn decide(&self, request: &Request<'_>) -> Result<Decision, AdapterError> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            if self.fail {
                return Err(AdapterError {
                    message: "no".into(),
                    attempts: 2,
                    raw: None,
                });
            }
            let mut d = Decision::option(request.options.len() - 1);
            d.raw = Some("B".into());
            d.prompt_tokens = Some(7);
            d.probabilities = Some(vec![0.5, 0.5]);
            Ok(d)
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("quandary-cache-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn options() -> Vec<Choice> {
        ["first", "second"]
            .iter()
            .enumerate()
            .map(|(i, a)| Choice {
                label: ["A", "B"][i].into(),
                action: a.to_string(),
                text: a.to_string(),
                upholds: vec![],
                violates: vec![],
                ..Default::default()
            })
            .collect()
    }

    #[test]
    fn asks_a_request_once() {
        let dir = scratch("once");
        let cached = Cached::new(
            Box::new(Counting {
                calls: AtomicU64::new(0),
                fail: false,
            }),
            Cache::new(&dir),
        );
        let o = options();
        let request = |prompt, scenario| Request {
            scenario,
            index: 0,
            group: scenario,
            steer: None,
            system: None,
            prompt,
            options: &o,
            mode: Default::default(),
            epoch: 0,
            lang: None,
        };
        let first = cached.decide(&request("Which?", "s1")).unwrap();
        let again = cached.decide(&request("Which?", "s1")).unwrap();
        assert_eq!(first, again);
        cached.decide(&request("Which one?", "s1")).unwrap();
        assert_eq!(cached.inner().calls.load(Ordering::Relaxed), 2);
        assert_eq!(
            (cached.counters().hits(), cached.counters().misses()),
            (1, 2)
        );
        let stats = cached.cache().stats().unwrap();
        assert_eq!(stats.entries, 2);
        assert_eq!(stats.adapters.get("counting/1"), Some(&2));
        assert!(dir.join(TAG).is_file());
        // A damaged entry is a miss, and is overwritten.
        let key = Cache::key("counting/1", None, &Value::Null, &request("Which?", "s1"));
        std::fs::write(cached.cache().path(&key), "{\"version\":1,\"ke").unwrap();
        assert_eq!(cached.cache().stats().unwrap().unreadable, 1);
        assert_eq!(cached.decide(&request("Which?", "s1")).unwrap(), first);
        assert_eq!(cached.inner().calls.load(Ordering::Relaxed), 3);
        assert!(cached.cache().get(&key).is_some());
        let cleared = cached.cache().clear().unwrap();
        assert_eq!(cleared.entries, 2);
        assert!(!dir.exists());
        assert_eq!(Cache::new(&dir).stats().unwrap(), Stats::default());
    }

    #[test]
    fn errors_are_not_kept() {
        let dir = scratch("errors");
        let cached = Cached::new(
            Box::new(Counting {
                calls: AtomicU64::new(0),
                fail: true,
            }),
            Cache::new(&dir),
        );
        let o = options();
        let request = Request {
            scenario: "s1",
            index: 0,
            group: "s1",
            steer: None,
            system: Some("Be brief."),
            prompt: "Which?",
            options: &o,
            mode: Default::default(),
            epoch: 0,
            lang: None,
        };
        assert!(cached.decide(&request).is_err());
        assert!(cached.decide(&request).is_err());
        assert_eq!(cached.inner().calls.load(Ordering::Relaxed), 2);
        assert_eq!(cached.cache().stats().unwrap().entries, 0);
    }

    /// A model that can be taken down: its check fails then, and it must not be asked.
    struct Server {
        down: bool,
        asked: AtomicU64,
    }

    impl Adapter for Server {
        fn fingerprint(&self) -> String {
            "server/1".into()
        }
        fn check(&self) -> Result<(), AdapterError> {
            match self.down {
                true => Err(AdapterError {
                    message: "connection refused".into(),
                    attempts: 1,
                    raw: None,
                }),
                false => Ok(()),
            }
        }
        fn decide(&self, request: &Request<'_>) -> Result<Decision, AdapterError> {
            self.asked.fetch_add(1, Ordering::Relaxed);
            Ok(Decision::option(request.options.len() - 1))
        }
    }

    #[test]
    fn a_run_the_cache_answers_needs_no_model() {
        let dir = scratch("offline");
        let o = options();
        let request = |scenario| Request {
            scenario,
            index: 0,
            group: scenario,
            steer: None,
            system: None,
            prompt: "Which?",
            options: &o,
            mode: Default::default(),
            epoch: 0,
            lang: None,
        };
        let server = |down| {
            Cached::new(
                Box::new(Server {
                    down,
                    asked: AtomicU64::new(0),
                }),
                Cache::new(&dir),
            )
        };
        // An empty cache checks the model at once.
        assert!(server(true).check().is_err());
        let up = server(false);
        assert!(up.check().is_ok());
        assert!(up.decide(&request("s1")).is_ok());
        // With the model down, what the cache holds is answered; a miss fails with the check's
        // error, and the model is not asked.
        let down = server(true);
        assert!(down.check().is_ok());
        assert_eq!(down.decide(&request("s1")).ok(), Some(Decision::option(1)));
        let miss = down.decide(&request("s2")).err().map(|e| e.message);
        assert_eq!(miss.as_deref(), Some("connection refused"));
        assert_eq!(down.inner().asked.load(Ordering::Relaxed), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_key_covers_the_whole_request() {
        let o = options();
        let mut other = options();
        other[1].text = "something else".into();
        let base = Request {
            scenario: "s1",
            index: 0,
            group: "s1",
            steer: None,
            system: None,
            prompt: "Which?",
            options: &o,
            mode: Default::default(),
            epoch: 0,
            lang: None,
        };
        let key = |fingerprint: &str, model: Option<&str>, parameters: Value, r: &Request<'_>| {
            Cache::key(fingerprint, model, &parameters, r)
        };
        let k = key("a", None, Value::Null, &base);
        assert_eq!(k.len(), 32);
        assert_eq!(k, key("a", None, Value::Null, &base));
        assert_ne!(k, key("b", None, Value::Null, &base));
        assert_ne!(k, key("a", Some("m"), Value::Null, &base));
        assert_ne!(k, key("a", None, serde_json::json!({"t": 1}), &base));
        let system = Request {
            system: Some("Be kind."),
            ..base.clone()
        };
        assert_ne!(k, key("a", None, Value::Null, &system));
        let prompt = Request {
            prompt: "Which one?",
            ..base.clone()
        };
        assert_ne!(k, key("a", None, Value::Null, &prompt));
        let options = Request {
            options: &other,
            ..base.clone()
        };
        assert_ne!(k, key("a", None, Value::Null, &options));
        let scenario = Request {
            scenario: "s2",
            ..base.clone()
        };
        assert_ne!(k, key("a", None, Value::Null, &scenario));
        let steer = Request {
            steer: Some("kind"),
            ..base.clone()
        };
        assert_ne!(k, key("a", None, Value::Null, &steer));
        let lang = Request {
            lang: Some("zh"),
            ..base.clone()
        };
        assert_ne!(k, key("a", None, Value::Null, &lang));
    }

    #[test]
    fn clear_leaves_other_files_alone() {
        let dir = scratch("other");
        let cache = Cache::new(&dir);
        cache.put("0123abcd", "x/1", &Decision::option(0)).unwrap();
        std::fs::write(dir.join("notes.txt"), "mine").unwrap();
        assert_eq!(cache.clear().unwrap().entries, 1);
        assert!(dir.join("notes.txt").is_file());
        assert!(!dir.join("01").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
