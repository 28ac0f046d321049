//! The one error type of crm-lib.
//!
//! Every fallible `Crm` call returns [`Error`]. Callers act on [`Error::kind`]: the web maps
//! kinds to HTTP statuses, the bot to a reply, the CLI to an exit code. Messages are
//! lowercase, without a trailing period, and name the value that caused them
//! (`order 42 not found`).

use std::fmt;

/// What went wrong, in terms a caller can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The record does not exist in the caller's organization.
    NotFound,
    /// A field of the request is malformed or out of range; [`Error::field`] names it.
    InvalidInput,
    /// The request is well formed but the current state forbids it (a stage transition that
    /// the pipeline does not allow, a duplicate username, an order limit reached).
    Conflict,
    /// The actor lacks the permission; [`Error::permission`] names the missing one.
    PermissionDenied,
    /// The caller must wait: a queue is full (the inbox) or a login is throttled.
    Busy,
    /// The store failed (I/O, corruption, an undecodable record). Not the caller's fault.
    Storage,
}

/// The error of every crm-lib call.
///
/// The message is meant for people and names the value at fault; `kind`, `field` and
/// `permission` are meant for programs.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    field: Option<&'static str>,
    permission: Option<crate::model::Permission>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// The result of every crm-lib call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            field: None,
            permission: None,
            source: None,
        }
    }

    /// `{entity} {id} not found`.
    pub fn not_found(entity: &str, id: impl fmt::Display) -> Self {
        Self::new(ErrorKind::NotFound, format!("{entity} {id} not found"))
    }

    /// An invalid value of `field`, with a reason that says what is expected.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        let mut error = Self::new(ErrorKind::InvalidInput, message);
        error.field = Some(field);
        error
    }

    /// A request the current state forbids.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    /// The actor lacks `permission`.
    pub fn denied(permission: crate::model::Permission, message: impl Into<String>) -> Self {
        let mut error = Self::new(ErrorKind::PermissionDenied, message);
        error.permission = Some(permission);
        error
    }

    /// The actor may not do this for a reason other than a missing permission (a customer
    /// acting on another customer's order, a disabled account).
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::PermissionDenied, message)
    }

    /// The caller should retry later.
    pub fn busy(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Busy, message)
    }

    /// A storage failure, keeping the underlying error as the source.
    pub fn storage(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        let mut error = Self::new(ErrorKind::Storage, context);
        error.source = Some(Box::new(source));
        error
    }

    /// A storage failure without an underlying error (a broken invariant found on read).
    pub fn corrupt(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Storage, message)
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The request field at fault, for [`ErrorKind::InvalidInput`].
    pub fn field(&self) -> Option<&'static str> {
        self.field
    }

    /// The missing permission, for [`ErrorKind::PermissionDenied`].
    pub fn permission(&self) -> Option<crate::model::Permission> {
        self.permission
    }

    /// The message alone, without the source chain.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.field {
            Some(field) => write!(f, "{field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}

macro_rules! storage_from {
    ($($ty:ty => $context:literal),* $(,)?) => {$(
        impl From<$ty> for Error {
            fn from(error: $ty) -> Self {
                Error::storage($context, error)
            }
        }
    )*};
}

storage_from! {
    redb::Error => "database error",
    redb::DatabaseError => "cannot open the database",
    redb::TransactionError => "cannot begin a transaction",
    redb::TableError => "cannot open a table",
    redb::StorageError => "storage error",
    redb::CommitError => "cannot commit",
    redb::CompactionError => "cannot compact",
    std::io::Error => "i/o error",
}
