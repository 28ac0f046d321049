//! Staff working from Telegram (issue 12): who is told that a customer wrote, a reply to the
//! notice answering the customer (with the sender's permissions), and the staff group's
//! forum: one topic per customer, mirrored both ways, `/note` kept internal, closing the
//! conversation closing the topic.

use crm_lib::{
    ErrorKind, Page,
    chat::{InboundMessage, NewNote, OrderChoice, OutboundMessage},
    model::{
        Actor, Attachment, Author, ChatId, Direction, Event, ForumCall, MediaKind, OperatorStatus,
        OutboxItem, OutboxPayload, OutboxState, Recipient, TelegramUserId, Timestamp, UserId,
    },
    staff_chat::TopicPost,
};

use crate::support::World;

const GROUP: ChatId = ChatId::new(-1_001_000_000_042);

/// Links `actor`'s Telegram account `telegram` as the profile page and `/link` do.
fn link(world: &World, actor: &Actor, telegram: i64) {
    let code = world.crm.create_link_code(actor).unwrap().code;
    let org = world.org.id;
    world
        .crm
        .write(move |tx| {
            tx.system()
                .redeem_link_code(org, &code, TelegramUserId::new(telegram))
        })
        .unwrap();
}

fn say(world: &World, customer: &Actor, about: OrderChoice, text: &str) -> crm_lib::model::Message {
    world
        .crm
        .post_inbound(
            customer,
            InboundMessage {
                customer: World::customer_id(customer),
                about,
                text: text.into(),
                attachments: Vec::new(),
                telegram_message_id: None,
                content: None,
                reply_to_telegram: None,
                media_group: None,
            },
        )
        .unwrap()
}

/// The staff users told about `message`, by id.
fn told(world: &World, message: crm_lib::model::MessageId) -> Vec<UserId> {
    let mut users: Vec<UserId> = world
        .outbox()
        .into_iter()
        .filter_map(|item| match (item.recipient, item.payload) {
            (
                Recipient::Staff(user),
                OutboxPayload::Notify(Event::CustomerWrote { message: about, .. }),
            ) if about == message => Some(user),
            _ => None,
        })
        .collect();
    users.sort();
    users
}

fn forum_items(world: &World) -> Vec<(OutboxItem, ForumCall)> {
    world
        .outbox()
        .into_iter()
        .filter_map(|item| match &item.payload {
            OutboxPayload::Forum(call) => Some((item.clone(), call.clone())),
            _ => None,
        })
        .collect()
}

/// Links the staff group as `/link CODE` sent in it does.
fn link_group(world: &World) {
    let code = world
        .crm
        .create_staff_group_code(&world.admin)
        .unwrap()
        .link_code
        .unwrap();
    let org = world.org.id;
    world
        .crm
        .write(move |tx| {
            tx.system()
                .link_staff_group(org, &code, GROUP, "Support team", true)
        })
        .unwrap();
}

#[test]
fn without_the_operators_module_linked_staff_who_may_chat_are_told_or_the_order_s_assignee_alone() {
    let world = World::new();
    link(&world, &world.admin, 501);
    link(&world, &world.manager, 502);
    link(&world, &world.worker, 503);
    let ann = world.customer(9001, "Ann");
    let message = say(&world, &ann, OrderChoice::None, "hello?");
    // The worker lacks chat_customers; the master may chat but is not linked.
    let mut expected = vec![World::user_id(&world.admin), World::user_id(&world.manager)];
    expected.sort();
    assert_eq!(told(&world, message.id), expected);
    let notice = world
        .outbox()
        .into_iter()
        .find_map(|item| match item.payload {
            OutboxPayload::Notify(Event::CustomerWrote {
                customer_name,
                text,
                ..
            }) => Some((customer_name, text)),
            _ => None,
        })
        .unwrap();
    assert_eq!(notice, ("Ann".to_string(), "hello?".to_string()));

    // A message about an order assigned to the worker (who holds its chat grant) goes to
    // the worker alone.
    let order = world.assigned_order(9002);
    let bob = Actor::customer(world.org.id, order.customer);
    let about = say(&world, &bob, OrderChoice::Chosen(order.id), "when?");
    assert_eq!(told(&world, about.id), vec![World::user_id(&world.worker)]);
}

#[test]
fn with_the_operators_module_the_assignee_is_told_else_the_department_s_online_operators() {
    let world = World::with_template("helpdesk", "help");
    link(&world, &world.admin, 601);
    link(&world, &world.manager, 602);
    let department = world
        .crm
        .create_department(&world.admin, "Support")
        .unwrap()
        .id;
    for member in [&world.admin, &world.manager] {
        world
            .crm
            .add_department_member(&world.admin, department, World::user_id(member))
            .unwrap();
    }
    // Nobody online: the conversation waits and nobody is told.
    let ann = world.customer(9101, "Ann");
    let first = say(&world, &ann, OrderChoice::None, "anyone?");
    assert!(told(&world, first.id).is_empty());
    // The manager comes online and gets the conversation: only they are told.
    world
        .crm
        .set_operator_status(
            &world.manager,
            World::user_id(&world.manager),
            OperatorStatus::Online,
        )
        .unwrap();
    let second = say(&world, &ann, OrderChoice::None, "hello?");
    assert_eq!(
        told(&world, second.id),
        vec![World::user_id(&world.manager)]
    );
}

