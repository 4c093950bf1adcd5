//! Splitting a file or stream of messages: messages one after another (any segment terminator,
//! blank lines between them or not, as in Weave's synthetic feed) and HL7 batch files
//! (`FHS`/`BHS` … `BTS`/`FTS` envelopes, which are dropped).

/// The messages in `text`, each a slice starting at its MSH segment. Text before the first MSH
/// that is not a batch envelope is returned as a message of its own, so that parsing it reports
/// the problem instead of losing it.
#[must_use]
pub fn split_messages(text: &str) -> Vec<&str> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut end = 0usize;
    let mut pos = 0usize;
    for line in text.split_inclusive(['\r', '\n']) {
        let line_start = pos;
        pos += line.len();
        let body = line.trim_end_matches(['\r', '\n']);
        if body.trim().is_empty() {
            continue;
        }
        let envelope = ["FHS", "BHS", "BTS", "FTS"].iter().any(|e| body.starts_with(e));
        let is_msh = body.starts_with("MSH");
        if envelope || is_msh {
            if let Some(s) = start.take() {
                out.push(&text[s..end]);
            }
        }
        if envelope {
            continue;
        }
        if start.is_none() {
            start = Some(line_start);
        }
        end = pos;
    }
    if let Some(s) = start {
        out.push(&text[s..end]);
    }
    out
}
