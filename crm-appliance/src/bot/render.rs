//! Texts the bot sends, in the recipient's language: translations (keys `bot.*` of the locale
//! files, `assets/locales/<code>.yml`, through [`crate::i18n`]),
//! money and dates, and the notifications crm-lib queues as [`crm_lib::model::Event`]s, which
//! are rendered at delivery so they follow the recipient's current language.
//!
//! Texts go out without `parse_mode`, so user-typed titles and names need no escaping and can
//! never turn into markup.

use crm_lib::model::{Event, Keyboard, Language, Money};

use super::keyboards;

pub(crate) use super::text::{CAPTION_MAX_UTF16, TEXT_MAX_UTF16, clip, fit};
pub(crate) use crate::i18n::{tr, tr_with};

/// An amount with its currency as a reader of `language` writes it: `1,500.00 USD`,
/// `1 500,00 USD` (crm-lib's [`Money::format_with`], which the web shares).
pub(crate) fn money(amount: Money, currency: &str, language: Language) -> String {
    amount.format_with(language, currency)
}

/// The language question, asked of a customer whose language may be wrong: the line in
/// `language` first, then the same line in every other language whose locale file has it,
/// joined by ` / `.
pub(crate) fn choose_language(language: Language) -> String {
    const KEY: &str = "bot.choose_language";
    let mut lines = vec![tr(language, KEY)];
    for other in Language::all().filter(|other| *other != language) {
        if let Some(line) = crm_lib::i18n::text(other, KEY)
            && !lines.iter().any(|shown| *shown == line)
        {
            lines.push(line.into_owned());
        }
    }
    lines.join(" / ")
}

/// The daily report in `language`: yesterday's counts, then the open orders of each stage.
fn daily_report(summary: &crm_lib::model::DailySummary, language: Language) -> String {
    let stages: Vec<String> = summary
        .open_by_stage
        .iter()
        .map(|count| {
            tr_with(
                language,
                "bot.notify.daily_report_stage",
                &[
                    ("stage", &count.name.get(language)),
                    ("count", &count.orders.to_string()),
                ],
            )
        })
        .collect();
    tr_with(
        language,
        "bot.notify.daily_report",
        &[
            ("day", &summary.day.to_string()),
            ("new", &summary.new_orders.to_string()),
            ("won", &summary.won.to_string()),
            ("lost", &summary.lost.to_string()),
            ("in", &summary.messages_in.to_string()),
            ("out", &summary.messages_out.to_string()),
            ("stages", &stages.join("\n")),
        ],
    )
}