#[test]
fn a_reply_to_a_delivered_notice_answers_its_customer_as_the_staff_user_with_their_permissions() {
    let world = World::new();
    link(&world, &world.manager, 702);
    let ann = world.customer(9201, "Ann");
    let message = say(&world, &ann, OrderChoice::None, "is it ready?");
    let notice = world
        .outbox()
        .into_iter()
        .find(|item| {
            matches!(
                item.payload,
                OutboxPayload::Notify(Event::CustomerWrote { .. })
            )
        })
        .unwrap();
    world
        .crm
        .system()
        .outbox_delivered(world.org.id, notice.id, Some(4242))
        .unwrap();
    let chat = ChatId::new(702);
    // Not a notice: not found, nothing sent.
    let unknown = world
        .crm
        .reply_to_notice(&world.manager, chat, 4243, "hi".into(), Vec::new())
        .unwrap_err();
    assert_eq!(unknown.kind(), ErrorKind::NotFound);
    // Another user's chat and message id: not theirs.
    let other = world
        .crm
        .reply_to_notice(&world.admin, chat, 4242, "hi".into(), Vec::new())
        .unwrap_err();
    assert_eq!(other.kind(), ErrorKind::NotFound);

    // The bot fetches a file only for a reply to the user's own notice.
    let goes = |user: UserId, reply_to: Option<i64>| {
        world
            .crm
            .system()
            .staff_message_to_customer(world.org.id, chat, user, reply_to, None, Some("x"))
            .unwrap()
    };
    let manager_id = World::user_id(&world.manager);
    assert!(goes(manager_id, Some(4242)));
    assert!(!goes(manager_id, Some(4243)));
    assert!(!goes(manager_id, None));
    assert!(!goes(World::user_id(&world.admin), Some(4242)));

    let photo = world
        .crm
        .system()
        .store_media(
            world.org.id,
            vec![0x89, b'P', b'N', b'G'],
            "image/png".into(),
        )
        .unwrap();
    let attachment = Attachment {
        media: photo.hash,
        kind: MediaKind::Photo,
        file_name: None,
        mime: photo.mime.clone(),
        size: photo.size,
    };
    let sent = world
        .crm
        .reply_to_notice(
            &world.manager,
            chat,
            4242,
            "Yes, tomorrow".into(),
            vec![attachment.clone()],
        )
        .unwrap();
    assert_eq!(sent.attachments, vec![attachment]);
    assert_eq!(sent.customer, message.customer);
    assert_eq!(sent.direction, Direction::Outbound);
    assert_eq!(sent.author, Author::Staff(World::user_id(&world.manager)));
    assert!(world.outbox().iter().any(|item| {
        item.recipient == Recipient::Customer(message.customer)
            && item.payload == OutboxPayload::ChatMessage(sent.id)
    }));

    // Without chat_customers any more, the reply is refused and nothing is written.
    let (admin, manager) = (world.admin.clone(), World::user_id(&world.manager));
    world
        .crm
        .write(move |tx| tx.set_user_roles(&admin, manager, vec!["worker".into()]))
        .unwrap();
    let before = world.outbox().len();
    let refused = world
        .crm
        .reply_to_notice(&world.manager, chat, 4242, "still here".into(), Vec::new())
        .unwrap_err();
    assert!(matches!(refused.kind(), ErrorKind::PermissionDenied));
    assert_eq!(world.outbox().len(), before);

    // Retention prunes the notice with its delivered outbox item: the table does not grow for
    // ever, and a reply to it is an ordinary message again. (Retention stops at the first
    // unfinished item, so everything is delivered first.)
    for item in world.outbox() {
        if item.state == OutboxState::Pending {
            world
                .crm
                .system()
                .outbox_delivered(world.org.id, item.id, None)
                .unwrap();
        }
    }
    world
        .crm
        .system()
        .prune_outbox(Some(world.org.id), Timestamp::from_millis(i64::MAX), 10_000)
        .unwrap();
    let pruned = world
        .crm
        .reply_to_notice(&world.manager, chat, 4242, "late".into(), Vec::new())
        .unwrap_err();
    assert_eq!(pruned.kind(), ErrorKind::NotFound);
    let verify = world.crm.system().verify().unwrap();
    assert!(verify.is_clean(), "{:#?}", verify.problems);
}

