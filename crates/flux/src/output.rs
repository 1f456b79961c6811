//! What the CLI prints: upstream's stderr log lines (`► ✚ ◎ ✔ ⚠️ ✗`), its tables, and the
//! progress shown while waiting.

use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

/// Whether progress is drawn as a spinner: stdout and stderr are terminals.
pub fn is_interactive() -> bool {
    std::io::stdout().is_terminal() && std::io::stderr().is_terminal()
}

/// Whether the symbols are coloured: interactive, and `NO_COLOR` unset (or empty).
pub fn use_colour() -> bool {
    is_interactive() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn line(symbol: &str, colour: &str, msg: &str) {
    let mut err = std::io::stderr().lock();
    if use_colour() {
        let _ = writeln!(err, "\x1b[{colour}m{symbol}\x1b[0m {msg}");
    } else {
        let _ = writeln!(err, "{symbol} {msg}");
    }
}

/// `► msg`: an action is being taken.
pub fn action(msg: &str) {
    line("►", "36", msg);
}

/// `✚ msg`: something is being generated.
pub fn generate(msg: &str) {
    line("✚", "36", msg);
}

/// `◎ msg`: waiting for something.
pub fn waiting(msg: &str) {
    line("◎", "33", msg);
}

/// `✔ msg`: success.
pub fn success(msg: &str) {
    line("✔", "32", msg);
}

/// `⚠️ msg`: a warning.
pub fn warning(msg: &str) {
    line("⚠️", "33", msg);
}

/// `✗ msg`: a failure that does not end the command.
pub fn failure(msg: &str) {
    line("✗", "31", msg);
}

/// Prints `◎ what`, then (on a terminal) a spinner with the elapsed time on the next line
/// until the returned guard is dropped.
pub struct Progress {
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    pub fn start(what: &str) -> Self {
        waiting(what);
        if !is_interactive() {
            return Self { task: None };
        }
        let (start_colour, end_colour) = if use_colour() {
            ("\x1b[33m", "\x1b[0m")
        } else {
            ("", "")
        };
        let what = what.to_owned();
        let task = tokio::spawn(async move {
            const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
            let started = Instant::now();
            let mut frame = 0usize;
            loop {
                tokio::time::sleep(Duration::from_millis(120)).await;
                let elapsed = started.elapsed().as_secs_f64();
                let mut err = std::io::stderr().lock();
                let _ = write!(
                    err,
                    "\r\x1b[2K{start_colour}{}{end_colour} {what} ({elapsed:.1}s)",
                    FRAMES[frame % FRAMES.len()]
                );
                let _ = err.flush();
                frame += 1;
            }
        });
        Self { task: Some(task) }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}

/// Upstream's table (olekukonko/tablewriter with no borders, tab padding, no white space):
/// every cell padded to its column's width and followed by a tab; the header upper-cased,
/// its last cell padded one wider and not followed by a tab. A cell with several lines
/// spreads its row over as many lines, the other cells blank on the extra ones.
pub fn table(header: Option<&[&str]>, rows: &[Vec<String>]) -> String {
    let columns = header
        .map(<[&str]>::len)
        .unwrap_or_else(|| rows.first().map_or(0, Vec::len));
    let mut widths = vec![0usize; columns];
    if let Some(header) = header {
        for (w, h) in widths.iter_mut().zip(header) {
            *w = (*w).max(h.chars().count());
        }
    }
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            let longest = cell.lines().map(|l| l.chars().count()).max().unwrap_or(0);
            *w = (*w).max(longest);
        }
    }
    let pad = |s: &str, w: usize| {
        let mut out = s.to_owned();
        out.extend(std::iter::repeat_n(
            ' ',
            w.saturating_sub(s.chars().count()),
        ));
        out
    };
    let mut out = String::new();
    if let Some(header) = header {
        for (i, h) in header.iter().enumerate() {
            let upper = h.to_uppercase();
            if i + 1 == header.len() {
                out.push_str(&pad(&upper, widths[i] + 1));
            } else {
                out.push_str(&pad(&upper, widths[i]));
                out.push('\t');
            }
        }
        out.push('\n');
    }
    for row in rows {
        let cells: Vec<Vec<&str>> = row.iter().map(|c| c.lines().collect()).collect();
        let height = cells.iter().map(Vec::len).max().unwrap_or(0).max(1);
        for line in 0..height {
            for (i, cell) in cells.iter().enumerate() {
                let text = cell.get(line).copied().unwrap_or("");
                out.push_str(&pad(text, widths.get(i).copied().unwrap_or(0)));
                out.push('\t');
            }
            out.push('\n');
        }
    }
    out
}

/// Upstream's `TruncateHex`: every word of 40 to 128 lowercase hex digits (SHA-1 up to
/// SHA-512) is shortened to its first 8.
pub fn truncate_hex(s: &str) -> String {
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let is_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if is_word(bytes[i]) && (i == 0 || !is_word(bytes[i - 1])) {
            let mut j = i;
            while j < bytes.len() && is_word(bytes[j]) {
                j += 1;
            }
            let run = j - i;
            if (40..=128).contains(&run) && bytes[i..j].iter().all(|&b| is_hex(b)) {
                out.push_str(&s[copied..i + 8]);
                copied = j;
            }
            i = j;
        } else {
            i += 1;
        }
    }
    out.push_str(&s[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_upstream_golden() {
        let rows = vec![vec![
            "tkfg".to_owned(),
            "6.3.5@sha1:67e2c98a".to_owned(),
            "False".to_owned(),
            "True".to_owned(),
            "Applied revision: 6.3.5@sha1:67e2c98a".to_owned(),
        ]];
        let out = table(
            Some(&["Name", "Revision", "Suspended", "Ready", "Message"]),
            &rows,
        );
        assert_eq!(
            out,
            "NAME\tREVISION           \tSUSPENDED\tREADY\tMESSAGE                               \n\
             tkfg\t6.3.5@sha1:67e2c98a\tFalse    \tTrue \tApplied revision: 6.3.5@sha1:67e2c98a\t\n"
        );
    }

    #[test]
    fn multi_line_cells_spread_over_lines() {
        let rows = vec![vec!["a".to_owned(), "one\ntwo longer".to_owned()]];
        assert_eq!(
            table(Some(&["X", "Message"]), &rows),
            "X\tMESSAGE    \na\tone       \t\n \ttwo longer\t\n"
        );
    }

    #[test]
    fn truncate_hex_shortens_digests() {
        assert_eq!(
            truncate_hex("main@sha1:67e2c98a60dc92283531412a9e604dd4bae005a9"),
            "main@sha1:67e2c98a"
        );
        assert_eq!(
            truncate_hex(
                "stored artifact for revision 'main@sha1:67e2c98a60dc92283531412a9e604dd4bae005a9'"
            ),
            "stored artifact for revision 'main@sha1:67e2c98a'"
        );
        assert_eq!(truncate_hex("v1.2.3"), "v1.2.3");
    }
}
