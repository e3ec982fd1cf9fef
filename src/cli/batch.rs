//! `quandary eval SUITE --adapter openai --batch`: the run through a Batch API.

use std::path::Path;
use std::time::Duration;

use quandary::import::batch_api::{self, BatchApi, Event, Finished};
use quandary::{Code, Diagnostic};

use super::eval::Args;

/// How `eval --batch` submits and waits.
#[derive(clap::Args, Debug, Clone)]
pub struct BatchArgs {
    /// Send the run's requests as batches through the API's `/files` and `/batches`
    /// (OpenAI's Batch API, or a compatible provider's), wait for them and read their
    /// answers into the journal; the same command resumes batches already submitted
    #[arg(long)]
    pub batch: bool,
    /// With --batch: seconds between two looks at the batches
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0, value_parser = super::seconds, requires = "batch")]
    pub poll: f64,
    /// With --batch: stop waiting after this many seconds, leaving the batches running (the
    /// same command goes on); 0 submits and returns [default: until they end]
    #[arg(long, value_name = "SECONDS", value_parser = super::seconds_or_zero, requires = "batch")]
    pub batch_wait: Option<f64>,
    /// With --batch: the batches' completion window, as the API names it
    #[arg(long, value_name = "WINDOW", default_value = "24h", requires = "batch")]
    pub completion_window: String,
    /// With --batch: the most requests a batch holds; a run with more is sent as several
    /// batches (OpenAI takes 50,000, and 200 MB, a batch)
    #[arg(long, value_name = "N", default_value_t = 50_000, value_parser = clap::value_parser!(u64).range(1..=50_000), requires = "batch")]
    pub batch_size: u64,
}

/// Runs `eval --batch`, writing the journal `output`; `false` (diagnostics reported) if it
/// fails.
pub fn run(args: &Args, output: &Path) -> bool {
    let fail = |d: Diagnostic| super::eval::fail(&args.diagnostics, d);
    let spec = args.ask.spec();
    let kind = spec.kind().to_string();
    if kind != "openai" {
        return fail(
            Diagnostic::new(
                Code::InvalidSetting,
                format!("--batch sends requests to a Batch API, not to the `{kind}` adapter"),
            )
            .help("give --adapter openai with --batch, or leave --batch out"),
        );
    }
    let prepared =
        quandary::formats::suite::read_header(quandary::formats::Input::Path(&args.suite))
            .and_then(|header| {
                let (mut settings, _) = args.ask.requests.settings(&header, false)?;
                settings.shard = args.shard.map(|s| (s.index, s.of));
                settings.retry_errors = args.ask.retry_errors;
                Ok((settings, args.ask.chat.settings()?))
            });
    let (settings, chat) = match prepared {
        Ok(p) => p,
        Err(d) => return fail(d),
    };
    let b = &args.batch;
    let api = BatchApi {
        api_key: spec.api_key(),
        timeout: spec.timeout,
        poll: Duration::from_secs_f64(b.poll),
        wait: b.batch_wait.map(Duration::from_secs_f64),
        completion_window: b.completion_window.clone(),
        max_requests: b.batch_size,
        ..BatchApi::new(spec.base_url.clone())
    };
    let mut last: Option<(String, String, u64, u64)> = None;
    let mut events = |event: Event| match event {
        Event::Written {
            files,
            requests,
            resumed,
        } => {
            let noun = if files == 1 { "file" } else { "files" };
            if resumed {
                eprintln!("{requests} requests in {files} {noun}, submitted before: resuming");
            } else {
                eprintln!("{requests} requests in {files} {noun}");
            }
        }
        Event::Uploaded { part, file_id } => eprintln!("file {part} uploaded as {file_id}"),
        Event::Created { part, batch_id } => {
            eprintln!("batch {batch_id} created on file {part}")
        }
        Event::Status {
            batch_id,
            status,
            completed,
            failed,
            total,
            ..
        } => {
            let now = (batch_id.clone(), status.clone(), completed, failed);
            if last.as_ref() != Some(&now) {
                eprintln!(
                    "batch {batch_id}: {status}, {completed} of {total} answered, {failed} failed"
                );
                last = Some(now);
            }
        }
        Event::Downloaded { path, .. } => eprintln!("downloaded {}", path.display()),
    };
    let state = batch_api::state_path(output);
    super::on_interrupt(Some(format!(
        "interrupted: the batches submitted keep running, and {} names them; run the same \
         command again to go on waiting for them",
        state.display()
    )));
    let result = super::eval::with_progress(output, |progress| {
        batch_api::run(
            &args.suite,
            output,
            &settings,
            &chat,
            &api,
            &mut events,
            progress,
        )
    });
    super::on_interrupt(None);
    match result {
        Ok(Finished::Imported(imported)) => super::import::batch_summary(
            &imported,
            output,
            "answered by the batches",
            &args.diagnostics,
        ),
        Ok(Finished::Running { state, pending }) => {
            let names: Vec<String> = pending
                .iter()
                .map(|(id, status)| format!("{id} ({status})"))
                .collect();
            eprintln!(
                "still running: {}; run the same command again to go on waiting (the batches \
                 are named in {})",
                names.join(", "),
                state.display()
            );
            true
        }
        Err(d) => fail(d),
    }
}
