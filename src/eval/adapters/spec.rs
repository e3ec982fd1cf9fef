//! Adapters by name: what `--adapter profile|random|openai|openai-logprob|reward|command|replay`
//! and its options
//! say, built into an [`Adapter`] (wrapped in the response cache where asking is slow or
//! paid). The command-line tool and embedders build adapters the same way.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::{Command, Mode, ProfileAgent, Random, Replay, StderrSink};
use crate::diagnostic::{Code, Diagnostic};
use crate::eval::Adapter;
use crate::eval::cache::{Cache, Cached, Counters};
use crate::model::{Framework, ProfileId};

/// The adapters there are, by name (`profile` also as `profile:NAME`).
pub const KINDS: [&str; 7] = [
    "profile",
    "random",
    "openai",
    "openai-logprob",
    "reward",
    "command",
    "replay",
];

/// The adapters whose answers the response cache keeps: those asking a slow or paid model.
/// In-process agents answer faster than the cache, and `replay` already reads a file.
const CACHEABLE: [&str; 4] = ["command", "openai", "openai-logprob", "reward"];

/// Which adapter to build, and its settings; the fields an adapter does not use are
/// ignored.
#[derive(Clone)]
pub struct AdapterSpec {
    /// `profile` (the framework's first profile), `profile:NAME`, `random`, `openai`,
    /// `openai-logprob`, `reward`, `command` or `replay`.
    pub name: String,
    /// The profile agent's softmax temperature; the sampling temperature `openai` asks for.
    pub temperature: f64,
    /// The seed of `random` and `profile`; the sampling seed `openai` asks for.
    pub seed: u64,
    /// The model `openai` asks for.
    pub model: Option<String>,
    /// The API `openai` asks, up to and including `/v1`.
    pub base_url: String,
    /// The environment variable holding the API key (unset: no key); the key is read when
    /// the adapter is built, and the `command` adapter's program does not inherit it.
    pub api_key_env: String,
    /// The longest answer `openai` asks for, in tokens.
    pub max_tokens: u32,
    /// The longest answer `openai` asks for when the model reasons first, in tokens.
    pub reasoning_tokens: u32,
    /// How `openai` reads an answer.
    pub mode: Mode,
    /// How long one `openai` request, or one `command` answer, may take.
    pub timeout: Duration,
    /// Retries of an `openai` request.
    pub max_retries: u32,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// The `command` adapter's program and arguments, quoted as in a shell.
    pub command: Option<String>,
    /// Where the `command` adapter's program's standard error goes.
    pub stderr: Option<StderrSink>,
    /// The `replay` adapter's answers.
    pub from: Option<PathBuf>,
    /// The response cache's folder (`None`: no cache).
    pub cache: Option<PathBuf>,
}

impl Default for AdapterSpec {
    fn default() -> Self {
        AdapterSpec {
            name: "profile".into(),
            temperature: 0.0,
            seed: 0,
            model: None,
            base_url: "http://127.0.0.1:8080/v1".into(),
            api_key_env: "OPENAI_API_KEY".into(),
            max_tokens: 16,
            reasoning_tokens: super::openai_reasoning_tokens(),
            mode: Mode::Both,
            timeout: Duration::from_secs(60),
            max_retries: 6,
            concurrency: 1,
            command: None,
            stderr: None,
            from: None,
            cache: None,
        }
    }
}

impl std::fmt::Debug for AdapterSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdapterSpec")
            .field("name", &self.name)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

/// An adapter built from a spec, and the counters of its response cache, if it has one.
pub struct Built {
    /// The adapter.
    pub adapter: Box<dyn Adapter>,
    /// The cache's counters and folder, when the adapter is cached.
    pub cache: Option<(Arc<Counters>, PathBuf)>,
}

impl AdapterSpec {
    /// The API key in the environment variable `api_key_env` names, if it holds one.
    pub fn api_key(&self) -> Option<String> {
        std::env::var(&self.api_key_env)
            .ok()
            .filter(|k| !k.trim().is_empty())
    }

    /// The kind of adapter (`profile` for `profile:NAME`).
    pub fn kind(&self) -> &str {
        self.name.split(':').next().unwrap_or_default()
    }

