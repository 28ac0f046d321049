//! The inbox page in one read: the conversation list (filters, search, keyset pages) over the
//! `conversation_rows` projection, and the selected conversation's details pane.

use std::collections::HashMap;

use crate::model::*;
use crate::store::declarations::{
    conversation_row_key, conversations_assignee_prefix, conversations_state_prefix,
};
use crate::store::{Def, Key, ViewExt, keys, tables};
use crate::{Crm, Error, Result, View};

use super::super::calls::calls_of_customer_in;
use super::super::capabilities::{
    ConversationActions, InboxActions, conversation_actions, inbox_actions,
};
use super::super::chat::messages_of_customer_in;
use super::super::customers::load_customer;
use super::super::operators::{all_departments, module_on, open_item};
use super::super::orders::{OrderFilter, order_summaries_in};
use super::super::team::staff_names_in;
use super::super::{Page, Paged, Resolved, load_org, require};

/// The longest search text, in characters.
pub const SEARCH_MAX_CHARS: usize = 100;

/// The orders the details pane shows, newest first.
pub const DETAIL_ORDERS: usize = 10;

/// The calls the details pane shows, newest first.
pub const DETAIL_CALLS: usize = 5;

/// How many of the conversation's latest messages the details pane looks through for notes.
pub const DETAIL_MESSAGES: usize = 50;

/// Which conversations the list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum InboxFilter {
    /// Not closed, not snoozed, assigned to the actor (operators module).
    Mine,
    /// Not closed, not snoozed, assigned to no one (operators module).
    Unassigned,
    /// Every conversation that is neither closed nor snoozed.
    #[default]
    All,
    /// Snoozed ones whose time has not come.
    Snoozed,
    /// Closed ones.
    Closed,
}

impl InboxFilter {
    /// `mine`, `unassigned`, `all`, `snoozed`, `closed`: the word of the page's address.
    pub fn word(self) -> &'static str {
        match self {
            InboxFilter::Mine => "mine",
            InboxFilter::Unassigned => "unassigned",
            InboxFilter::All => "all",
            InboxFilter::Snoozed => "snoozed",
            InboxFilter::Closed => "closed",
        }
    }

    /// The filter named `word` (empty: all).
    ///
    /// # Errors
    /// Invalid input on `filter` for any other word.
    pub fn parse(word: &str) -> Result<Self> {
        Ok(match word.trim() {
            "" | "all" => InboxFilter::All,
            "mine" => InboxFilter::Mine,
            "unassigned" => InboxFilter::Unassigned,
            "snoozed" => InboxFilter::Snoozed,
            "closed" => InboxFilter::Closed,
            other => {
                return Err(Error::invalid(
                    "filter",
                    format!("{other:?} is not a filter (mine, unassigned, all, snoozed or closed)"),
                ));
            }
        })
    }
}

/// What the inbox page asks for.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InboxQuery {
    /// The list's filter.
    pub filter: InboxFilter,
    /// Words every listed conversation's customer name, username or phone contains
    /// (case-insensitive), at most [`SEARCH_MAX_CHARS`] characters; empty: no search.
    /// Message text is not searched (it would read every message).
    pub search: String,
    /// The list's page: the cursor is the customer id of the previous page's last row.
    pub page: Page,
    /// The conversation shown beside the list, with its details.
    pub selected: Option<CustomerId>,
}

/// One row of the conversation list.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxRow {
    /// The stored row.
    pub row: ConversationRow,
    /// Its state now (a snooze whose time came is open).
    pub state: ConversationState,
    /// The assignee's display name (operators module).
    pub assignee: Option<String>,
    /// The department's name (operators module).
    pub department: Option<String>,
}

/// One of the customer's orders in the details pane.
#[derive(Debug, Clone, PartialEq)]
pub struct DetailOrder {
    /// The order's list row.
    pub order: OrderSummary,
    /// Its stage's name.
    pub stage: Localized,
    /// Whether the stage is terminal (done, cancelled).
    pub finished: bool,
}

/// The details pane of the selected conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationDetails {
    /// The conversation's list row (with names).
    pub row: InboxRow,
    /// The customer's profile.
    pub customer: Customer,
    /// Their latest orders (or tickets) the actor may see, newest first.
    pub orders: Vec<DetailOrder>,
    /// Their latest calls (tickets module, readers of calls), newest first.
    pub calls: Vec<Call>,
    /// The private notes among the conversation's latest [`DETAIL_MESSAGES`] messages,
    /// newest first (staff only, never sent).
    pub notes: Vec<Message>,
    /// What the actor may do with the conversation.
    pub actions: ConversationActions,
}

/// The inbox page: the list and the selected conversation's details, read on one snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxPage {
    /// The query, cleaned (the search trimmed).
    pub query: InboxQuery,
    /// The list's rows, newest activity first.
    pub rows: Paged<InboxRow>,
    /// The filters and columns offered.
    pub actions: InboxActions,
    /// The selected conversation, when one was asked for.
    pub selected: Option<ConversationDetails>,
}

