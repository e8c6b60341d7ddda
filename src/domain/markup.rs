//! Text for markup: what feeds, pages and mails put between tags.

/// Text safe inside XML or HTML elements and attributes: escaped, without the characters
/// XML 1.0 forbids (feeds and the digest pages).
pub fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if !xml_char(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// Whether XML 1.0 allows `c` in a document.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || !((c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}')
}

/// `text` without the characters XML 1.0 forbids (for a writer that escapes the rest).
pub fn xml_text(text: &str) -> String {
    text.chars().filter(|c| xml_char(*c)).collect()
}
