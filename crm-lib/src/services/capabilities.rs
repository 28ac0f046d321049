//! What an actor may do, as data (SPEC section 3.1, "Capabilities computed in crm-lib"): the
//! actions on one order ([`OrderActions`]), the staff menu ([`Navigation`]), and the inbox's
//! filters and actions on a conversation ([`InboxActions`], [`ConversationActions`]).
//!
//! The web pages, the JSON API and the bot's keyboards render these and decide nothing
//! themselves: a page that wants to know whether to show "Approve" asks for the order's
//! actions instead of looking at the stage's kind and the user's permissions. Each use case
//! still enforces its own rule when called; the functions here apply the same rules without
//! writing (the tests of this module hold the two together: every action offered succeeds,
//! every action withheld is refused).

use crate::model::*;
use crate::{Crm, Result, View};

use super::orders::may_chat;
use super::orders::{allowed_moves, bids_of, load_order, may_view, stage_of};
use super::{Resolved, load_org, resolve};

/// What an actor may do with one order now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderActions {
    /// Approve it: it waits in moderation and the actor holds `moderate_orders`.
    pub approve: bool,
    /// Reject it (with a reason), on the same terms as approving.
    pub reject: bool,
    /// Place a bid: the actor holds `respond_orders`, the stage takes bids and they have no
    /// active bid on it yet.
    pub bid: bool,
    /// Assign it (to a bid's author or a user): the actor holds `assign_orders` and the order
    /// is in an open stage.
    pub assign: bool,
    /// The stages the actor may move it to in one step, in board order (moves out of
    /// moderation go through approve and reject).
    pub moves: Vec<StageId>,
    /// Chat with the customer about it: `chat_customers`, or an order-level grant (the
    /// assignee's).
    pub chat: bool,
    /// Send payment details: the actor holds `send_payment_info` and the stage takes them.
    pub send_payment: bool,
    /// See what the assignee is paid after commission: staff who see the order, once it has
    /// an agreed price.
    pub see_payout: bool,
    /// Change its markers: `assign_orders` or `update_order_status`.
    pub edit_markers: bool,
    /// Grant or revoke order-level access to it, and see the suggested staff for it:
    /// `assign_orders`, in any stage (as [`crate::Tx::grant_order_access`]).
    pub grant_access: bool,
    /// Delete it: its own customer, while its stage allows (C0de seed: pending or rejected).
    pub delete: bool,
    /// Make a project from it (issue 14): the projects module on, the order in a `Won`
    /// stage with no project yet, and the actor holding `manage_projects` (as
    /// [`crate::Tx::create_project`]).
    pub create_project: bool,
    /// The project made from it, when there is one (for a link; the project's own rules
    /// decide who may open it).
    pub project: Option<ProjectId>,
}

impl OrderActions {
    /// Whether the actor may act on the order's workflow at all: approve, reject, bid, assign,
    /// move, or send payment details (a page says why when not). Markers, chat and access
    /// grants have sections of their own.
    pub fn any(&self) -> bool {
        self.approve
            || self.reject
            || self.bid
            || self.assign
            || !self.moves.is_empty()
            || self.send_payment
    }
}

