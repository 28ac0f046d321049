//! Colours the staff choose (pipeline stages, markers) on the pages: readable text on any of
//! them, and a way to show them that a strict Content-Security-Policy allows.
//!
//! - Text colour: [`ink_on`] picks black or white, whichever contrasts more with the
//!   background by WCAG 2.1's relative luminance. The better of the two is always at least
//!   4.58:1, so a badge or marker passes WCAG AA for normal text whatever colour was chosen
//!   (white text, as before, fell to 2.2:1 on yellow or light green).
//! - Applying the colour: every response carries `Content-Security-Policy: default-src
//!   'self'`, which refuses `style="..."` attributes (no `'unsafe-inline'`), and a stylesheet
//!   per organization would need another request and go stale when a colour changes. So the
//!   markup carries the colour as data (`data-bg` for a background, `data-accent` for a top
//!   border) and `assets/js/app.js` sets it through the CSSOM (`element.style.backgroundColor`),
//!   which CSP allows, also on fragments the live updates swap in. The text colour is a class
//!   (`ink-dark`, `ink-light`) that takes effect once the background is set (`.painted`);
//!   without JavaScript a chip stays the stylesheet's neutral grey with white text, readable
//!   too.

use crm_lib::model::{Language, Marker};
use maud::{Markup, html};

/// The text colour for a background.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ink {
    /// Black text (light backgrounds).
    Dark,
    /// White text (dark backgrounds).
    Light,
}

impl Ink {
    /// The CSS class that sets this text colour (see `assets/css/app.css`).
    pub fn class(self) -> &'static str {
        match self {
            Ink::Dark => "ink-dark",
            Ink::Light => "ink-light",
        }
    }
}

/// WCAG 2.1 relative luminance of a `#rrggbb` colour (0 for black, 1 for white); `None` for
/// anything else.
pub fn relative_luminance(color: &str) -> Option<f64> {
    let hex = color.strip_prefix('#')?;
    if hex.len() != 6 || !hex.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return None;
    }
    let channel = |at: usize| -> Option<f64> {
        let value = f64::from(u8::from_str_radix(hex.get(at..at + 2)?, 16).ok()?) / 255.0;
        // sRGB to linear light, with WCAG 2.1's constants.
        Some(if value <= 0.039_28 {
            value / 12.92
        } else {
            ((value + 0.055) / 1.055).powf(2.4)
        })
    };
    Some(0.2126 * channel(0)? + 0.7152 * channel(2)? + 0.0722 * channel(4)?)
}

/// Black or white text on `background` (`#rrggbb`), whichever has the higher WCAG contrast
/// ratio; white for anything that is not such a colour (the stylesheet's neutral grey).
pub fn ink_on(background: &str) -> Ink {
    let Some(luminance) = relative_luminance(background) else {
        return Ink::Light;
    };
    // Contrast ratio (L1 + 0.05) / (L2 + 0.05) against black (L = 0) and white (L = 1).
    let with_black = (luminance + 0.05) / 0.05;
    let with_white = 1.05 / (luminance + 0.05);
    if with_black >= with_white {
        Ink::Dark
    } else {
        Ink::Light
    }
}

/// A stage's badge: its name on its colour.
pub fn badge(color: &str, text: &str) -> Markup {
    html! {
        span class={ "badge " (ink_on(color).class()) } data-bg=(color) { (text) }
    }
}

/// A marker chip: its name in `language` on its colour.
pub fn marker(marker: &Marker, language: Language) -> Markup {
    html! {
        span class={ "marker " (ink_on(&marker.color).class()) } data-bg=(marker.color) { (marker.name.get(language)) }
    }
}

/// A small square of a colour, beside its name.
pub fn swatch(color: &str) -> Markup {
    html! { span.swatch data-bg=(color) {} }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contrast(a: f64, b: f64) -> f64 {
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    }

    #[test]
    fn relative_luminance_follows_wcag() {
        assert_eq!(relative_luminance("#000000"), Some(0.0));
        assert!((relative_luminance("#ffffff").unwrap_or(0.0) - 1.0).abs() < 1e-9);
        assert!((relative_luminance("#FF0000").unwrap_or(0.0) - 0.2126).abs() < 1e-9);
        // #6b7280 on #eef0f3 is the 4.23:1 that axe-core reported.
        let ratio = contrast(
            relative_luminance("#6b7280").unwrap_or(0.0),
            relative_luminance("#eef0f3").unwrap_or(0.0),
        );
        assert!((ratio - 4.23).abs() < 0.01, "{ratio}");
        for bad in [
            "",
            "#fff",
            "3b82f6",
            "#3b82f6 ",
            "#gggggg",
            "#3b82f6ff",
            "#ффф",
        ] {
            assert_eq!(relative_luminance(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn text_is_black_or_white_whichever_contrasts_more() {
        assert_eq!(ink_on("#ffffff"), Ink::Dark);
        assert_eq!(ink_on("#000000"), Ink::Light);
        // The studio's stage colours, on which white text failed (2.0-4.2:1).
        for light in [
            "#f59e0b", "#84cc16", "#06b6d4", "#3b82f6", "#8b5cf6", "#16a34a",
        ] {
            assert_eq!(ink_on(light), Ink::Dark, "{light}");
        }
        for dark in ["#dc2626", "#1e3a8a", "#15803d", "#111827"] {
            assert_eq!(ink_on(dark), Ink::Light, "{dark}");
        }
        assert_eq!(ink_on("not a colour"), Ink::Light);
    }

    #[test]
    fn the_chosen_ink_passes_wcag_aa_on_every_grey_and_every_hue() {
        let mut colours: Vec<String> = (0..=255)
            .map(|grey| format!("#{grey:02x}{grey:02x}{grey:02x}"))
            .collect();
        for r in (0..=255).step_by(17) {
            for g in (0..=255).step_by(17) {
                for b in (0..=255).step_by(17) {
                    colours.push(format!("#{r:02x}{g:02x}{b:02x}"));
                }
            }
        }
        for colour in colours {
            let background = relative_luminance(&colour).unwrap_or(0.0);
            let text = match ink_on(&colour) {
                Ink::Dark => 0.0,
                Ink::Light => 1.0,
            };
            let ratio = contrast(background, text);
            assert!(ratio >= 4.5, "{colour}: {ratio}");
        }
    }

    #[test]
    fn chips_carry_the_colour_as_data_never_as_a_style_attribute() {
        let html = badge("#f59e0b", "Pending <moderation>").into_string();
        assert_eq!(
            html,
            r##"<span class="badge ink-dark" data-bg="#f59e0b">Pending &lt;moderation&gt;</span>"##
        );
        let chip = marker(
            &Marker {
                id: crm_lib::model::MarkerId::new(1),
                name: "Rust".into(),
                color: "#1e3a8a".into(),
            },
            Language::RU,
        )
        .into_string();
        assert_eq!(
            chip,
            r##"<span class="marker ink-light" data-bg="#1e3a8a">Rust</span>"##
        );
        assert!(!swatch("#000000").into_string().contains("style"));
    }
}
