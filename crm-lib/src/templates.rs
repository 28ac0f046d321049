//! Organization templates: the four pipelines of SPEC section 4, as data.
//!
//! The TOML files live in `fixtures/templates/` and are compiled into the binary, so
//! `crm init --template renovation` needs no file at run time. They hold no language: a
//! template's title and stage names are texts of the locale files (`template.<name>.title`,
//! `template.<name>.stages.<stage key>`, see [`crate::i18n`]), so that a new language
//! translates them in its own file; marker names (technologies) read the same in every
//! language. A template is validated when parsed: unique stage ids and keys, a name in the
//! default language for the title and every stage, transitions between existing stages, no
//! transition out of a terminal stage, markers with a name and a `#rrggbb` colour, each name
//! used once. A template may also declare its typed ticket fields (`[[fields]]`, named by
//! `template.<name>.fields.<key>` and, for a choice's options,
//! `template.<name>.choices.<key>.<option>`; the renovation's are its leads' slots) and which
//! built-in roles an organization gets under which names (`roles`; all four under their own
//! names when absent), and the projects module's fixed qualification questions
//! (`qualification`, keys of its fields).

use serde::Deserialize;

use crate::model::{
    BuiltinRole, ChoiceOption, FieldDef, FieldKind, FieldSet, FormDef, Language, Localized, Module,
    Modules, Money, Permission, Pipeline, Stage, StageId, StageKind, Transition, TransitionFrom,
};
use crate::{Error, Result};

/// The template names, in the order `crm init --help` lists them.
pub const NAMES: [&str; 4] = ["studio", "service", "renovation", "helpdesk"];

fn source(name: &str) -> Option<&'static str> {
    Some(match name {
        "studio" => include_str!("../../fixtures/templates/studio.toml"),
        "service" => include_str!("../../fixtures/templates/service.toml"),
        "renovation" => include_str!("../../fixtures/templates/renovation.toml"),
        "helpdesk" => include_str!("../../fixtures/templates/helpdesk.toml"),
        _ => return None,
    })
}

/// A parsed template: the pipeline and the default settings of a new organization.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// Template key (`studio`).
    pub name: String,
    /// The template's title (`Programming studio`), in every language whose locale file has
    /// one.
    pub title: Localized,
    /// Default currency.
    pub currency: String,
    /// Default language.
    pub locale: Language,
    /// Default open-order limit per customer.
    pub open_order_limit: u32,
    /// Default commission in basis points.
    pub commission_bps: u32,
    /// Default fixed commission.
    pub commission_fixed: Money,
    /// The pipeline.
    pub pipeline: Pipeline,
    /// The markers a new organization starts with (the studio: the C0de seed's ten stack
    /// markers), in the file's order.
    pub markers: Vec<TemplateMarker>,
    /// The typed fields its tickets carry (the helpdesk's device, model, serial, fault),
    /// copied into a new organization's `order_fields`.
    pub fields: FieldSet,
    /// The built-in roles a new organization gets, each under its name here (the helpdesk:
    /// administrator, operator, master); every built-in under its own name when the file
    /// names none.
    pub roles: Vec<(BuiltinRole, String)>,
    /// The modules a new organization runs beside the order desk (SPEC 3.1: the helpdesk
    /// runs `operators` and `tickets`).
    pub modules: Modules,
    /// The token service's packages a new organization starts with (the service template:
    /// the TeleKpr PRD's price table, section 8.1), named by the locale files'
    /// `template.<name>.packages.<key>`.
    pub packages: Vec<TemplatePackage>,
    /// The registration form (the tokens module, `[[registration]]`: fields named by
    /// `template.<name>.registration.<key>`, a choice's options by
    /// `template.<name>.registration_choices.<key>.<option>`; `default` gives a default
    /// answer), copied into a new organization's `forms`. Empty when the file declares none.
    pub registration: FormDef,
    /// The projects module's fixed qualification questions (`qualification`: keys of
    /// `[[fields]]`, in the order asked), each field as `[[fields]]` declares it, so that an
    /// answer fills the lead's slot of that key; copied into a new organization's `forms`.
    /// Empty when the file declares none.
    pub qualification: FormDef,
}