/// The actions of a resolved actor on an order they may see.
pub(crate) fn order_actions(
    view: &impl View,
    actor: &Actor,
    resolved: &Resolved,
    org: &Organization,
    order: &Order,
) -> Result<OrderActions> {
    let stage = stage_of(org, order.stage)?;
    let staff = matches!(resolved, Resolved::Staff(..) | Resolved::System);
    let moderation = stage.kind == StageKind::Moderation;
    let may = |permission| resolved.has(permission);
    let bid = match resolved {
        Resolved::Staff(user, permissions) => {
            permissions.contains(Permission::RespondOrders)
                && stage.accepts_bids
                && !bids_of(view, actor.org, order.id)?
                    .iter()
                    .any(|bid| bid.user == user.id && bid.state == BidState::Active)
        }
        _ => false,
    };
    let permissions = match resolved {
        Resolved::Staff(_, permissions) => *permissions,
        Resolved::System => PermissionSet::all(),
        Resolved::Customer(_) => PermissionSet::EMPTY,
    };
    let project = if org.modules.contains(Module::Projects) {
        super::projects::project_of_lead(view, actor.org, order.id)?
    } else {
        None
    };
    Ok(OrderActions {
        approve: moderation && may(Permission::ModerateOrders),
        reject: moderation && may(Permission::ModerateOrders),
        bid,
        assign: stage.kind == StageKind::Open && may(Permission::AssignOrders),
        moves: if staff {
            allowed_moves(org, permissions, resolved.user_id(), order)
                .into_iter()
                .map(|stage| stage.id)
                .collect()
        } else {
            Vec::new()
        },
        chat: match resolved {
            Resolved::Customer(customer) => order.customer == *customer,
            _ => may_chat(view, actor.org, resolved, Some(order.id))?,
        },
        send_payment: stage.payment_allowed
            && matches!(resolved, Resolved::Staff(..))
            && may(Permission::SendPaymentInfo),
        see_payout: staff && order.price.is_some(),
        edit_markers: may(Permission::AssignOrders) || may(Permission::UpdateOrderStatus),
        grant_access: staff && may(Permission::AssignOrders),
        delete: matches!(resolved, Resolved::Customer(customer) if order.customer == *customer)
            && stage.customer_deletable,
        create_project: project.is_none()
            && stage.kind == StageKind::Won
            && org.modules.contains(Module::Projects)
            && matches!(resolved, Resolved::Staff(..) | Resolved::System)
            && may(Permission::ManageProjects),
        project: project.filter(|_| staff),
    })
}

/// What `actor` may do with `order` now.
///
/// # Errors
/// Not found, also when the actor may not see the order; permission denied for a disabled
/// user.
pub fn order_actions_in(view: &impl View, actor: &Actor, order: OrderId) -> Result<OrderActions> {
    let resolved = resolve(view, actor)?;
    let org = load_org(view, actor.org)?;
    let record = load_order(view, actor.org, order)?;
    if !may_view(view, &resolved, &org, &record)? {
        return Err(crate::Error::not_found(OrderId::LABEL, order));
    }
    order_actions(view, actor, &resolved, &org, &record)
}