/// A notification's text and buttons in `language`. `currency` is the organization's, for
/// amounts whose event does not carry it.
pub(crate) fn notification(
    event: &Event,
    language: Language,
    currency: &str,
) -> (String, Option<Keyboard>) {
    let text_and_keyboard = match event {
        Event::OrderCreated {
            order,
            title,
            customer_name,
            budget,
        } => {
            let budget = budget
                .map(|budget| money(budget, currency, language))
                .unwrap_or_else(|| tr(language, "bot.wizard.not_set"));
            (
                tr_with(
                    language,
                    "bot.notify.order_created",
                    &[
                        ("id", order),
                        ("title", title),
                        ("customer", customer_name),
                        ("budget", &budget),
                    ],
                ),
                Some(keyboards::moderation(language, order.get())),
            )
        }
        Event::OrderApproved { order, title } => (
            tr_with(
                language,
                "bot.notify.order_approved",
                &[("id", order), ("title", title)],
            ),
            None,
        ),
        Event::OrderRejected {
            order,
            title,
            reason,
        } => (
            tr_with(
                language,
                "bot.notify.order_rejected",
                &[("id", order), ("title", title), ("reason", reason)],
            ),
            None,
        ),
        Event::BidPlaced {
            order,
            title,
            bidder,
            price,
            currency,
        } => (
            tr_with(
                language,
                "bot.notify.bid_placed",
                &[
                    ("id", order),
                    ("title", title),
                    ("bidder", bidder),
                    ("price", &price.format(language)),
                    ("currency", currency),
                ],
            ),
            None,
        ),
        Event::OrderAssigned {
            order,
            title,
            assignee,
            to_assignee,
        } => {
            let key = if *to_assignee {
                "bot.notify.assigned_staff"
            } else {
                "bot.notify.assigned_customer"
            };
            (
                tr_with(
                    language,
                    key,
                    &[("id", order), ("title", title), ("assignee", assignee)],
                ),
                None,
            )
        }
        Event::StageChanged {
            order,
            title,
            stage_name,
            ..
        } => {
            let stage = stage_name.get(language).to_string();
            (
                tr_with(
                    language,
                    "bot.notify.stage_changed",
                    &[("id", order), ("title", title), ("stage", &stage)],
                ),
                None,
            )
        }
        Event::PaymentInfo {
            order,
            title,
            method,
            amount,
            currency,
            details,
            ..
        } => (
            tr_with(
                language,
                "bot.notify.payment_info",
                &[
                    ("id", order),
                    ("title", title),
                    ("amount", &amount.format(language)),
                    ("currency", currency),
                    ("method", method),
                    ("details", details),
                ],
            ),
            None,
        ),
        Event::TicketAssigned {
            order,
            title,
            fields,
            moves,
        } => {
            let mut text = tr_with(
                language,
                "tickets.bot.assigned",
                &[("id", order), ("title", title)],
            );
            for (def, value) in fields {
                text.push('\n');
                text.push_str(def.name.get(language));
                text.push_str(": ");
                text.push_str(&value.display(Some(def), language, currency));
            }
            let moves: Vec<(u16, String)> = moves
                .iter()
                .map(|(stage, name)| (stage.get(), name.get(language).to_string()))
                .collect();
            (text, keyboards::ticket_moves(order.get(), &moves))
        }
        Event::StaffLinked { display_name } => (
            tr_with(
                language,
                "bot.notify.staff_linked",
                &[("name", display_name)],
            ),
            None,
        ),
        Event::DailyReport { summary } => (daily_report(summary, language), None),
        Event::ConversationAssigned {
            customer_name,
            department,
            ..
        } => (
            match department {
                Some(department) => tr_with(
                    language,
                    "operators.bot.assigned_in",
                    &[("customer", customer_name), ("department", department)],
                ),
                None => tr_with(
                    language,
                    "operators.bot.assigned",
                    &[("customer", customer_name)],
                ),
            },
            None,
        ),
        Event::CustomerWrote {
            customer_name,
            text,
            attachment,
            ..
        } => (
            notice_text(language, customer_name, text, *attachment),
            None,
        ),
        Event::CsatSurvey {
            order,
            title,
            question,
        } => {
            let asked = match question.exact(language) {
                Some(text) => text.to_string(),
                None => tr(language, "csat.question"),
            };
            let text = format!(
                "{}\n\n{asked}",
                tr_with(
                    language,
                    "csat.bot.about",
                    &[("id", &order.to_string()), ("title", title)]
                )
            );
            (text, Some(keyboards::csat_ratings(order.get())))
        }
        Event::OrderQueued {
            order,
            title,
            cost,
            balance,
            position,
        } => (
            tr_with(
                language,
                "tokens.bot.order_queued",
                &[
                    ("id", order),
                    ("title", title),
                    ("cost", cost),
                    ("balance", balance),
                    ("position", position),
                ],
            ),
            Some(keyboards::tokens_menu(language)),
        ),
        Event::BalanceChanged {
            kind,
            amount,
            balance,
            description,
        } => (
            tr_with(
                language,
                &format!("tokens.bot.credited.{}", kind.as_str()),
                &[
                    ("amount", &format!("{amount:+}")),
                    ("balance", balance),
                    ("description", description),
                ],
            ),
            None,
        ),
        Event::LowBalance { balance, threshold } => (
            tr_with(
                language,
                "tokens.bot.low_balance",
                &[("balance", balance), ("threshold", threshold)],
            ),
            Some(keyboards::tokens_menu(language)),
        ),
        Event::SubscriptionExpiring { until } => (
            tr_with(
                language,
                "tokens.bot.subscription_expiring",
                &[("date", &crm_lib::model::Date::of(*until))],
            ),
            Some(keyboards::tokens_menu(language)),
        ),
        Event::SubscriptionExpired => (
            tr(language, "tokens.bot.subscription_expired"),
            Some(keyboards::tokens_menu(language)),
        ),
        Event::LeadWrote {
            customer_name,
            lead,
            title,
            text,
            attachment,
            hot,
            ..
        } => {
            let heading = tr_with(
                language,
                if *hot {
                    "leads.bot.notice_hot"
                } else {
                    "leads.bot.notice"
                },
                &[("id", lead), ("title", title)],
            );
            (
                format!(
                    "{heading}\n{}",
                    notice_text(language, customer_name, text, *attachment)
                ),
                None,
            )
        }
        Event::LeadHot {
            lead,
            title,
            customer_name,
            reason,
            summary,
        } => {
            let mut text = tr_with(
                language,
                "leads.bot.hot",
                &[("id", lead), ("title", title), ("customer", customer_name)],
            );
            if !reason.is_empty() {
                text.push('\n');
                text.push_str(reason);
            }
            if let Some(summary) = summary {
                text.push_str("\n\n");
                text.push_str(summary);
            }
            (text, None)
        }
        Event::FormQuestion {
            form,
            field,
            position,
            skippable,
            default,
        } => {
            let question = crm_lib::forms::Question::from_event(
                *form,
                field.clone(),
                *position,
                *skippable,
                default.clone(),
            );
            (
                format!(
                    "{}\n\n{}",
                    tr(language, "leads.bot.questions_intro_ai"),
                    super::forms::question_text(&question, language)
                ),
                Some(super::forms::question_keyboard(&question, language)),
            )
        }
        Event::InvoiceReady {
            invoice,
            tokens,
            amount,
            currency,
            link,
        } => (
            tr_with(
                language,
                "payments.bot.invoice_ready",
                &[
                    ("id", invoice),
                    ("tokens", tokens),
                    ("price", &price(*amount, currency)),
                ],
            ),
            Some(Keyboard::new(vec![vec![crm_lib::model::Button::url(
                tr(language, "payments.bot.button.pay"),
                link.clone(),
            )]])),
        ),
        Event::InvoiceFailed { invoice, tokens } => (
            tr_with(
                language,
                "payments.bot.invoice_failed",
                &[("id", invoice), ("tokens", tokens)],
            ),
            Some(keyboards::tokens_menu(language)),
        ),
        Event::ProjectReport {
            project,
            title,
            stage,
            text,
            files,
            ..
        } => {
            let mut lines = vec![tr_with(
                language,
                "projects.bot.report",
                &[
                    ("id", &project.to_string()),
                    ("title", title),
                    ("stage", stage),
                ],
            )];
            if !text.is_empty() {
                lines.push(text.clone());
            }
            if *files > 0 {
                lines.push(tr_with(
                    language,
                    "projects.bot.report_files",
                    &[("count", &files.to_string())],
                ));
            }
            (lines.join("\n\n"), None)
        }
        Event::ChangeRequestWaiting {
            project,
            project_title,
            request,
            title,
            amount,
            currency,
        } => (
            tr_with(
                language,
                "projects.bot.change_request",
                &[
                    ("id", &project.to_string()),
                    ("project", project_title),
                    ("request", &request.to_string()),
                    ("title", title),
                    ("amount", &money(*amount, currency, language)),
                ],
            ),
            Some(keyboards::change_request(
                language,
                project.get(),
                request.get(),
            )),
        ),
        Event::ChangeRequestDecided {
            project,
            project_title,
            request,
            title,
            amount,
            currency,
            state,
            by_client,
            budget_total,
        } => (
            tr_with(
                language,
                if *state == crm_lib::model::ChangeRequestState::Approved {
                    "projects.bot.decided.approved"
                } else {
                    "projects.bot.decided.rejected"
                },
                &[
                    ("id", &project.to_string()),
                    ("project", project_title),
                    ("request", &request.to_string()),
                    ("title", title),
                    ("amount", &money(*amount, currency, language)),
                    ("total", &money(*budget_total, currency, language)),
                    (
                        "who",
                        &tr(
                            language,
                            if *by_client {
                                "projects.bot.decided.by_client"
                            } else {
                                "projects.bot.decided.by_staff"
                            },
                        ),
                    ),
                ],
            ),
            None,
        ),
    };
    let (text, keyboard) = text_and_keyboard;
    (fit(&text, TEXT_MAX_UTF16), keyboard)
}