#[test]
fn the_group_links_once_with_a_fresh_code_and_only_as_a_forum() {
    let world = World::new();
    let refused = world
        .crm
        .create_staff_group_code(&world.worker)
        .unwrap_err();
    assert!(matches!(refused.kind(), ErrorKind::PermissionDenied));
    let code = world
        .crm
        .create_staff_group_code(&world.admin)
        .unwrap()
        .link_code
        .unwrap();
    let org = world.org.id;
    let attempt = |code: String, chat: ChatId, forum: bool| {
        world.crm.write(move |tx| {
            tx.system()
                .link_staff_group(org, &code, chat, "Team", forum)
        })
    };
    let wrong = attempt("WRONG000".into(), GROUP, true).unwrap_err();
    assert!(matches!(wrong.kind(), ErrorKind::InvalidInput));
    let no_topics = attempt(code.clone(), GROUP, false).unwrap_err();
    assert!(matches!(no_topics.kind(), ErrorKind::InvalidInput));
    let linked = attempt(code.to_lowercase(), GROUP, true).unwrap();
    assert_eq!(linked.active_chat(), Some(GROUP));
    let again = attempt(code, GROUP, true).unwrap_err();
    assert!(matches!(again.kind(), ErrorKind::InvalidInput));
    let off = world
        .crm
        .set_staff_group_enabled(&world.admin, false)
        .unwrap();
    assert_eq!(off.active_chat(), None);
}