/// The staff menu: which areas a user's permissions open. The appliance adds what it alone
/// knows (the sandbox page).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Navigation {
    /// The dashboard (every staff user).
    pub dashboard: bool,
    /// The moderation queue (`moderate_orders`).
    pub moderation: bool,
    /// The order list (`view_orders` or `moderate_orders`).
    pub orders: bool,
    /// The Kanban board (`view_orders`: work past moderation).
    pub board: bool,
    /// The chat inbox (`chat_customers`).
    pub chat: bool,
    /// Users (`manage_users`).
    pub users: bool,
    /// Roles (`manage_roles`).
    pub roles: bool,
    /// Markers (`manage_markers`).
    pub markers: bool,
    /// Payment methods (`manage_billing`).
    pub payment_methods: bool,
    /// Organization settings (`manage_settings`).
    pub settings: bool,
    /// The audit log (`view_audit`).
    pub audit: bool,
    /// Creating an order for a customer (`moderate_orders`, as [`crate::Tx::create_order`]).
    pub new_order: bool,
    /// Adding a customer by hand (`chat_customers`, as [`crate::Tx::insert_customer`]).
    pub new_customer: bool,
    /// The scheduled jobs (`manage_settings`, as [`crate::jobs::jobs_in`]).
    pub jobs: bool,
    /// The modules the organization runs: a module's entries show only while it is on
    /// (SPEC 3.1).
    pub modules: Modules,
    /// The operators module's departments page (`manage_users`, module on).
    pub departments: bool,
    /// The operators module's statistics page (`view_analytics`, module on).
    pub operator_stats: bool,
    /// The operator status switch in the page header (every staff user, module on).
    pub operator_status: bool,
    /// The inbox's "Archived" list of archived conversations (`chat_customers`, operators
    /// module on, as [`crate::chat::archived_conversations_in`]).
    pub archived_conversations: bool,
    /// The call list (`/calls`): calls on (the tickets module) and a reader of calls
    /// (`chat_customers` or `view_orders`, as [`crate::calls::calls_in`]).
    pub calls: bool,
    /// The satisfaction statistics (`/csat`: `view_analytics`, as
    /// [`crate::csat::csat_stats_in`]).
    pub csat: bool,
    /// Merging customers (`chat_customers`, as [`crate::Tx::merge_customers`]).
    pub merge_customers: bool,
    /// The token service's queue (`/queue`: tokens module on, `view_orders`, as
    /// [`crate::tokens::queue_in`]).
    pub token_queue: bool,
    /// The token service's packages and settings (tokens module on, `manage_settings`, as
    /// [`crate::Tx::save_package`]).
    pub packages: bool,
    /// Customers' token ledgers (tokens module on, `view_orders`, as
    /// [`crate::tokens::ledger_in`]).
    pub ledgers: bool,
    /// Moving orders in the token service's queue (tokens module on, `assign_orders`, as
    /// [`crate::Tx::move_in_queue`]).
    pub reorder_queue: bool,
    /// The webhook endpoints and their delivery log (`/settings/webhooks`: `manage_settings`,
    /// as [`crate::webhooks::webhooks_in`]; every organization, no module).
    pub webhooks: bool,
    /// Customers' profiles on the customer page, and adding, editing and archiving them
    /// (the tokens module and `chat_customers`, as [`crate::Tx::create_profile`]).
    pub profiles: bool,
    /// The registration form's settings page (`/settings/registration`: the tokens module
    /// and `manage_settings`, as [`crate::Tx::set_registration_form`]).
    pub registration_form: bool,
    /// The broadcasts (`/broadcasts`: `broadcast`, as [`crate::broadcasts::broadcasts_in`];
    /// every organization, no module).
    pub broadcasts: bool,
    /// The analytics dashboard (`/analytics`: `view_analytics`, as
    /// [`crate::analytics::analytics_in`]).
    pub analytics: bool,
    /// The projects (`/projects`: the projects module on, and `manage_projects` or
    /// `report_projects`, as [`crate::projects::projects_in`]).
    pub projects: bool,
    /// The AI qualification's settings (`/settings/ai`: the projects module and
    /// `manage_settings`, as [`crate::leads::ai_settings_in`]).
    pub ai_settings: bool,
}

impl Navigation {
    /// The menu of a staff user holding `permissions` in an organization running `modules`.
    /// A pure function of the two, so a page that already knows its user's permissions and
    /// organization's modules renders the menu without a read.
    pub fn for_permissions(permissions: PermissionSet, modules: Modules) -> Self {
        use Permission::*;
        let has = |permission| permissions.contains(permission);
        Navigation {
            dashboard: true,
            moderation: has(ModerateOrders),
            orders: has(ViewOrders) || has(ModerateOrders),
            board: has(ViewOrders),
            chat: has(ChatCustomers),
            users: has(ManageUsers),
            roles: has(ManageRoles),
            markers: has(ManageMarkers),
            payment_methods: has(ManageBilling),
            settings: has(ManageSettings),
            audit: has(ViewAudit),
            new_order: has(ModerateOrders),
            new_customer: has(ChatCustomers),
            jobs: has(ManageSettings),
            modules,
            departments: modules.contains(Module::Operators) && has(ManageUsers),
            operator_stats: modules.contains(Module::Operators) && has(ViewAnalytics),
            operator_status: modules.contains(Module::Operators),
            archived_conversations: modules.contains(Module::Operators) && has(ChatCustomers),
            calls: modules.contains(Module::Tickets) && super::calls::reads_calls(has),
            csat: has(ViewAnalytics),
            merge_customers: has(ChatCustomers),
            token_queue: modules.contains(Module::Tokens) && has(ViewOrders),
            packages: modules.contains(Module::Tokens) && has(ManageSettings),
            ledgers: modules.contains(Module::Tokens) && has(ViewOrders),
            reorder_queue: modules.contains(Module::Tokens) && has(AssignOrders),
            webhooks: has(ManageSettings),
            profiles: modules.contains(Module::Tokens) && has(ChatCustomers),
            registration_form: modules.contains(Module::Tokens) && has(ManageSettings),
            broadcasts: has(Broadcast),
            analytics: has(ViewAnalytics),
            projects: modules.contains(Module::Projects)
                && (has(ManageProjects) || has(ReportProjects)),
            ai_settings: modules.contains(Module::Projects) && has(ManageSettings),
        }
    }
}

