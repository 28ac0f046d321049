//! Entities and value types of the domain (SPEC section 4).
//!
//! Plain data with serde derives: the store encodes them with the versioned codec in
//! the store module; nothing here touches storage.

mod billing;
mod chat;
mod customer;
mod ids;
mod ops;
mod order;
mod org;
mod team;

pub use billing::*;
pub use chat::*;
pub use customer::*;
pub use ids::*;
pub use ops::*;
pub use order::*;
pub use org::*;
pub use team::*;