    /// Builds the adapter. `framework` (with `framework_name`, the file it was loaded from,
    /// for messages) is where `profile` finds its profile and steers; the others need none.
    pub fn build(
        &self,
        framework: Option<&Framework>,
        framework_name: &str,
    ) -> Result<Built, Diagnostic> {
        let (kind, name) = match self.name.split_once(':') {
            Some((k, n)) => (k, Some(n)),
            None => (self.name.as_str(), None),
        };
        let adapter: Box<dyn Adapter> = match kind {
            "random" => Box::new(Random { seed: self.seed }),
            "command" => Box::new(self.command_adapter()?),
            "replay" => {
                let Some(from) = &self.from else {
                    return Err(Diagnostic::new(
                        Code::InvalidSetting,
                        "the `replay` adapter needs the answers to replay",
                    )
                    .help("give --from FILE: a results file, or JSON Lines or CSV of scenario ids and choices"));
                };
                Box::new(Replay::from_path(from)?)
            }
            "openai" | "openai-logprob" | "reward" => self.openai_adapter(kind)?,
            "profile" => Box::new(self.profile_adapter(name, framework, framework_name)?),
            other => {
                let help = match crate::suggest::similar(other, KINDS) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "the adapters are `profile`, `profile:NAME`, `random`, `openai`, \
                             `openai-logprob`, `reward`, `command` and `replay`"
                        .to_string(),
                };
                return Err(Diagnostic::new(
                    Code::InvalidSetting,
                    format!("`{other}` is not an adapter"),
                )
                .help(help));
            }
        };
        match &self.cache {
            Some(dir) if CACHEABLE.contains(&kind) => {
                let cached = Cached::new(adapter, Cache::new(dir));
                let counters = cached.counters();
                Ok(Built {
                    adapter: Box::new(cached),
                    cache: Some((counters, dir.clone())),
                })
            }
            _ => Ok(Built {
                adapter,
                cache: None,
            }),
        }
    }

    fn command_adapter(&self) -> Result<Command, Diagnostic> {
        let Some(line) = &self.command else {
            return Err(Diagnostic::new(
                Code::InvalidSetting,
                "the `command` adapter needs a program to run",
            )
            .help("give --command \"PROGRAM ARGS…\""));
        };
        let command = Command::new(line).map_err(|e| {
            Diagnostic::new(Code::InvalidSetting, format!("cannot use --command: {e}"))
                .help("give --command \"PROGRAM ARGS…\", quoted as in a shell")
        })?;
        command.check().map_err(|e| {
            Diagnostic::new(Code::Io, format!("cannot use --command: {e}"))
                .help("give the program's path, or a program on the PATH")
        })?;
        let mut command = command
            .with_timeout(Some(self.timeout))
            .hide_env(&self.api_key_env);
        if let Some(sink) = &self.stderr {
            command = command.with_stderr(Arc::clone(sink));
        }
        Ok(command)
    }

    #[cfg(feature = "openai")]
    fn openai_adapter(&self, kind: &str) -> Result<Box<dyn Adapter>, Diagnostic> {
        use super::{OpenAi, OpenAiOptions, Readout};
        let Some(model) = self.model.clone() else {
            return Err(Diagnostic::new(
                Code::InvalidSetting,
                format!("the `{kind}` adapter needs a model"),
            )
            .help("give --model NAME (a local server takes any name)"));
        };
        let mut options = OpenAiOptions::new(self.base_url.clone(), model);
        options.api_key = self.api_key();
        options.temperature = self.temperature;
        options.max_tokens = self.max_tokens;
        options.reasoning_tokens = self.reasoning_tokens;
        options.seed = Some(self.seed);
        options.timeout = self.timeout;
        options.max_retries = self.max_retries;
        options.concurrency = self.concurrency;
        options.mode = self.mode;
        options.readout = match kind {
            "openai-logprob" => Readout::Logprob,
            "reward" => Readout::Reward,
            _ => Readout::Chat,
        };
        Ok(Box::new(OpenAi::new(options)))
    }

    #[cfg(not(feature = "openai"))]
    fn openai_adapter(&self, kind: &str) -> Result<Box<dyn Adapter>, Diagnostic> {
        Err(Diagnostic::new(
            Code::InvalidSetting,
            format!("the `{kind}` adapter is not built in"),
        )
        .help("build quandary with the `openai` feature (on by default)"))
    }

    fn profile_adapter(
        &self,
        name: Option<&str>,
        framework: Option<&Framework>,
        framework_name: &str,
    ) -> Result<ProfileAgent, Diagnostic> {
        let Some(f) = framework else {
            return Err(Diagnostic::new(
                Code::InvalidSetting,
                "the `profile` adapter needs the suite's framework",
            )
            .help("give the framework with --framework FILE"));
        };
        let found = match name {
            Some(n) => f.profiles.iter().position(|p| p.id == n),
            None => (0..f.profiles.len()).next(),
        };
        let Some(p) = found else {
            let names: Vec<&str> = f.profiles.iter().map(|p| p.id.as_str()).collect();
            let help = match (name, names.is_empty()) {
                (_, true) => "add a `profile id \"label\" { value 0.8 … }` block, or give another file with --framework".to_string(),
                (Some(n), false) => match crate::suggest::similar(n, names.iter().copied()) {
                    Some(s) => format!("did you mean `profile:{s}`?"),
                    None => format!("the profiles are {}", names.join(", ")),
                },
                (None, false) => String::new(),
            };
            return Err(Diagnostic::new(
                Code::UnknownReference,
                match name {
                    Some(n) => format!("no profile `{n}` in `{framework_name}` or what it imports"),
                    None => format!("`{framework_name}` and what it imports declare no profile"),
                },
            )
            .help(help));
        };
        let mut agent = ProfileAgent::new(f, ProfileId::from_index(p), self.temperature, self.seed);
        // Under a steer the agent leans toward and away from the steer's values.
        for steer in &f.steers {
            agent.steer(f, steer);
        }
        Ok(agent)
    }
}