/// The menu of the acting staff user (everything for the system, nothing for customers).
///
/// # Errors
/// Permission denied for a disabled or unknown user.
pub fn navigation_in(view: &impl View, actor: &Actor) -> Result<Navigation> {
    let modules = load_org(view, actor.org)?.modules;
    Ok(match resolve(view, actor)? {
        Resolved::Staff(_, permissions) => Navigation::for_permissions(permissions, modules),
        Resolved::System => Navigation::for_permissions(PermissionSet::all(), modules),
        Resolved::Customer(_) => Navigation::default(),
    })
}

/// What an actor may do with one conversation of the inbox now (issue 12). The inbox's
/// use cases enforce the same rules: [`crate::Tx::close_chat`], [`crate::Tx::reopen_chat`],
/// [`crate::Tx::snooze_chat`], the queue's [`crate::Tx::reassign_conversation`] and the
/// private notes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConversationActions {
    /// Close it: `chat_customers`, and it is not closed.
    pub close: bool,
    /// Reopen it (or wake it from a snooze): `chat_customers`, and it is closed or snoozed.
    pub reopen: bool,
    /// Snooze it: `chat_customers`, and it is not closed.
    pub snooze: bool,
    /// Assign it to an operator: the operators module on, `assign_orders`, and it is open
    /// (with an open queue item).
    pub assign: bool,
    /// Write a private note: `chat_customers`.
    pub note: bool,
    /// Reply to the customer: `chat_customers`.
    pub reply: bool,
}

/// What the inbox page offers an actor: its filter tabs (mine and unassigned only with the
/// operators module), and whether assignees and departments show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InboxActions {
    /// The filters, in tab order.
    pub filters: Vec<crate::inbox::InboxFilter>,
    /// Whether rows show their assignee and department (operators module on).
    pub assignment: bool,
}

/// The inbox page's actions for a staff user holding `permissions` in an organization
/// running `modules`.
pub(crate) fn inbox_actions(permissions: PermissionSet, modules: Modules) -> InboxActions {
    use crate::inbox::InboxFilter;
    if !permissions.contains(Permission::ChatCustomers) {
        return InboxActions::default();
    }
    let operators = modules.contains(Module::Operators);
    let mut filters = Vec::new();
    if operators {
        filters.extend([InboxFilter::Mine, InboxFilter::Unassigned]);
    }
    filters.extend([InboxFilter::All, InboxFilter::Snoozed, InboxFilter::Closed]);
    InboxActions {
        filters,
        assignment: operators,
    }
}

/// What a staff user holding `permissions` may do with the conversation `row` (state as of
/// `now`) in an organization running `modules`; `open_item` says whether its queue item is
/// open (operators module).
pub(crate) fn conversation_actions(
    permissions: PermissionSet,
    modules: Modules,
    row: &ConversationRow,
    now: Timestamp,
    open_item: bool,
) -> ConversationActions {
    let chat = permissions.contains(Permission::ChatCustomers);
    let state = row.state.at(now);
    let closed = matches!(state, ConversationState::Closed { .. });
    ConversationActions {
        close: chat && !closed,
        reopen: chat && state != ConversationState::Open,
        snooze: chat && !closed,
        assign: modules.contains(Module::Operators)
            && permissions.contains(Permission::AssignOrders)
            && open_item,
        note: chat,
        reply: chat,
    }
}

impl Crm {
    /// See [`order_actions_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`order_actions_in`].
    pub fn order_actions(&self, actor: &Actor, order: OrderId) -> Result<OrderActions> {
        self.read(|view| order_actions_in(view, actor, order))
    }

    /// See [`navigation_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`navigation_in`].
    pub fn navigation(&self, actor: &Actor) -> Result<Navigation> {
        self.read(|view| navigation_in(view, actor))
    }
}
