//! The query string shared by `/audit` and its exports: read as text,
//! checked field by field, so that a wrong value is answered with a 400
//! that says which field and why.

pub(super) use crate::urls::encode;
use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::Deserialize;

use super::PageError;
use crate::store::reports::ChangeFilter;

/// Changes per page unless `per_page` says otherwise.
pub(super) const DEFAULT_PER_PAGE: u32 = 25;
/// A page is read in one query and rendered whole: bounded.
pub(super) const MAX_PER_PAGE: u32 = 200;

/// The query string as sent. Every field is optional, and an empty field
/// (what a form sends for an empty input) is the same as a missing one.
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    pub forge: String,
    #[serde(default)]
    pub repo: String,
    #[serde(default)]
    pub agent: String,
    #[serde(default)]
    pub conclusion: String,
    /// `YYYY-MM-DD` (from the start of that day, UTC) or an RFC 3339 time.
    #[serde(default)]
    pub from: String,
    /// `YYYY-MM-DD` (to the end of that day, UTC) or an RFC 3339 time.
    #[serde(default)]
    pub until: String,
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub page: String,
    #[serde(default)]
    pub per_page: String,
}

/// A checked query: the filter, and which page of how many rows.
#[derive(Clone, Debug)]
pub(crate) struct ListRequest {
    pub filter: ChangeFilter,
    /// From 1.
    pub page: u64,
    pub per_page: u32,
}

/// The conclusions a filter may name, and how pages say them.
pub(super) const CONCLUSIONS: [(&str, &str); 4] = [
    ("failure", "Blocked"),
    ("action_required", "Waiting for approval"),
    ("success", "Allowed"),
    ("neutral", "Observing or not enforced"),
];

/// The forges a filter may name, and how pages say them.
pub(super) const FORGES: [(&str, &str); 2] = [("github", "GitHub"), ("gitlab", "GitLab")];

impl ListQuery {
    /// Checks every field.
    pub(crate) fn parse(&self) -> Result<ListRequest, PageError> {
        let forge = given(&self.forge);
        if let Some(forge) = forge {
            if !FORGES.iter().any(|(name, _)| *name == forge) {
                return Err(PageError::bad("`forge` must be `github` or `gitlab`."));
            }
        }
        let conclusion = given(&self.conclusion);
        if let Some(c) = conclusion {
            if !CONCLUSIONS.iter().any(|(name, _)| *name == c) {
                return Err(PageError::bad(
                    "`conclusion` must be one of `failure`, `action_required`, `success` or `neutral`.",
                ));
            }
        }
        let from = given(&self.from)
            .map(|t| time(t, "from", false))
            .transpose()?;
        let until = given(&self.until)
            .map(|t| time(t, "until", true))
            .transpose()?;
        if let (Some(from), Some(until)) = (from, until) {
            if from >= until {
                return Err(PageError::bad("`from` must be before `until`."));
            }
        }
        let page = match given(&self.page) {
            None => 1,
            Some(p) => p
                .parse::<u64>()
                .ok()
                .filter(|p| (1..=1_000_000).contains(p))
                .ok_or_else(|| PageError::bad("`page` must be a whole number from 1."))?,
        };
        let per_page = match given(&self.per_page) {
            None => DEFAULT_PER_PAGE,
            Some(p) => p
                .parse::<u32>()
                .ok()
                .filter(|p| (1..=MAX_PER_PAGE).contains(p))
                .ok_or_else(|| {
                    PageError::bad(format!(
                        "`per_page` must be a whole number from 1 to {MAX_PER_PAGE}."
                    ))
                })?,
        };
        Ok(ListRequest {
            filter: ChangeFilter {
                forge: forge.map(str::to_owned),
                repo: given(&self.repo).map(str::to_owned),
                agent: given(&self.agent).map(str::to_owned),
                conclusion: conclusion.map(str::to_owned),
                from,
                until,
                text: given(&self.q).map(str::to_owned),
            },
            page,
            per_page,
        })
    }

