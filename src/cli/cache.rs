//! `quandary cache stats|clear`

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};
use quandary::eval::cache::Cache;

/// Arguments of `cache`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

/// What to do with the cache.
#[derive(Subcommand, Debug)]
pub enum Action {
    /// Count the entries, their size, and the entries of each adapter
    Stats(StatsArgs),
    /// Remove every entry
    Clear(DirArgs),
}

/// Which cache.
#[derive(clap::Args, Debug)]
pub struct DirArgs {
    /// The cache directory (default: $QUANDARY_CACHE_DIR, else .quandary-cache)
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

/// Arguments of `cache stats`.
#[derive(clap::Args, Debug)]
pub struct StatsArgs {
    #[command(flatten)]
    pub dir: DirArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// How `cache stats` prints.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A line of totals, then a line per adapter
    Text,
    /// One JSON object
    Json,
}

impl DirArgs {
    fn cache(&self) -> Cache {
        Cache::new(self.cache_dir.clone().unwrap_or_else(Cache::default_dir))
    }
}

/// `1.5 KiB`.
fn size(bytes: u64) -> String {
    let mut value = bytes as f64;
    for unit in ["bytes", "KiB", "MiB", "GiB"] {
        if value < 1024.0 || unit == "GiB" {
            return if unit == "bytes" {
                format!("{bytes} bytes")
            } else {
                format!("{value:.1} {unit}")
            };
        }
        value /= 1024.0;
    }
    format!("{bytes} bytes")
}

pub fn run(args: Args) -> bool {
    match args.action {
        Action::Stats(a) => {
            let cache = a.dir.cache();
            let stats = match cache.stats() {
                Ok(s) => s,
                Err(e) => {
                    eprintln!(
                        "error: cannot read the cache `{}`: {}",
                        cache.dir().display(),
                        e.to_string().to_lowercase()
                    );
                    return false;
                }
            };
            match a.format {
                Format::Json => {
                    let mut value = serde_json::json!(stats);
                    value["dir"] = cache.dir().display().to_string().into();
                    super::print(&format!("{value}\n"))
                }
                Format::Text => {
                    let mut out = format!(
                        "{}: {} entr{}, {}\n",
                        cache.dir().display(),
                        stats.entries,
                        if stats.entries == 1 { "y" } else { "ies" },
                        size(stats.bytes)
                    );
                    let width = stats
                        .adapters
                        .values()
                        .map(|n| n.to_string().len())
                        .max()
                        .unwrap_or(1);
                    for (adapter, n) in &stats.adapters {
                        out.push_str(&format!("  {n:>width$}  {adapter}\n"));
                    }
                    if stats.unreadable > 0 {
                        out.push_str(&format!(
                            "  {:>width$}  unreadable (asked again when needed)\n",
                            stats.unreadable
                        ));
                    }
                    super::print(&out)
                }
            }
        }
        Action::Clear(a) => {
            let cache = a.cache();
            match cache.clear() {
                Ok(c) => {
                    eprintln!(
                        "removed {} entr{} ({}) from {}",
                        c.entries,
                        if c.entries == 1 { "y" } else { "ies" },
                        size(c.bytes),
                        cache.dir().display()
                    );
                    true
                }
                Err(e) => {
                    eprintln!(
                        "error: cannot clear the cache `{}`: {}",
                        cache.dir().display(),
                        e.to_string().to_lowercase()
                    );
                    false
                }
            }
        }
    }
}
