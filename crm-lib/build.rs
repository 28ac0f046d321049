//! Rebuilds crm-lib when a locale file changes: rust-i18n's `i18n!` reads
//! `assets/locales/` (and, for unit tests, `src/i18n/test-locales/`) while compiling, and a
//! procedural macro cannot tell Cargo which files it read.

fn main() {
    println!("cargo::rerun-if-changed=../assets/locales");
    println!("cargo::rerun-if-changed=src/i18n/test-locales");
}