/// Which stored rows a stream of the list keeps.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keep {
    /// Every row of the stream.
    Any,
    /// Snoozed rows whose time came (they count as open).
    Awake,
    /// Snoozed rows still asleep.
    Asleep,
}

/// One ordered run of index keys (`prefix | activity | customer`) the list merges.
struct Stream {
    table: Def,
    prefix: Key,
    keep: Keep,
}

/// The streams a filter merges.
fn streams(org: OrgId, filter: InboxFilter, me: Option<UserId>) -> Vec<Stream> {
    let by_state = |state: u8, keep| Stream {
        table: tables::CONVERSATIONS_BY_STATE,
        prefix: conversations_state_prefix(org, state),
        keep,
    };
    let by_assignee = |user: Option<UserId>, state: u8, keep| Stream {
        table: tables::CONVERSATIONS_BY_ASSIGNEE,
        prefix: conversations_assignee_prefix(org, user, state),
        keep,
    };
    match filter {
        InboxFilter::All => vec![by_state(0, Keep::Any), by_state(1, Keep::Awake)],
        InboxFilter::Snoozed => vec![by_state(1, Keep::Asleep)],
        InboxFilter::Closed => vec![by_state(2, Keep::Any)],
        InboxFilter::Mine => match me {
            Some(user) => vec![
                by_assignee(Some(user), 0, Keep::Any),
                by_assignee(Some(user), 1, Keep::Awake),
            ],
            None => Vec::new(),
        },
        InboxFilter::Unassigned => vec![
            by_assignee(None, 0, Keep::Any),
            by_assignee(None, 1, Keep::Awake),
        ],
    }
}

/// Whether a row matches the lower-cased search words.
fn matches_search(row: &ConversationRow, words: &[String]) -> bool {
    if words.is_empty() {
        return true;
    }
    let mut haystack = row.name.to_lowercase();
    if let Some(username) = &row.username {
        haystack.push(' ');
        haystack.push('@');
        haystack.push_str(&username.to_lowercase());
    }
    if let Some(phone) = &row.phone {
        haystack.push(' ');
        haystack.push_str(phone);
        haystack.push(' ');
        haystack.extend(phone.chars().filter(char::is_ascii_digit));
    }
    words.iter().all(|word| haystack.contains(word.as_str()))
}

/// Reads up to `want` rows of one stream after `cursor` (`activity | customer`), newest
/// first, that its `keep` and the search accept.
fn read_stream(
    view: &impl View,
    org: OrgId,
    stream: &Stream,
    cursor: Option<&Key>,
    words: &[String],
    now: Timestamp,
    want: usize,
) -> Result<Vec<ConversationRow>> {
    let mut after = cursor.map(|cursor| {
        let mut key = stream.prefix.clone().into_vec();
        key.extend_from_slice(cursor.as_slice());
        key
    });
    let mut out = Vec::new();
    loop {
        let batch = want.max(16);
        let keys =
            view.keys_with_prefix(stream.table, &stream.prefix, after.as_deref(), true, batch)?;
        for key in &keys {
            let customer = CustomerId(keys::tail_u64(key));
            let row: ConversationRow = view
                .get(
                    tables::CONVERSATION_ROWS,
                    &conversation_row_key(org, customer),
                )?
                .ok_or_else(|| crate::store::dangling("conversation index", key))?;
            let asleep = matches!(row.state.at(now), ConversationState::Snoozed { .. });
            let kept = match stream.keep {
                Keep::Any => true,
                Keep::Awake => !asleep,
                Keep::Asleep => asleep,
            };
            if kept && matches_search(&row, words) {
                out.push(row);
                if out.len() == want {
                    return Ok(out);
                }
            }
        }
        if keys.len() < batch {
            return Ok(out);
        }
        after = keys.last().cloned();
    }
}

/// The list's page: every stream's next rows merged newest first.
fn list_rows(
    view: &impl View,
    org: OrgId,
    query: &InboxQuery,
    me: Option<UserId>,
) -> Result<Paged<ConversationRow>> {
    let size = query.page.size();
    let now = view.now();
    let cursor = match query.page.after {
        Some(after) => {
            let row = view
                .get::<ConversationRow>(
                    tables::CONVERSATION_ROWS,
                    &conversation_row_key(org, CustomerId(after)),
                )?
                .ok_or_else(|| Error::not_found(CustomerId::LABEL, after))?;
            Some(Key::empty().i64(row.last_activity_at.0).u64(row.customer.0))
        }
        None => None,
    };
    let words: Vec<String> = query
        .search
        .to_lowercase()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    for stream in streams(org, query.filter, me) {
        rows.extend(read_stream(
            view,
            org,
            &stream,
            cursor.as_ref(),
            &words,
            now,
            size + 1,
        )?);
    }
    rows.sort_by_key(|row| std::cmp::Reverse((row.last_activity_at, row.customer)));
    let more = rows.len() > size;
    rows.truncate(size);
    let next = if more {
        rows.last().map(|row| row.customer.0)
    } else {
        None
    };
    Ok(Paged { items: rows, next })
}

