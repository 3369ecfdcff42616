//! The share widget's settings: how it shows on the business's own site (a popup, a sticky bar
//! or an inline panel) and when (which paths, after how long or how many page views, how often,
//! on small screens or not). The admin's form sends them as text; [`WidgetSettings::parse`]
//! checks every field and names the one that is wrong.

use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// At most this many path patterns.
pub const MAX_PATHS: usize = 20;
/// The longest delay, in seconds (ten minutes).
pub const MAX_DELAY_SECONDS: u32 = 600;
/// The most page views a widget may wait for.
pub const MAX_PAGE_VIEWS: u32 = 100;

/// How the widget shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WidgetMode {
    /// Not shown at all (the default: a business switches it on).
    #[default]
    Off,
    /// A card in the corner of the page, closed with its button or Escape.
    Popup,
    /// A bar along the bottom of the page.
    Bar,
    /// A panel inside the page, where the business puts `<div data-handoff-widget>`.
    Inline,
}

impl WidgetMode {
    /// Every mode, in the order the admin's form lists them.
    pub const ALL: [WidgetMode; 4] = [
        WidgetMode::Off,
        WidgetMode::Popup,
        WidgetMode::Bar,
        WidgetMode::Inline,
    ];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            WidgetMode::Off => "off",
            WidgetMode::Popup => "popup",
            WidgetMode::Bar => "bar",
            WidgetMode::Inline => "inline",
        }
    }

    /// What the admin's form calls it.
    pub fn label(self) -> &'static str {
        match self {
            WidgetMode::Off => "Off",
            WidgetMode::Popup => "Popup in the corner",
            WidgetMode::Bar => "Sticky bar at the bottom",
            WidgetMode::Inline => "Inline panel where you place it",
        }
    }

    /// The mode named `value`, if any.
    pub fn parse(value: &str) -> Option<WidgetMode> {
        WidgetMode::ALL.into_iter().find(|m| m.as_str() == value)
    }
}

/// How often the widget shows to one browser.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WidgetFrequency {
    /// On every page that matches, until the customer closes it; then never again.
    #[default]
    UntilDismissed,
    /// Once per browser session (closing it also counts).
    OncePerSession,
    /// At most once a day.
    OncePerDay,
}

impl WidgetFrequency {
    /// Every choice, in the order the admin's form lists them.
    pub const ALL: [WidgetFrequency; 3] = [
        WidgetFrequency::UntilDismissed,
        WidgetFrequency::OncePerSession,
        WidgetFrequency::OncePerDay,
    ];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            WidgetFrequency::UntilDismissed => "until_dismissed",
            WidgetFrequency::OncePerSession => "once_per_session",
            WidgetFrequency::OncePerDay => "once_per_day",
        }
    }

    /// What the admin's form calls it.
    pub fn label(self) -> &'static str {
        match self {
            WidgetFrequency::UntilDismissed => "Until the customer closes it",
            WidgetFrequency::OncePerSession => "Once per browser session",
            WidgetFrequency::OncePerDay => "Once a day",
        }
    }

    /// The choice named `value`, if any.
    pub fn parse(value: &str) -> Option<WidgetFrequency> {
        WidgetFrequency::ALL
            .into_iter()
            .find(|f| f.as_str() == value)
    }
}

/// A campaign's widget settings, checked. Stored as JSON on the campaign; sent to `embed.js`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WidgetSettings {
    /// How it shows.
    pub mode: WidgetMode,
    /// The page paths it shows on: `/account` exactly, or `/account/*` for everything under
    /// it. Empty: every page.
    pub paths: Vec<String>,
    /// Seconds after the page loads.
    pub delay_seconds: u32,
    /// Page views (of the business's site, in this browser) before it first shows.
    pub min_page_views: u32,
    /// How often.
    pub frequency: WidgetFrequency,
    /// Never on screens narrower than 640 CSS pixels.
    pub hide_on_small_screens: bool,
}

impl Default for WidgetSettings {
    fn default() -> Self {
        WidgetSettings {
            mode: WidgetMode::Off,
            paths: Vec::new(),
            delay_seconds: 3,
            min_page_views: 1,
            frequency: WidgetFrequency::UntilDismissed,
            hide_on_small_screens: false,
        }
    }
}

/// The admin's widget form as it arrives: text, checked by [`WidgetSettings::parse`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WidgetSettingsInput {
    /// `off`, `popup`, `bar` or `inline`.
    #[serde(default)]
    pub mode: String,
    /// Path patterns, one per line (or separated by spaces or commas).
    #[serde(default)]
    pub paths: String,
    /// Seconds, 0 to 600.
    #[serde(default)]
    pub delay_seconds: String,
    /// Page views, 1 to 100.
    #[serde(default)]
    pub min_page_views: String,
    /// `until_dismissed`, `once_per_session` or `once_per_day`.
    #[serde(default)]
    pub frequency: String,
    /// `on` (a ticked checkbox): not on small screens.
    #[serde(default)]
    pub hide_on_small_screens: Option<String>,
}

fn whole_number(
    field: &str,
    value: &str,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, AppError> {
    value
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            AppError::invalid(
                "out_of_range",
                field,
                format!(
                    "Give a whole number from {} to {}.",
                    range.start(),
                    range.end()
                ),
            )
        })
}