/// A package a template creates with the organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplatePackage {
    /// Its key.
    pub key: String,
    /// Its name in every language whose locale file has one.
    pub name: Localized,
    /// Units delivered.
    pub units: u32,
    /// The regular price in tokens.
    pub price: u64,
    /// The subscriber price in tokens, at most the regular price.
    pub subscriber_price: u64,
}

/// A marker a template creates with the organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateMarker {
    /// The name, in the default language (every language reads it until staff translate it).
    pub name: Localized,
    /// `#rrggbb`.
    pub color: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateFile {
    name: String,
    currency: String,
    locale: String,
    open_order_limit: u32,
    commission_bps: u32,
    commission_fixed_minor: i64,
    stages: Vec<StageFile>,
    transitions: Vec<TransitionFile>,
    #[serde(default)]
    markers: Vec<MarkerFile>,
    #[serde(default)]
    modules: Vec<String>,
    #[serde(default)]
    fields: Vec<FieldFile>,
    #[serde(default)]
    roles: Vec<RoleFile>,
    #[serde(default)]
    packages: Vec<PackageFile>,
    #[serde(default)]
    registration: Vec<FieldFile>,
    #[serde(default)]
    qualification: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PackageFile {
    key: String,
    units: u32,
    price: u64,
    subscriber_price: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleFile {
    builtin: BuiltinRole,
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldFile {
    key: String,
    kind: String,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    list: bool,
    max_len: Option<u32>,
    pattern: Option<String>,
    min: Option<i64>,
    max: Option<i64>,
    #[serde(default)]
    options: Vec<String>,
    default: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MarkerFile {
    name: String,
    color: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StageFile {
    id: u16,
    key: String,
    kind: StageKind,
    color: String,
    customer_deletable: bool,
    payment_allowed: bool,
    requires_assignee: bool,
    accepts_bids: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransitionFile {
    from: String,
    to: String,
    permission: String,
}

/// The text of locale key `key` in every language whose locale file has it; the default
/// language's is required.
fn localized(key: &str) -> Result<Localized> {
    let mut name = Localized::default();
    for language in Language::all() {
        if let Some(text) = crate::i18n::text(language, key) {
            name.set(language, text.trim());
        }
    }
    if name.exact(Language::default()).is_none() {
        let code = Language::default().code();
        return Err(Error::invalid(
            "template",
            format!("{key} has no text in assets/locales/{code}.yml"),
        ));
    }
    Ok(name)
}

/// Reads a template's field list (`[[fields]]` or `[[registration]]`): names from
/// `template.<name>.<names>.<key>`, a choice's options from
/// `template.<name>.<choices>.<key>.<option>`, defaults as written.
fn parse_fields(name: &str, names: &str, choices: &str, files: &[FieldFile]) -> Result<FormDef> {
    let mut fields = FieldSet::default();
    let mut defaults = std::collections::BTreeMap::new();
    for field in files {
        let kind = match field.kind.as_str() {
            "text" => FieldKind::Text {
                max_len: field.max_len.unwrap_or(200),
                pattern: field.pattern.clone(),
            },
            "number" => FieldKind::Number {
                min: field.min,
                max: field.max,
            },
            "money" => FieldKind::Money,
            "date" => FieldKind::Date,
            "flag" => FieldKind::Flag,
            "email" => FieldKind::Email,
            "phone" => FieldKind::Phone,
            "birth_date" => {
                let age = |value: Option<i64>, otherwise: u8| {
                    value.map_or(Ok(otherwise), |value| {
                        u8::try_from(value).map_err(|_| {
                            Error::invalid(
                                "template",
                                format!("field {}: an age must be 0 to 255", field.key),
                            )
                        })
                    })
                };
                FieldKind::BirthDate {
                    min_age: age(field.min, 0)?,
                    max_age: age(field.max, 120)?,
                }
            }
            "choice" => {
                let mut options = Vec::with_capacity(field.options.len());
                for option in &field.options {
                    options.push(ChoiceOption {
                        key: option.clone(),
                        label: localized(&format!(
                            "template.{name}.{choices}.{}.{option}",
                            field.key
                        ))?,
                    });
                }
                FieldKind::Choice { options }
            }
            other => {
                return Err(Error::invalid(
                    "template",
                    format!(
                        "field {} has kind {other:?} (one of: text, number, money, date, choice, flag, email, phone, birth_date)",
                        field.key
                    ),
                ));
            }
        };
        fields.fields.push(FieldDef {
            name: localized(&format!("template.{name}.{names}.{}", field.key))?,
            key: field.key.clone(),
            kind,
            required: field.required,
            list: field.list,
        });
        if let Some(default) = &field.default {
            defaults.insert(field.key.clone(), default.clone());
        }
    }
    let def = FormDef { fields, defaults };
    if !def.fields.is_empty() {
        crate::forms::check_form(&def)
            .map_err(|error| Error::invalid("template", error.message().to_string()))?;
    }
    Ok(def)
}

/// The fixed qualification questions of a template: the fields named by `keys`, in that
/// order, each as the template's `[[fields]]` declares it.
fn qualification_form(fields: &FieldSet, keys: &[String]) -> Result<FormDef> {
    let mut def = FormDef::default();
    for key in keys {
        let field = fields.get(key).ok_or_else(|| {
            Error::invalid(
                "template",
                format!("qualification names {key:?}, which is no field of the template"),
            )
        })?;
        if def.fields.get(key).is_some() {
            return Err(Error::invalid(
                "template",
                format!("qualification names {key:?} twice"),
            ));
        }
        def.fields.fields.push(field.clone());
    }
    if !def.fields.is_empty() {
        crate::forms::check_form(&def)
            .map_err(|error| Error::invalid("template", error.message().to_string()))?;
    }
    Ok(def)
}

/// The built-in template called `name`.
///
/// # Errors
/// [`crate::ErrorKind::InvalidInput`] on `template` for an unknown name.
pub fn template(name: &str) -> Result<Template> {
    let text = source(name).ok_or_else(|| {
        Error::invalid(
            "template",
            format!("{name:?} is not a template (one of: {})", NAMES.join(", ")),
        )
    })?;
    parse(text)
}

/// Parses and validates a template in the TOML format of `fixtures/templates/`.
///
/// # Errors
/// [`crate::ErrorKind::InvalidInput`] on `template` naming what is wrong.
pub fn parse(text: &str) -> Result<Template> {
    let file: TemplateFile = toml::from_str(text)
        .map_err(|error| Error::invalid("template", format!("not a valid template: {error}")))?;
    if file.stages.is_empty() {
        return Err(Error::invalid(
            "template",
            "a pipeline needs at least one stage",
        ));
    }
    let mut stages: Vec<Stage> = Vec::with_capacity(file.stages.len());
    for stage in file.stages {
        if stages
            .iter()
            .any(|s| s.id.0 == stage.id || s.key == stage.key)
        {
            return Err(Error::invalid(
                "template",
                format!("stage {} ({}) is defined twice", stage.key, stage.id),
            ));
        }
        stages.push(Stage {
            id: StageId(stage.id),
            name: localized(&format!("template.{}.stages.{}", file.name, stage.key))?,
            key: stage.key,
            kind: stage.kind,
            color: stage.color,
            customer_deletable: stage.customer_deletable,
            payment_allowed: stage.payment_allowed,
            requires_assignee: stage.requires_assignee,
            accepts_bids: stage.accepts_bids,
        });
    }
    let find = |key: &str| {
        stages.iter().find(|stage| stage.key == key).ok_or_else(|| {
            Error::invalid(
                "template",
                format!("transition names unknown stage {key:?}"),
            )
        })
    };
    let mut transitions = Vec::with_capacity(file.transitions.len());
    for transition in &file.transitions {
        let from = if transition.from == "*" {
            TransitionFrom::AnyOpen
        } else {
            let stage = find(&transition.from)?;
            if stage.kind.is_terminal() {
                return Err(Error::invalid(
                    "template",
                    format!("stage {} is terminal and cannot be left", stage.key),
                ));
            }
            TransitionFrom::Stage(stage.id)
        };
        transitions.push(Transition {
            from,
            to: find(&transition.to)?.id,
            permission: Permission::parse("template", &transition.permission)?,
        });
    }
    let mut markers: Vec<TemplateMarker> = Vec::with_capacity(file.markers.len());
    for marker in &file.markers {
        let name = marker.name.trim();
        if name.is_empty() {
            return Err(Error::invalid("template", "a marker needs a name"));
        }
        let name = Localized::new(name);
        let color = crate::team::parse_color(&marker.color)
            .map_err(|error| Error::invalid("template", error.message().to_string()))?;
        let taken = markers.iter().any(|other| {
            name.iter().any(|(language, text)| {
                other.name.get(language).to_lowercase() == text.to_lowercase()
            })
        });
        if taken {
            return Err(Error::invalid(
                "template",
                format!("marker {:?} is defined twice", name.get(Language::EN)),
            ));
        }
        markers.push(TemplateMarker { name, color });
    }
    let mut modules = Modules::NONE;
    for name in &file.modules {
        let module = Module::parse("template", name)?;
        if modules.contains(module) {
            return Err(Error::invalid(
                "template",
                format!("module {name:?} is named twice"),
            ));
        }
        modules.set(module, true);
    }
    let fields = parse_fields(&file.name, "fields", "choices", &file.fields)?.fields;
    let qualification = qualification_form(&fields, &file.qualification)?;
    let registration = parse_fields(
        &file.name,
        "registration",
        "registration_choices",
        &file.registration,
    )?;
    let mut roles: Vec<(BuiltinRole, String)> = Vec::with_capacity(file.roles.len());
    for role in &file.roles {
        let name = role.name.trim().to_lowercase();
        if name.is_empty()
            || roles
                .iter()
                .any(|(builtin, other)| *builtin == role.builtin || *other == name)
        {
            return Err(Error::invalid(
                "template",
                format!("role {:?} is empty or declared twice", role.name),
            ));
        }
        roles.push((role.builtin, name));
    }
    if !roles.is_empty()
        && !roles
            .iter()
            .any(|(builtin, _)| *builtin == BuiltinRole::Administrator)
    {
        return Err(Error::invalid(
            "template",
            "the roles must include the administrator",
        ));
    }
    if roles.is_empty() {
        roles = BuiltinRole::ALL
            .iter()
            .map(|builtin| (*builtin, builtin.name().to_string()))
            .collect();
    }
    let mut packages = Vec::with_capacity(file.packages.len());
    for package in &file.packages {
        if package.price == 0
            || package.subscriber_price == 0
            || package.subscriber_price > package.price
            || packages
                .iter()
                .any(|other: &TemplatePackage| other.key == package.key)
        {
            return Err(Error::invalid(
                "template",
                format!(
                    "package {} needs a unique key and a subscriber price of 1 up to its price",
                    package.key
                ),
            ));
        }
        packages.push(TemplatePackage {
            name: localized(&format!("template.{}.packages.{}", file.name, package.key))?,
            key: package.key.clone(),
            units: package.units,
            price: package.price,
            subscriber_price: package.subscriber_price,
        });
    }
    Ok(Template {
        fields,
        registration,
        qualification,
        roles,
        packages,
        title: localized(&format!("template.{}.title", file.name))?,
        name: file.name,
        currency: file.currency,
        locale: Language::parse("template", &file.locale)?,
        open_order_limit: file.open_order_limit,
        commission_bps: file.commission_bps,
        commission_fixed: Money(file.commission_fixed_minor),
        pipeline: Pipeline {
            stages,
            transitions,
        },
        markers,
        modules,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_template_parses() {
        for name in NAMES {
            let template = template(name).unwrap_or_else(|error| panic!("{name}: {error}"));
            assert_eq!(template.name, name);
            assert!(
                !template.pipeline.transitions.is_empty(),
                "{name} has transitions"
            );
        }
    }

    #[test]
    fn studio_follows_the_order_loop() {
        let studio = template("studio").unwrap_or_else(|error| panic!("{error}"));
        let keys: Vec<&str> = studio
            .pipeline
            .stages
            .iter()
            .map(|stage| stage.key.as_str())
            .collect();
        assert_eq!(
            keys,
            [
                "pending",
                "approved",
                "rejected",
                "in_progress",
                "testing",
                "completed",
                "delivered"
            ]
        );
        let id = |key| {
            studio
                .pipeline
                .stage_by_key(key)
                .map(|stage| stage.id)
                .unwrap_or(StageId(0))
        };
        assert!(
            studio
                .pipeline
                .transition(id("in_progress"), id("testing"))
                .is_some()
        );
        assert!(
            studio
                .pipeline
                .transition(id("testing"), id("in_progress"))
                .is_some()
        );
        assert!(
            studio
                .pipeline
                .transition(id("approved"), id("delivered"))
                .is_none()
        );
        // The order desk sends payment details in progress, testing and completed only.
        let payable: Vec<&str> = studio
            .pipeline
            .stages
            .iter()
            .filter(|stage| stage.payment_allowed)
            .map(|stage| stage.key.as_str())
            .collect();
        assert_eq!(payable, ["in_progress", "testing", "completed"]);
    }

    #[test]
    fn studio_starts_with_the_seeds_ten_stack_markers() {
        let studio = template("studio").unwrap_or_else(|error| panic!("{error}"));
        let names: Vec<&str> = studio
            .markers
            .iter()
            .map(|marker| marker.name.get(Language::EN))
            .collect();
        assert_eq!(
            names,
            [
                "Python",
                "JavaScript",
                "TypeScript",
                "Java",
                "React",
                "Vue",
                "Svelte",
                "Node.js",
                "PostgreSQL",
                "MongoDB"
            ]
        );
        for name in NAMES.iter().filter(|name| **name != "studio") {
            let other = template(name).unwrap_or_else(|error| panic!("{error}"));
            assert!(other.markers.is_empty(), "{name} declares no markers");
        }
    }

    #[test]
    fn a_marker_declared_twice_or_with_a_bad_colour_is_refused() {
        let studio = include_str!("../../fixtures/templates/studio.toml");
        let twice = format!("{studio}\n[[markers]]\nname = \"python\"\ncolor = \"#000000\"\n");
        let error = parse(&twice).err().map(|error| error.to_string());
        assert!(
            error
                .as_deref()
                .unwrap_or_default()
                .contains("defined twice"),
            "{error:?}"
        );
        let bad = format!("{studio}\n[[markers]]\nname = \"Rust\"\ncolor = \"red\"\n");
        let error = parse(&bad).err().map(|error| error.to_string());
        assert!(
            error.as_deref().unwrap_or_default().contains("colour"),
            "{error:?}"
        );
    }

    #[test]
    fn names_come_from_the_locale_files_in_every_language_that_has_them() {
        let studio = template("studio").unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(studio.title.get(Language::EN), "Programming studio");
        assert_eq!(studio.title.get(Language::RU), "Студия разработки");
        let pending = &studio.pipeline.stages[0];
        assert_eq!(pending.name(Language::EN), "Pending moderation");
        assert_eq!(pending.name(Language::RU), "На модерации");
        for name in NAMES {
            let template = template(name).unwrap_or_else(|error| panic!("{error}"));
            for stage in &template.pipeline.stages {
                for language in Language::all() {
                    let key = format!("template.{name}.stages.{}", stage.key);
                    assert_eq!(
                        stage.name.exact(language),
                        crate::i18n::text(language, &key).as_deref(),
                        "{key} in {language}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_stage_without_a_name_in_the_default_language_is_refused() {
        let studio = include_str!("../../fixtures/templates/studio.toml");
        let unnamed = studio.replacen("key = \"testing\"", "key = \"proofreading\"", 1);
        let error = parse(&unnamed).err().map(|error| error.to_string());
        assert!(
            error.as_deref().unwrap_or_default().contains(
                "template.studio.stages.proofreading has no text in assets/locales/en.yml"
            ),
            "{error:?}"
        );
    }

    #[test]
    fn unknown_template_names_the_choices() {
        let error = template("bakery")
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        assert!(
            error.contains("studio, service, renovation, helpdesk"),
            "{error}"
        );
    }
}
