//! Telegram's text limits and the two ways a text is cut to them: [`fit`] (UTF-16 code
//! units, Telegram's unit, for whole messages and captions) and [`clip`] (characters, for
//! labels and summaries). A leaf below the renderers, the dialogue's context and the forms.

/// Telegram's limit for a message text, in UTF-16 code units.
pub(crate) const TEXT_MAX_UTF16: usize = 4096;

/// Telegram's limit for a caption, in UTF-16 code units.
pub(crate) const CAPTION_MAX_UTF16: usize = 1024;

/// `text` cut to at most `max` UTF-16 code units (Telegram's unit), on a character boundary,
/// with an ellipsis when cut.
pub(crate) fn fit(text: &str, max: usize) -> String {
    if text.encode_utf16().count() <= max {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let width = c.len_utf16();
        if used + width > max.saturating_sub(1) {
            break;
        }
        out.push(c);
        used += width;
    }
    out.push('…');
    out
}

/// `text` cut to `max` characters with an ellipsis (labels and summaries).
pub(crate) fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}