    /// The query string of these filters (without the page), for links
    /// that keep them: `forge=github&repo=...`, empty when nothing is set.
    pub(crate) fn filters_query(&self) -> String {
        let pairs = [
            ("forge", &self.forge),
            ("repo", &self.repo),
            ("agent", &self.agent),
            ("conclusion", &self.conclusion),
            ("from", &self.from),
            ("until", &self.until),
            ("q", &self.q),
        ];
        pairs
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| format!("{k}={}", encode(v.trim())))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The query string of page `page` of this view.
    pub(crate) fn page_query(&self, page: u64, per_page: u32) -> String {
        let mut query = self.filters_query();
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(&format!("page={page}"));
        if per_page != DEFAULT_PER_PAGE {
            query.push_str(&format!("&per_page={per_page}"));
        }
        query
    }
}

/// A field's value, unless it is empty.
fn given(value: &str) -> Option<&str> {
    Some(value.trim()).filter(|v| !v.is_empty())
}

/// A date (the start of that day, or of the next one when `end` is set, so
/// that `until=2026-11-24` includes the 24th) or an RFC 3339 time.
fn time(text: &str, field: &str, end: bool) -> Result<DateTime<Utc>, PageError> {
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let day = if end {
            day.checked_add_days(Days::new(1))
        } else {
            Some(day)
        };
        if let Some(start) = day.and_then(|d| d.and_hms_opt(0, 0, 0)) {
            return Ok(start.and_utc());
        }
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            PageError::bad(format!(
                "`{field}` must be a date such as 2026-11-24 or a time such as \
                 2026-11-24T09:30:00Z."
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> ListQuery {
        let text = pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        parsed(&text)
    }

    /// Reads a query string the way axum's `Query` does for this struct.
    fn parsed(text: &str) -> ListQuery {
        let uri: axum::http::Uri = format!("/audit?{text}").parse().unwrap();
        axum::extract::Query::<ListQuery>::try_from_uri(&uri)
            .unwrap()
            .0
    }

    #[test]
    fn empty_fields_do_not_filter() {
        let r = query(&[("repo", ""), ("page", ""), ("q", "  ")])
            .parse()
            .unwrap();
        assert_eq!(r.filter, ChangeFilter::default());
        assert_eq!((r.page, r.per_page), (1, DEFAULT_PER_PAGE));
    }

    #[test]
    fn a_day_until_includes_that_whole_day() {
        let r = query(&[("from", "2026-11-24"), ("until", "2026-11-24")])
            .parse()
            .unwrap();
        assert_eq!(
            r.filter.from.unwrap().to_rfc3339(),
            "2026-11-24T00:00:00+00:00"
        );
        assert_eq!(
            r.filter.until.unwrap().to_rfc3339(),
            "2026-11-25T00:00:00+00:00"
        );
    }

    #[test]
    fn wrong_values_say_which_field() {
        for (pairs, field) in [
            (vec![("from", "yesterday")], "`from`"),
            (vec![("until", "2026-13-01")], "`until`"),
            (vec![("page", "0")], "`page`"),
            (vec![("per_page", "5000")], "`per_page`"),
            (vec![("forge", "bitbucket")], "`forge`"),
            (vec![("conclusion", "blocked")], "`conclusion`"),
            (
                vec![("from", "2026-11-25"), ("until", "2026-11-24")],
                "`from`",
            ),
        ] {
            let err = query(&pairs).parse().unwrap_err();
            assert!(err.to_string().contains(field), "{pairs:?}: {err}");
        }
    }

    #[test]
    fn links_keep_the_filters_encoded() {
        let q = query(&[("repo", "acme/app"), ("q", "a&b c"), ("page", "3")]);
        assert_eq!(q.filters_query(), "repo=acme%2Fapp&q=a%26b%20c");
        assert_eq!(
            q.page_query(2, 50),
            "repo=acme%2Fapp&q=a%26b%20c&page=2&per_page=50"
        );
    }
}
