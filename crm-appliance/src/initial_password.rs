//! The first start's password file: `startup` writes the administrator's random password to
//! it (mode 0600), and the profile page deletes it once that password was changed.

/// Name of the file, in the data directory, that holds the first administrator's password.
pub const INITIAL_PASSWORD_FILE: &str = "initial-admin-password";

/// Deletes the first start's password file ([`INITIAL_PASSWORD_FILE`] in `data_dir`) once
/// the password it holds was `replaced` by a successful change: from then on it would only
/// tell a reader of the directory an old password. Any other file content (another user's
/// change) leaves it alone. Failures are logged, never shown: the change itself succeeded.
pub async fn forget_initial_password(data_dir: &std::path::Path, replaced: &str) {
    let file = data_dir.join(INITIAL_PASSWORD_FILE);
    let Ok(kept) = tokio::fs::read_to_string(&file).await else {
        return;
    };
    if kept.trim_end_matches(['\r', '\n']) != replaced {
        return;
    }
    match tokio::fs::remove_file(&file).await {
        Ok(()) => tracing::info!(
            file = %file.display(),
            "deleted the first start's password file: that password was changed"
        ),
        Err(error) => tracing::warn!(
            file = %file.display(),
            %error,
            "could not delete the first start's password file"
        ),
    }
}
