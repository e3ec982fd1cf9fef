//! The run: draws rendered on a pool of threads one batch ahead of the writer, written in
//! draw order (so the bytes do not depend on the thread count), shards, and the quota of
//! `require conflict`.

use super::*;

/// About the bytes of lines one thread renders at a time when there are several.
const PART_BYTES: u64 = 1 << 20;

impl<'a> Expansion<'a> {
    /// Expands the suite into `out`: the header line, then one scenario a line.
    /// `progress` is told the draws done so far and the total after each batch.
    ///
    /// With one thread everything happens on the calling thread. With more, a pool of
    /// rendering threads works one batch ahead of the calling thread, which writes the
    /// batches in order.
    pub fn run(
        &self,
        out: &mut dyn Write,
        options: &Options,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Summary, Diagnostic> {
        let io = |e: std::io::Error| {
            Diagnostic::new(Code::Io, format!("cannot write the suite: {e}"))
                .help("check the output path and the free space")
        };
        let header = self.header(options.shard);
        writeln!(out, "{header}").map_err(io)?;
        let threads = options.threads.max(1);
        let mut writer = Writer {
            head: Vec::with_capacity(64),
            summary: Summary {
                duplicates: self.capped,
                ..Summary::default()
            },
            index: 0,
            per_plan: if self.suite.twins { 2 } else { 1 },
            shard: options.shard,
            quota: self.quota,
            kept: 0,
        };
        // Without a filter the index of every scenario is known from its draw, so a shard
        // renders only its own; otherwise every draw is rendered and the writer decides.
        let skip = options.shard.filter(|_| !self.filters);
        let planned = self.planned();
        if threads == 1 {
            let mut local = Local::default();
            let mut buffer = Vec::new();
            let mut from = 0;
            while from < self.total && !writer.full() {
                let to = (from + BATCH as u64).min(self.total);
                let chunk = self.work(from, to, buffer, &mut local, skip);
                buffer = writer.write(chunk, out).map_err(|e| e.either(io))?;
                from = to;
                progress(writer.done(from), planned);
            }
            out.flush().map_err(io)?;
            return Ok(writer.summary);
        }
        // Each thread renders a part of a batch; a batch is sent while the one before it is
        // written. A part holds at most BATCH draws and about PART_BYTES of lines (sized from
        // the lines of the parts written so far), so the lines in flight stay within a few
        // megabytes however long a suite's lines are. How draws are cut into parts does not
        // change the bytes: they are written in draw order.
        std::thread::scope(|scope| -> Result<(), Diagnostic> {
            let (done_tx, done_rx) = mpsc::channel::<(u64, usize, Chunk)>();
            let mut jobs = Vec::with_capacity(threads);
            for w in 0..threads {
                let (job_tx, job_rx) = mpsc::channel::<(u64, u64, u64, Vec<u8>)>();
                jobs.push(job_tx);
                let done_tx = done_tx.clone();
                let this = &*self;
                scope.spawn(move || {
                    let mut local = Local::default();
                    for (b, from, to, buffer) in job_rx {
                        let chunk = this.work(from, to, buffer, &mut local, skip);
                        if done_tx.send((b, w, chunk)).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(done_tx);
            let mut spare: Vec<Vec<u8>> = Vec::new();
            // Draws a part holds, and where the next batch starts.
            let mut per_part = BATCH as u64;
            let mut next = 0u64;
            // Sends the next batch, if any draw is left; returns where it ends.
            let mut send = |b: u64, per_part: u64, spare: &mut Vec<Vec<u8>>| -> Option<u64> {
                if next >= self.total {
                    return None;
                }
                for job in &jobs {
                    let from = next.min(self.total);
                    let to = (from + per_part).min(self.total);
                    let buffer = spare.pop().unwrap_or_default();
                    // A thread that stopped has reported why through `done`.
                    let _ = job.send((b, from, to, buffer));
                    next = to;
                }
                Some(next)
            };
            let mut ends = std::collections::VecDeque::new();
            ends.extend(send(0, per_part, &mut spare));
            let mut waiting: std::collections::BTreeMap<(u64, usize), Chunk> = Default::default();
            let mut b = 0u64;
            while let Some(end) = ends.pop_front() {
                if writer.full() {
                    break;
                }
                ends.extend(send(b + 1, per_part, &mut spare));
                for w in 0..threads {
                    let chunk = loop {
                        if let Some(chunk) = waiting.remove(&(b, w)) {
                            break chunk;
                        }
                        match done_rx.recv() {
                            Ok((bb, ww, chunk)) => {
                                waiting.insert((bb, ww), chunk);
                            }
                            Err(_) => {
                                return Err(Diagnostic::new(
                                    Code::Io,
                                    "a rendering thread stopped unexpectedly",
                                )
                                .help("this is a bug in quandary; please report it"));
                            }
                        }
                    };
                    let draws = chunk.draws.len().max(1) as u64;
                    let bytes = chunk.buffer.len() as u64;
                    if let Some(fit) = (PART_BYTES * draws).checked_div(bytes) {
                        per_part = fit.clamp(1, BATCH as u64);
                    }
                    let mut buffer = writer.write(chunk, out).map_err(|e| e.either(io))?;
                    // A buffer grown past a part's bytes (a part cut before its lines were
                    // measured) is not kept at that size.
                    buffer.shrink_to(2 * PART_BYTES as usize);
                    spare.push(buffer);
                }
                progress(writer.done(end), planned);
                b += 1;
            }
            Ok(())
        })?;
        out.flush().map_err(io)?;
        Ok(writer.summary)
    }

    /// Plans and renders draws `from..to` into `buffer`.
    pub(super) fn work(
        &self,
        from: u64,
        to: u64,
        buffer: Vec<u8>,
        local: &mut Local,
        skip: Option<Shard>,
    ) -> Chunk {
        let per_plan = if self.suite.twins { 2 } else { 1 };
        let mut chunk = Chunk {
            buffer,
            draws: Vec::with_capacity((to - from) as usize),
            error: None,
            // Without a filter the index of a scenario follows from its draw, so the lines
            // are finished here and the writer only copies the buffer.
            complete: !self.filters,
        };
        for k in from..to {
            let Some(mut plan) = self.plan(k) else {
                chunk.draws.push(Draw::Filtered);
                continue;
            };
            if let Some(s) = skip
                && !(k * per_plan..(k + 1) * per_plan).any(|i| i % s.of == s.index - 1)
            {
                chunk.draws.push(Draw::Skipped);
                continue;
            }
            let mut spans = Vec::with_capacity(2);
            let lines = chunk.complete.then_some((k * per_plan, skip));
            match self.render(&mut plan, local, lines, &mut chunk.buffer, &mut spans) {
                Ok(()) => chunk.draws.push(Draw::Rendered(spans)),
                Err(d) => {
                    chunk.error = Some(d);
                    break;
                }
            }
        }
        chunk
    }
}
