//! `quandary lsp`

/// Arguments of `lsp`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Talk over standard input and output (the only transport; accepted because editors
    /// pass it)
    #[arg(long)]
    pub stdio: bool,
}

pub fn run(_args: Args) -> bool {
    let input = std::io::BufReader::new(std::io::stdin());
    match quandary::lsp::serve(input, std::io::stdout()) {
        Ok(clean) => clean,
        Err(e) => {
            eprintln!("error: the language server stopped: {e}");
            false
        }
    }
}