#[test]
fn the_forum_gets_one_topic_per_customer_mirrors_both_ways_and_closes_it_with_the_conversation() {
    let world = World::with_template("helpdesk", "help");
    link(&world, &world.manager, 802);
    link_group(&world);
    let ann = world.customer(9301, "Ann");
    let ann_id = World::customer_id(&ann);
    let first = say(&world, &ann, OrderChoice::None, "hello");
    let second = say(&world, &ann, OrderChoice::None, "anyone?");
    let calls: Vec<ForumCall> = forum_items(&world).into_iter().map(|(_, c)| c).collect();
    assert_eq!(
        calls,
        vec![
            ForumCall::CreateTopic {
                customer: ann_id,
                name: "Ann".into()
            },
            ForumCall::Mirror { message: first.id },
            ForumCall::Mirror { message: second.id },
        ]
    );
    assert!(
        forum_items(&world)
            .iter()
            .all(|(item, _)| item.recipient == Recipient::Chat(GROUP))
    );
    // Telegram created the topic: its thread is recorded and the mirrors find it.
    let (create, _) = forum_items(&world).remove(0);
    world
        .crm
        .system()
        .outbox_delivered(world.org.id, create.id, Some(77))
        .unwrap();
    let topic = world
        .crm
        .forum_topic(&world.admin, ann_id)
        .unwrap()
        .unwrap();
    assert_eq!(topic.thread, Some(77));
    let mirror = world
        .crm
        .system()
        .forum_mirror(world.org.id, first.id)
        .unwrap()
        .unwrap();
    assert_eq!((mirror.thread, mirror.message.text.as_str()), (77, "hello"));

    // Staff write in the topic: the customer gets it, and it is not mirrored back.
    let post = world
        .crm
        .post_in_topic(&world.manager, GROUP, 77, "Hi Ann".into(), Vec::new())
        .unwrap();
    let TopicPost::Sent(sent) = post else {
        panic!("a message, not a note");
    };
    assert_eq!(sent.author, Author::Staff(World::user_id(&world.manager)));
    assert!(
        world
            .outbox()
            .iter()
            .any(|item| item.payload == OutboxPayload::ChatMessage(sent.id))
    );
    assert_eq!(
        world
            .crm
            .system()
            .forum_mirror(world.org.id, sent.id)
            .unwrap(),
        None
    );
    // `/note` stays internal: a private note, nothing queued for the customer.
    let before = world.outbox().len();
    let post = world
        .crm
        .post_in_topic(
            &world.manager,
            GROUP,
            77,
            "/note promised a refund".into(),
            Vec::new(),
        )
        .unwrap();
    let TopicPost::Note(note) = post else {
        panic!("a note, not a message");
    };
    assert_eq!(note.direction, Direction::Note);
    assert_eq!(note.text, "promised a refund");
    assert_eq!(world.outbox().len(), before);
    let customer_view = world
        .crm
        .messages_of_customer(&ann, ann_id, Page::default())
        .unwrap();
    assert!(
        customer_view
            .items
            .iter()
            .all(|message| message.id != note.id)
    );
    // A note written in the web is copied into the topic (to the group, never the customer).
    let web_note = world
        .crm
        .post_note(
            &world.manager,
            NewNote {
                customer: ann_id,
                order: None,
                text: "calls after 6 pm".into(),
            },
        )
        .unwrap();
    assert!(world.outbox().iter().any(|item| {
        item.recipient == Recipient::Chat(GROUP)
            && item.payload
                == OutboxPayload::Forum(ForumCall::Mirror {
                    message: web_note.id,
                })
    }));
    let copied = world
        .crm
        .system()
        .forum_mirror(world.org.id, web_note.id)
        .unwrap()
        .unwrap();
    assert_eq!(copied.message.direction, Direction::Note);
    // A message from the web is mirrored with its author's name.
    let web = world
        .crm
        .post_outbound(
            &world.manager,
            OutboundMessage {
                customer: ann_id,
                order: None,
                text: "From the browser".into(),
                attachments: Vec::new(),
                reply_to: None,
                content: None,
            },
        )
        .unwrap();
    let mirrored = world
        .crm
        .system()
        .forum_mirror(world.org.id, web.id)
        .unwrap()
        .unwrap();
    assert_eq!(mirrored.staff_name.as_deref(), Some("manager display"));
    // An unknown thread, or a worker without chat_customers, is refused and writes nothing.
    let before = world.outbox().len();
    let unknown = world
        .crm
        .post_in_topic(&world.manager, GROUP, 78, "lost".into(), Vec::new())
        .unwrap_err();
    assert_eq!(unknown.kind(), ErrorKind::NotFound);
    let denied = world
        .crm
        .post_in_topic(&world.worker, GROUP, 77, "me too".into(), Vec::new())
        .unwrap_err();
    assert!(matches!(denied.kind(), ErrorKind::PermissionDenied));
    assert_eq!(world.outbox().len(), before);

    // A third message creates no second topic.
    say(&world, &ann, OrderChoice::None, "thanks");
    let creates = forum_items(&world)
        .iter()
        .filter(|(_, call)| matches!(call, ForumCall::CreateTopic { .. }))
        .count();
    assert_eq!(creates, 1);

    // Closing the conversation closes the topic; reopening reopens it.
    world
        .crm
        .close_conversation(&world.manager, ann_id)
        .unwrap();
    assert!(
        world
            .crm
            .forum_topic(&world.admin, ann_id)
            .unwrap()
            .unwrap()
            .closed
    );
    world
        .crm
        .reopen_conversation(&world.manager, ann_id)
        .unwrap();
    let tail: Vec<ForumCall> = forum_items(&world)
        .into_iter()
        .rev()
        .take(2)
        .map(|(_, call)| call)
        .collect();
    assert_eq!(
        tail,
        vec![
            ForumCall::ReopenTopic { customer: ann_id },
            ForumCall::CloseTopic { customer: ann_id },
        ]
    );
    let page = world
        .crm
        .messages_of_customer(&world.admin, ann_id, Page::default())
        .unwrap();
    assert!(page.items.iter().any(|message| message.text == "Hi Ann"));

    // Retention takes the topic message's origin mark along with its mirror item.
    for item in world.outbox() {
        if item.state == OutboxState::Pending {
            world
                .crm
                .system()
                .outbox_delivered(world.org.id, item.id, None)
                .unwrap();
        }
    }
    world
        .crm
        .system()
        .prune_outbox(Some(world.org.id), Timestamp::from_millis(i64::MAX), 10_000)
        .unwrap();
    assert!(world.outbox().is_empty());
    assert!(
        world
            .crm
            .system()
            .forum_mirror(world.org.id, sent.id)
            .unwrap()
            .is_some(),
        "no origin mark is left to skip it"
    );
    let verify = world.crm.system().verify().unwrap();
    assert!(verify.is_clean(), "{:#?}", verify.problems);
}

#[test]
fn without_the_operators_module_the_inbox_s_close_and_reopen_close_and_reopen_the_topic() {
    let world = World::new();
    link_group(&world);
    let ann = world.customer(9401, "Ann");
    let ann_id = World::customer_id(&ann);
    say(&world, &ann, OrderChoice::None, "hello");
    let (create, _) = forum_items(&world).remove(0);
    world
        .crm
        .system()
        .outbox_delivered(world.org.id, create.id, Some(55))
        .unwrap();
    world.crm.close_chat(&world.manager, ann_id).unwrap();
    assert!(
        world
            .crm
            .forum_topic(&world.admin, ann_id)
            .unwrap()
            .unwrap()
            .closed
    );
    world.crm.reopen_chat(&world.manager, ann_id).unwrap();
    assert!(
        !world
            .crm
            .forum_topic(&world.admin, ann_id)
            .unwrap()
            .unwrap()
            .closed
    );
    let tail: Vec<ForumCall> = forum_items(&world)
        .into_iter()
        .rev()
        .take(2)
        .map(|(_, call)| call)
        .collect();
    assert_eq!(
        tail,
        vec![
            ForumCall::ReopenTopic { customer: ann_id },
            ForumCall::CloseTopic { customer: ann_id },
        ]
    );
}
