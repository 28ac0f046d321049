//! Orders: creation with the open-order limit, moderation, bids, assignment, stage moves with
//! the pipeline's rules, deletion by the customer, listing with filters and keyset pages.
//!
//! - `rules`: what every command, query and view applies (loading and saving an order, who
//!   may see it, the moves a stage allows and why not, the open-order limit, field checks,
//!   delegated access, bids);
//! - `commands`: the use cases that write (`impl Tx`, with their `Crm` wrappers);
//! - `queries`: one order, filtered pages, bids, counts per stage, the new-order form's
//!   choices;
//! - `rows`: the list pages' reads over the list rows kept beside each order;
//! - `views`: what the order page, the dashboard, the board and the moderation queue show,
//!   each read on one snapshot.

pub(crate) mod commands;
mod queries;
pub(crate) mod rows;
pub(crate) mod rules;
mod views;

pub use commands::{AssignTo, NewOrder};
pub use queries::{
    NewOrderChoices, PaymentMethodChoice, StageCount, bids_in, list_orders_in,
    new_order_choices_in, order_in, stage_counts_in,
};
pub(crate) use rows::{Names, load_summary};
pub use rows::{
    OrderFilter, OrderList, OrderRow, SEARCH_CANDIDATES, order_list_in, order_rows_in,
    order_summaries_in,
};
pub use rules::{
    OrderField, check_new_order_allowed_in, check_order_field, typed_date, typed_money,
};
pub(crate) use rules::{
    OrderFields, allowed_moves, bids_of, check_open_order_limit, grant_key, load_order, may_chat,
    may_view, open_orders_of, save_order, stage_of, validate_order_fields,
};
pub use views::{
    BidLine, BoardCard, BoardColumn, Dashboard, ModerationColumn, ModerationItem, OrderDetail,
    board_in, dashboard_in, moderation_queue_in, order_detail_in,
};