/// Names of staff and departments, read once per page.
struct Names {
    staff: HashMap<UserId, String>,
    departments: HashMap<DepartmentId, String>,
}

impl Names {
    fn row(&self, row: ConversationRow, now: Timestamp) -> InboxRow {
        InboxRow {
            state: row.state.at(now),
            assignee: row.assignee.and_then(|user| self.staff.get(&user).cloned()),
            department: row
                .department
                .and_then(|department| self.departments.get(&department).cloned()),
            row,
        }
    }
}

/// The inbox page (see [`InboxPage`]): the conversation list of `query.filter` and
/// `query.search`, newest activity first, one keyset page (about `limit` + 1 point reads of
/// `conversation_rows` per stream; a search reads rows until the page is full), and the
/// details of `query.selected`. Needs `chat_customers` (the system always may).
///
/// # Errors
/// Permission denied; invalid input on `search` (too long); not found for a cursor or a
/// selected customer that does not exist.
pub fn inbox_page_in(view: &impl View, actor: &Actor, query: &InboxQuery) -> Result<InboxPage> {
    let resolved = require(view, actor, Permission::ChatCustomers)?;
    let org = load_org(view, actor.org)?;
    let mut query = query.clone();
    query.search = query.search.trim().to_string();
    if query.search.chars().count() > SEARCH_MAX_CHARS {
        return Err(Error::invalid(
            "search",
            format!("a search is at most {SEARCH_MAX_CHARS} characters"),
        ));
    }
    let permissions = resolved.permissions();
    let actions = inbox_actions(permissions, org.modules);
    let operators = module_on(&org);
    let names = Names {
        staff: if operators {
            staff_names_in(view, actor)?
                .into_iter()
                .map(|name| (name.id, name.display_name))
                .collect()
        } else {
            HashMap::new()
        },
        departments: if operators {
            all_departments(view, actor.org)?
                .into_iter()
                .map(|department| (department.id, department.name))
                .collect()
        } else {
            HashMap::new()
        },
    };
    let now = view.now();
    let me = match &resolved {
        Resolved::Staff(user, _) => Some(user.id),
        _ => None,
    };
    let page = list_rows(view, actor.org, &query, me)?;
    let rows = Paged {
        items: page
            .items
            .into_iter()
            .map(|row| names.row(row, now))
            .collect(),
        next: page.next,
    };
    let selected = match query.selected {
        Some(customer) => Some(details(view, actor, &org, &names, customer, permissions)?),
        None => None,
    };
    Ok(InboxPage {
        query,
        rows,
        actions,
        selected,
    })
}

/// The details pane of `customer`'s conversation.
fn details(
    view: &impl View,
    actor: &Actor,
    org: &Organization,
    names: &Names,
    customer: CustomerId,
    permissions: PermissionSet,
) -> Result<ConversationDetails> {
    let record = load_customer(view, actor.org, customer)?;
    let row = super::rows::require_row(view, actor.org, customer)?;
    let now = view.now();
    let open = module_on(org)
        && open_item(view, actor.org, QueueSubject::Conversation(customer))?.is_some();
    let actions = conversation_actions(permissions, org.modules, &row, now, open);
    let filter = OrderFilter {
        customer: Some(customer),
        ..OrderFilter::default()
    };
    let orders = match order_summaries_in(view, actor, &filter, Page::first(DETAIL_ORDERS)) {
        Ok(page) => page
            .items
            .into_iter()
            .map(|order| {
                let stage = org.pipeline.stage(order.stage);
                DetailOrder {
                    stage: stage.map(|stage| stage.name.clone()).unwrap_or_default(),
                    finished: stage.is_some_and(|stage| stage.kind.is_terminal()),
                    order,
                }
            })
            .collect(),
        Err(error) if error.kind() == crate::ErrorKind::PermissionDenied => Vec::new(),
        Err(error) => return Err(error),
    };
    let calls = calls_of_customer_in(view, actor, customer, DETAIL_CALLS)?;
    let notes = messages_of_customer_in(view, actor, customer, Page::first(DETAIL_MESSAGES))?
        .items
        .into_iter()
        .filter(|message| message.direction == Direction::Note)
        .collect();
    Ok(ConversationDetails {
        notes,
        row: names.row(row, now),
        customer: record,
        orders,
        calls,
        actions,
    })
}

impl Crm {
    /// See [`inbox_page_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`inbox_page_in`].
    pub fn inbox_page(&self, actor: &Actor, query: &InboxQuery) -> Result<InboxPage> {
        self.read(|view| inbox_page_in(view, actor, query))
    }
}