/// Reads path patterns: each starts with `/`, has no spaces, quotes or angle brackets, and
/// may end in `*` (everything under it). Duplicates are dropped.
fn parse_paths(value: &str) -> Result<Vec<String>, AppError> {
    let mut paths: Vec<String> = Vec::new();
    for entry in value
        .split([' ', ',', '\n', '\r', '\t'])
        .filter(|e| !e.is_empty())
    {
        let star = entry.find('*');
        let fits = entry.starts_with('/')
            && entry.len() <= 200
            && star.is_none_or(|at| at == entry.len() - 1)
            && !entry
                .chars()
                .any(|c| c.is_control() || matches!(c, '"' | '\'' | '<' | '>' | '\\' | '?' | '#'));
        if !fits {
            return Err(AppError::invalid(
                "invalid_path",
                "paths",
                format!(
                    "\"{entry}\" is not a page path like /account or /account/* (a * only at the end, no query)."
                ),
            ));
        }
        if !paths.iter().any(|p| p == entry) {
            paths.push(entry.to_owned());
        }
    }
    if paths.len() > MAX_PATHS {
        return Err(AppError::invalid(
            "too_many_paths",
            "paths",
            format!("List at most {MAX_PATHS} paths."),
        ));
    }
    Ok(paths)
}

impl WidgetSettings {
    /// Checks the admin's form; nothing is kept when one field is wrong.
    pub fn parse(input: &WidgetSettingsInput) -> Result<WidgetSettings, AppError> {
        let mode = WidgetMode::parse(input.mode.trim()).ok_or_else(|| {
            AppError::invalid("invalid_mode", "mode", "Choose how the widget shows.")
        })?;
        let frequency = WidgetFrequency::parse(input.frequency.trim()).ok_or_else(|| {
            AppError::invalid(
                "invalid_frequency",
                "frequency",
                "Choose how often the widget shows.",
            )
        })?;
        Ok(WidgetSettings {
            mode,
            paths: parse_paths(&input.paths)?,
            delay_seconds: whole_number(
                "delay_seconds",
                &input.delay_seconds,
                0..=MAX_DELAY_SECONDS,
            )?,
            min_page_views: whole_number(
                "min_page_views",
                &input.min_page_views,
                1..=MAX_PAGE_VIEWS,
            )?,
            frequency,
            hide_on_small_screens: input.hide_on_small_screens.is_some(),
        })
    }

    /// The form's text for these settings.
    pub fn to_input(&self) -> WidgetSettingsInput {
        WidgetSettingsInput {
            mode: self.mode.as_str().to_owned(),
            paths: self.paths.join("\n"),
            delay_seconds: self.delay_seconds.to_string(),
            min_page_views: self.min_page_views.to_string(),
            frequency: self.frequency.as_str().to_owned(),
            hide_on_small_screens: self.hide_on_small_screens.then(|| "on".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(
        mode: &str,
        paths: &str,
        delay: &str,
        views: &str,
        frequency: &str,
    ) -> WidgetSettingsInput {
        WidgetSettingsInput {
            mode: mode.into(),
            paths: paths.into(),
            delay_seconds: delay.into(),
            min_page_views: views.into(),
            frequency: frequency.into(),
            hide_on_small_screens: Some("on".into()),
        }
    }

    #[test]
    fn a_good_form_reads_back_as_itself() {
        let settings = WidgetSettings::parse(&input(
            "popup",
            "/account/*\n/account/*, /thanks",
            " 5 ",
            "2",
            "once_per_day",
        ))
        .unwrap();
        assert_eq!(
            settings,
            WidgetSettings {
                mode: WidgetMode::Popup,
                paths: vec!["/account/*".into(), "/thanks".into()],
                delay_seconds: 5,
                min_page_views: 2,
                frequency: WidgetFrequency::OncePerDay,
                hide_on_small_screens: true,
            }
        );
        assert_eq!(
            WidgetSettings::parse(&settings.to_input()).unwrap(),
            settings
        );
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases = [
            (input("modal", "", "1", "1", "once_per_day"), "mode"),
            (input("bar", "", "1", "1", "always"), "frequency"),
            (input("bar", "account", "1", "1", "once_per_day"), "paths"),
            (input("bar", "/a*b", "1", "1", "once_per_day"), "paths"),
            (input("bar", "/a?x=1", "1", "1", "once_per_day"), "paths"),
            (
                input("bar", "/\"><script>", "1", "1", "once_per_day"),
                "paths",
            ),
            (
                input("bar", "", "601", "1", "once_per_day"),
                "delay_seconds",
            ),
            (input("bar", "", "-1", "1", "once_per_day"), "delay_seconds"),
            (input("bar", "", "", "1", "once_per_day"), "delay_seconds"),
            (input("bar", "", "1", "0", "once_per_day"), "min_page_views"),
            (
                input("bar", "", "1", "1.5", "once_per_day"),
                "min_page_views",
            ),
        ];
        for (form, field) in cases {
            match WidgetSettings::parse(&form) {
                Err(AppError::Invalid { field: Some(f), .. }) => assert_eq!(f, field, "{form:?}"),
                other => panic!("{form:?} gave {other:?}"),
            }
        }
        let many: Vec<String> = (0..=MAX_PATHS).map(|i| format!("/p{i}")).collect();
        assert!(
            WidgetSettings::parse(&input("bar", &many.join(" "), "1", "1", "once_per_day"))
                .is_err()
        );
    }

    #[test]
    fn stored_settings_missing_a_field_take_its_default() {
        let settings: WidgetSettings = serde_json::from_str(r#"{"mode":"bar"}"#).unwrap();
        assert_eq!(settings.mode, WidgetMode::Bar);
        assert_eq!(
            settings.delay_seconds,
            WidgetSettings::default().delay_seconds
        );
    }
}