/// A price in minor units as the bot writes it: `12.50 USD` (Stars: `25 XTR`).
pub(crate) fn price(amount: u64, currency: &str) -> String {
    if currency == "XTR" {
        format!("{amount} XTR")
    } else {
        format!("{}.{:02} {currency}", amount / 100, amount % 100)
    }
}

// ----- staff working from Telegram (issue 12) -----

/// The label of a file's kind, for a notice or a mirror without text.
pub(crate) fn kind_label(language: Language, kind: crm_lib::model::MediaKind) -> String {
    let key = match kind {
        crm_lib::model::MediaKind::Photo => "photo",
        crm_lib::model::MediaKind::Document => "document",
        crm_lib::model::MediaKind::Voice => "voice",
        crm_lib::model::MediaKind::Video => "video",
        crm_lib::model::MediaKind::VideoNote => "video_note",
        crm_lib::model::MediaKind::Sticker => "sticker",
        crm_lib::model::MediaKind::Audio => "audio",
    };
    tr(language, &format!("staffgram.kind.{key}"))
}

/// The text of a notice that a customer wrote: who, what (the text, or the kind of file),
/// and how to answer.
pub(crate) fn notice_text(
    language: Language,
    customer: &str,
    text: &str,
    attachment: Option<crm_lib::model::MediaKind>,
) -> String {
    let what = match (text.trim().is_empty(), attachment) {
        (false, Some(kind)) => format!("{} {text}", kind_label(language, kind)),
        (false, None) => text.to_string(),
        (true, Some(kind)) => kind_label(language, kind),
        (true, None) => tr(language, "staffgram.kind.other"),
    };
    tr_with(
        language,
        "staffgram.notice.text",
        &[("customer", &customer), ("text", &what)],
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_language_question_is_asked_in_every_language_the_readers_first() {
        for language in Language::all() {
            let question = choose_language(language);
            let lines: Vec<&str> = question.split(" / ").collect();
            assert_eq!(lines[0], tr(language, "bot.choose_language"));
            for other in Language::all() {
                assert!(
                    lines.contains(&tr(other, "bot.choose_language").as_str()),
                    "{question}"
                );
            }
        }
        assert_eq!(
            choose_language(Language::RU),
            "Пожалуйста, выберите язык / Please choose your language"
        );
    }

    #[test]
    fn notifications_follow_the_recipients_language() {
        let event = Event::StageChanged {
            order: crm_lib::model::OrderId::new(7),
            title: "Сайт".into(),
            stage: crm_lib::model::StageId::new(3),
            stage_name: crm_lib::model::Localized::new("In progress")
                .with(Language::RU, "В работе"),
        };
        let (en, _) = notification(&event, Language::EN, "USD");
        let (ru, _) = notification(&event, Language::RU, "USD");
        assert!(en.contains("#7") && en.contains("In progress"), "{en}");
        assert!(ru.contains("№7") && ru.contains("В работе"), "{ru}");
    }

    #[test]
    fn the_daily_report_is_written_in_the_manager_s_language_with_every_open_stage() {
        let event = Event::DailyReport {
            summary: crm_lib::model::DailySummary {
                day: crm_lib::model::Date::parse("day", "2026-03-02").unwrap(),
                new_orders: 3,
                won: 1,
                lost: 2,
                messages_in: 14,
                messages_out: 9,
                open_by_stage: vec![crm_lib::model::StageCount {
                    stage: crm_lib::model::StageId::new(3),
                    name: crm_lib::model::Localized::new("In progress")
                        .with(Language::RU, "В работе"),
                    orders: 5,
                }],
            },
        };
        let (en, keyboard) = notification(&event, Language::EN, "USD");
        let (ru, _) = notification(&event, Language::RU, "USD");
        assert!(keyboard.is_none());
        assert!(
            en.contains("2026-03-02") && en.contains("New orders: 3"),
            "{en}"
        );
        assert!(
            en.contains("14 in, 9 out") && en.contains("• In progress: 5"),
            "{en}"
        );
        assert!(
            ru.contains("Новых заказов: 3") && ru.contains("• В работе: 5"),
            "{ru}"
        );
    }

    #[test]
    fn amounts_are_written_as_the_recipient_reads_them() {
        let event = Event::OrderCreated {
            order: crm_lib::model::OrderId::new(7),
            title: "Shop".into(),
            customer_name: "Anna".into(),
            budget: Some(Money::from_minor(2_500_050)),
        };
        let (en, _) = notification(&event, Language::EN, "USD");
        let (ru, _) = notification(&event, Language::RU, "RUB");
        assert!(en.contains("25,000.50\u{a0}USD"), "{en}");
        assert!(ru.contains("25\u{a0}000,50\u{a0}RUB"), "{ru}");
    }

    #[test]
    fn long_texts_are_cut_in_utf16_units() {
        let text = "😀".repeat(3000);
        let cut = fit(&text, TEXT_MAX_UTF16);
        assert!(cut.encode_utf16().count() <= TEXT_MAX_UTF16);
        assert!(cut.ends_with('…'));
        assert_eq!(fit("short", 10), "short");
    }
}
