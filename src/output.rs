//! Writing output files. A regular file (or a new one) is written under a temporary name
//! beside it and renamed into place when complete, so a failure never leaves a half-written
//! file under the final name. Anything else — a device such as `/dev/null` or
//! `/dev/stdout`, a FIFO, a socket — is written through, never replaced. A symbolic link is
//! followed: the file it points to is replaced and the link kept.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::diagnostic::{Code, Diagnostic};

/// A file being written (see the module documentation).
pub struct Output {
    /// The name the user gave.
    path: PathBuf,
    /// Where the finished file goes, and the temporary file until then; `None` when
    /// writing through.
    atomic: Option<(PathBuf, PathBuf)>,
    file: std::io::BufWriter<File>,
    committed: bool,
}

fn lowercase(e: &std::io::Error) -> String {
    e.to_string().to_lowercase()
}

fn write_error(path: &Path, e: &std::io::Error) -> Diagnostic {
    Diagnostic::new(
        Code::Io,
        format!("cannot write `{}`: {}", path.display(), lowercase(e)),
    )
    .path(path.display().to_string())
    .help("make sure the output folder exists and is writable")
}

fn create_error(path: &Path, why: String) -> Diagnostic {
    Diagnostic::new(
        Code::Io,
        format!("cannot create `{}`: {why}", path.display()),
    )
    .path(path.display().to_string())
    .help("make sure the output folder exists and is writable")
}

impl Output {
    /// Starts writing the file at `path`.
    pub fn create(path: &Path) -> Result<Output, Diagnostic> {
        let through = |path: &Path| -> Result<Output, Diagnostic> {
            let file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(path)
                .map_err(|e| create_error(path, lowercase(&e)))?;
            Ok(Output {
                path: path.to_path_buf(),
                atomic: None,
                file: std::io::BufWriter::with_capacity(1 << 20, file),
                committed: false,
            })
        };
        let target = match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => {
                return Err(create_error(path, "it is a directory".into())
                    .help("give a file name, not a folder"));
            }
            // A device, a FIFO, a socket: written through.
            Ok(meta) if !meta.is_file() => return through(path),
            // A regular file, perhaps behind links: the file itself is replaced.
            Ok(_) => std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
            Err(_) => match std::fs::symlink_metadata(path) {
                // A link to nothing yet: writing through it creates what it names.
                Ok(meta) if meta.file_type().is_symlink() => return through(path),
                _ => path.to_path_buf(),
            },
        };
        let name = target
            .file_name()
            .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
        let temp = target.with_file_name(format!(".{name}.{}.partial", std::process::id()));
        let file = File::create(&temp).map_err(|e| create_error(path, lowercase(&e)))?;
        // A replaced file keeps its permissions.
        if let Ok(meta) = std::fs::metadata(&target) {
            let _ = std::fs::set_permissions(&temp, meta.permissions());
        }
        Ok(Output {
            path: path.to_path_buf(),
            atomic: Some((target, temp)),
            file: std::io::BufWriter::with_capacity(1 << 20, file),
            committed: false,
        })
    }

    /// The writer.
    pub fn writer(&mut self) -> &mut dyn Write {
        &mut self.file
    }

    /// Flushes the file and, unless written through, moves it to its final name. Returns
    /// the name the file was created with.
    pub fn commit(mut self) -> Result<PathBuf, Diagnostic> {
        self.file.flush().map_err(|e| write_error(&self.path, &e))?;
        if let Some((target, temp)) = &self.atomic {
            self.file
                .get_ref()
                .sync_all()
                .map_err(|e| write_error(&self.path, &e))?;
            std::fs::rename(temp, target).map_err(|e| write_error(&self.path, &e))?;
        }
        self.committed = true;
        Ok(self.path.clone())
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if let (false, Some((_, temp))) = (self.committed, &self.atomic) {
            let _ = std::fs::remove_file(temp);
        }
    }
}

/// Writes the file at `path` with `write` (see the module documentation): on an error no
/// regular file is left half-written.
pub fn to_file<T>(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> Result<T, Diagnostic>,
) -> Result<T, Diagnostic> {
    let mut file = Output::create(path)?;
    let out = write(file.writer())?;
    file.commit()?;
    Ok(out)
}

/// Writes `text` to `out`; `to` names the destination in the error.
pub fn write_text(out: &mut dyn Write, text: &str, to: &str) -> Result<(), Diagnostic> {
    out.write_all(text.as_bytes())
        .map_err(|e| Diagnostic::new(Code::Io, format!("cannot write {to}: {}", lowercase(&e))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("quandary-output-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_failed_write_leaves_nothing() {
        let dir = scratch("failed");
        let path = dir.join("out.txt");
        let result: Result<(), Diagnostic> =
            to_file(&path, |_| Err(Diagnostic::new(Code::Io, "no")));
        assert!(result.is_err());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        to_file(&path, |w| write_text(w, "whole\n", "it")).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "whole\n");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn links_are_followed_and_kept() {
        let dir = scratch("links");
        let real = dir.join("real.txt");
        std::fs::write(&real, "old").unwrap();
        let link = dir.join("link.txt");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        to_file(&link, |w| write_text(w, "new", "it")).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
        // A dangling link creates what it names.
        let dangling = dir.join("dangling.txt");
        std::os::unix::fs::symlink(dir.join("made.txt"), &dangling).unwrap();
        to_file(&dangling, |w| write_text(w, "made", "it")).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("made.txt")).unwrap(),
            "made"
        );
    }

    #[cfg(unix)]
    #[test]
    fn devices_are_written_through() {
        let before = std::fs::metadata("/dev/null").unwrap();
        to_file(Path::new("/dev/null"), |w| write_text(w, "gone", "it")).unwrap();
        let after = std::fs::metadata("/dev/null").unwrap();
        use std::os::unix::fs::MetadataExt;
        assert_eq!(before.ino(), after.ino());
        assert!(!after.is_file());
    }

    #[test]
    fn a_folder_is_refused() {
        let dir = scratch("folder");
        let e = Output::create(&dir).err().unwrap();
        assert!(e.message.contains("it is a directory"), "{}", e.message);
    }
}
