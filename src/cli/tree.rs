//! `quandary tree`

/// Arguments of `tree`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> bool {
    false
}
