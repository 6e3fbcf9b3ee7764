//! The demo's pages in a real headless Chromium, read as a person reads
//! them: the list shows the demo's changes with their status in words, its
//! filter form narrows the list, links lead to each change's decision, to
//! the agents' access review, to the repositories and to the overview's
//! charts, every page fits a phone's width, and none needs JavaScript (the
//! browser runs with it switched off).

mod support;

use std::time::Duration;

use chrono::Utc;
use fantoccini::elements::Element;
use fantoccini::{Client, Locator};
use serde_json::Value;
use support::browser::with_browser;
use tokio::net::TcpListener;
use warrant::demo::Demo;
use warrant::demo::script::{self, Step};
use warrant::store::Store;

/// How long a page may take to show what a test waits for: pages load in
/// milliseconds, so only a broken page waits this long.
const PAGE: Duration = Duration::from_secs(10);

/// Each change of the demo and the status its index line says.
const INDEX: &[(&str, &str)] = &[
    ("acme/payments#111", "Waiting for approval"),
    ("acme/payments#110", "Allowed"),
    ("acme/payments#109", "Blocked: proposed policy is invalid"),
    ("acme/.github#3", "Waiting for approval"),
    ("acme/payments#108", "Waiting for approval"),
    ("acme/payments#107", "Blocked: out of scope"),
    ("globex/website#12", "Not enforced"),
    ("acme/checkout#41", "Allowed"),
    ("acme/payments#106", "Allowed"),
    ("acme/payments#105", "Waiting for approval"),
    ("acme/payments#104", "Waiting for approval"),
    ("acme/payments#103", "Allowed"),
    ("acme/payments#102", "Blocked: out of scope"),
    ("acme/payments#101", "Allowed"),
];

/// The width and height of a common phone's viewport, in CSS pixels.
const PHONE: (u32, u32) = (390, 844);

#[tokio::test]
async fn the_index_lists_the_fourteen_changes_with_their_status_in_words() {
    with_demo(|browser, base| async move {
        browser
            .goto(&format!("{base}/audit/changes"))
            .await
            .unwrap();
        heading(&browser, "Changes").await;
        assert_eq!(browser.title().await.unwrap(), "Changes: Warrant");
        assert_eq!(matches_line(&browser).await, "14 changes match.");

        let lines: Vec<(String, String)> = rows(&browser)
            .await
            .into_iter()
            .map(|cells| (cells[0].clone(), cells[2].clone()))
            .collect();
        let expected: Vec<(String, String)> = INDEX
            .iter()
            .map(|(change, status)| (change.to_string(), status.to_string()))
            .collect();
        assert_eq!(lines, expected);
        let header = texts(&browser, "thead th").await;
        assert_eq!(header, ["Change", "Title", "Status", "Agents", "Evaluated"]);
    })
    .await;
}

#[tokio::test]
async fn a_policy_changes_page_says_what_it_relaxes_and_which_past_change_it_flips() {
    with_demo(|browser, base| async move {
        browser
            .goto(&format!("{base}/audit/changes"))
            .await
            .unwrap();
        heading(&browser, "Changes").await;
        click_link(&browser, "acme/.github#3").await;
        heading(&browser, "acme/.github#3").await;
        let text = body(&browser).await;
        assert!(text.contains("Policy change"), "{text}");
        assert!(
            text.contains("relaxed agents.copilot.role: feature-dev to feature-ops (its scope widens)"),
            "{text}"
        );
        assert!(
            text.contains(
                "Decided 9 past changes again under the proposed policy: 1 would conclude otherwise."
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "acme/payments#107: failure -> action_required (waiting for 2 approvals from acme/platform for infrastructure)"
            ),
            "{text}"
        );

        browser
            .goto(&format!("{base}/audit/github/acme/payments/changes/109"))
            .await
            .unwrap();
        heading(&browser, "acme/payments#109").await;
        let text = body(&browser).await;
        assert!(
            text.contains(".github/warrant.yml:10:5: sensitive[0]: unknown key `aprovers`"),
            "{text}"
        );
    })
    .await;
}

#[tokio::test]
async fn the_filter_form_narrows_the_list_without_javascript() {
    with_demo(|browser, base| async move {
        browser
            .goto(&format!("{base}/audit/changes"))
            .await
            .unwrap();
        heading(&browser, "Changes").await;

        // Choose a status, press Filter.
        let status = browser
            .find(Locator::Css("select[name=conclusion]"))
            .await
            .unwrap();
        status
            .select_by_label("Waiting for approval")
            .await
            .unwrap();
        press_filter(&browser).await;
        wait_for(
            &browser,
            "//p[starts-with(normalize-space(), '5 changes match')]",
        )
        .await;
        assert_eq!(
            changes_listed(&browser).await,
            [
                "acme/payments#111",
                "acme/.github#3",
                "acme/payments#108",
                "acme/payments#105",
                "acme/payments#104"
            ]
        );
        let url = browser.current_url().await.unwrap();
        assert_eq!(url.path(), "/audit/changes");
        assert!(
            url.query()
                .unwrap_or("")
                .contains("conclusion=action_required"),
            "a GET form puts the filter in the address: {url}"
        );
        // The form shows the filter it applied.
        let chosen = browser
            .find(Locator::Css("select[name=conclusion] option:checked"))
            .await
            .unwrap();
        assert_eq!(chosen.text().await.unwrap(), "Waiting for approval");

        // Back to any status, type words of a title, press Filter.
        let status = browser
            .find(Locator::Css("select[name=conclusion]"))
            .await
            .unwrap();
        status.select_by_label("Any").await.unwrap();
        let text = browser.find(Locator::Css("input[name=q]")).await.unwrap();
        text.send_keys("half to even").await.unwrap();
        press_filter(&browser).await;
        wait_for(
            &browser,
            "//tbody//a[normalize-space()='acme/payments#103']",
        )
        .await;
        assert_eq!(matches_line(&browser).await, "1 change matches.");
        assert_eq!(changes_listed(&browser).await, ["acme/payments#103"]);
        let text = browser.find(Locator::Css("input[name=q]")).await.unwrap();
        assert_eq!(
            text.prop("value").await.unwrap().as_deref(),
            Some("half to even")
        );
    })
    .await;
}

#[tokio::test]
async fn links_from_the_index_lead_to_each_change_s_decision_in_words() {
    with_demo(|browser, base| async move {
        browser.goto(&format!("{base}/audit/changes")).await.unwrap();
        heading(&browser, "Changes").await;

        // Out of scope: blocked, with the evidence and the paths.
        open_change(&browser, 102).await;
        assert_eq!(
            browser.title().await.unwrap(),
            "acme/payments#102: Warrant"
        );
        assert_eq!(
            decision(&browser).await,
            "Blocked: out of scope. Agent claude-code changed 2 paths outside its role feature-dev."
        );
        assert_eq!(texts(&browser, "h3 code").await, ["claude-code"]);
        assert!(
            body(&browser)
                .await
                .contains("Role: feature-dev. Owner: acme/payments-team."),
        );
        let evidence = rows(&browser).await;
        let trust: Vec<&str> = evidence[..2].iter().map(|r| r[0].as_str()).collect();
        assert_eq!(trust, ["declared", "declared"], "{evidence:?}");
        assert!(evidence[0][2].contains("Co-Authored-By: Claude"), "{evidence:?}");
        let violation = section(&browser, "Violations").await;
        assert!(
            violation.contains("Blocks the change: out of scope"),
            "{violation}"
        );
        assert!(violation.contains("src/auth/session.rs"), "{violation}");
        assert!(violation.contains("src/auth/refresh.rs"), "{violation}");

        // The sensitive change: maria's approval counted, after a wait.
        back_to_index(&browser).await;
        open_change(&browser, 103).await;
        assert_eq!(
            decision(&browser).await,
            "Allowed. Agent copilot within scope; 1 requirement approved."
        );
        // Under both policies, each requirement names the one it came from,
        // and the page names both policies.
        let approvals = section(&browser, "Approvals").await;
        assert!(
            approvals.contains("ledger (repository policy): Approved"),
            "{approvals}"
        );
        let page = body(&browser).await;
        assert!(
            page.contains("Organisation policy warrant-org.yml in acme/.github (blob "),
            "{page}"
        );
        assert!(
            page.contains("Repository policy .github/warrant.yml (blob "),
            "{page}"
        );
        assert!(approvals.contains("Counted: maria."), "{approvals}");
        let trust = texts(&browser, "td.verified, td.declared").await;
        assert_eq!(trust, ["verified", "declared", "declared"]);
        let what = texts(&browser, "tbody th[scope=row]").await;
        let position = |w: &str| {
            what.iter()
                .position(|t| t == w)
                .unwrap_or_else(|| panic!("no {w:?} in the timeline: {what:?}"))
        };
        assert!(position("Evaluated: Waiting for approval") < position("Approval counted"));
        assert!(position("Evaluated: Waiting for approval") < position("Evaluated: Allowed"));
        let counted = rows(&browser)
            .await
            .into_iter()
            .find(|r| r[1] == "Approval counted")
            .unwrap();
        assert_eq!(counted[2], "maria");

        // Devin approves its own migration: refused, with the reason.
        back_to_index(&browser).await;
        open_change(&browser, 104).await;
        assert_eq!(
            decision(&browser).await,
            "Waiting for approval. Waiting for 1 approval from acme/platform for \
             database-migrations."
        );
        let approvals = section(&browser, "Approvals").await;
        assert!(
            approvals.contains("database-migrations (repository policy): Waiting for 1 more"),
            "{approvals}"
        );
        assert!(approvals.contains("No approval counted yet."), "{approvals}");
        assert!(
            approvals.contains(
                "Did not count:\ndevin-ai-integration[bot]: agents and bots never count as approvers"
            ),
            "{approvals}"
        );
        assert!(texts(&browser, "tbody th[scope=row]")
            .await
            .contains(&"Review dismissed".to_owned()));

        // The merged change: how to revert it.
        back_to_index(&browser).await;
        open_change(&browser, 106).await;
        let rollback = section(&browser, "Rollback").await;
        assert!(
            rollback.contains(&format!("git revert -m 1 {}", merge_commit())),
            "{rollback}"
        );
        assert!(body(&browser).await.contains("State: merged"));

        // The page's own link back.
        click_link(&browser, "All changes").await;
        heading(&browser, "Changes").await;
    })
    .await;
}

#[tokio::test]
async fn the_agents_page_from_the_navigation_shows_each_agent_s_owner_and_role() {
    with_demo(|browser, base| async move {
        browser
            .goto(&format!("{base}/audit/changes"))
            .await
            .unwrap();
        heading(&browser, "Changes").await;
        let nav = browser.find(Locator::Css("header nav")).await.unwrap();
        nav.find(Locator::LinkText("Agents"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        heading(&browser, "Agents").await;
        assert_eq!(browser.title().await.unwrap(), "Agents: Warrant");
        assert!(
            body(&browser)
                .await
                .contains("5 agents, of which 2 not registered (listed first).")
        );

        // Jules's trial lapses within the fortnight: the sweep lists it.
        let lapsing = rows_of(&browser, "table.lapsing").await;
        assert_eq!(lapsing.len(), 1, "{lapsing:?}");
        assert_eq!(lapsing[0][0], "jules");
        assert_eq!(lapsing[0][1], "the organisation (acme/.github)");
        assert!(lapsing[0][6].starts_with("Lapses in 1"), "{lapsing:?}");

        // Agent, registration, registered by, owner, roles, expires.
        let agents: Vec<[String; 6]> = rows_of(&browser, "table.agents")
            .await
            .into_iter()
            .map(|r| {
                [
                    r[0].clone(),
                    r[1].clone(),
                    r[2].clone(),
                    r[3].clone(),
                    r[4].clone(),
                    r[5].clone(),
                ]
            })
            .collect();
        // acme registers its agents once, in its organisation policy;
        // Codex's trial ended twenty days before the demo's run.
        let here = "organisation";
        let lapsed_on = (Utc::now() - chrono::Duration::days(19)).date_naive();
        let codex_lapsed = format!("{lapsed_on} (lapsed)\nLapsed, still seen");
        assert_eq!(
            agents,
            [
                [
                    "catalog:cursor",
                    "unregistered",
                    "nowhere",
                    "nobody",
                    "none",
                    "never"
                ],
                [
                    "codex",
                    "lapsed",
                    here,
                    "sam",
                    "feature-dev in acme/payments (GitHub)",
                    &codex_lapsed,
                ],
                [
                    "copilot",
                    "registered",
                    here,
                    "acme/payments-team",
                    "feature-dev in acme/checkout (GitHub); feature-dev in acme/payments (GitHub)",
                    "never"
                ],
                [
                    "devin",
                    "registered",
                    here,
                    "kenji",
                    "db-maintenance in acme/payments (GitHub)",
                    "never"
                ],
                [
                    "claude-code",
                    "registered",
                    here,
                    "acme/payments-team",
                    "feature-dev in acme/payments (GitHub)",
                    "never"
                ],
            ]
            .map(|r| r.map(str::to_owned))
        );
        assert!(body(&browser).await.contains("1 registration needs review"));

        // The shadow agent's link lists the changes it was found on, in
        // acme and outside it.
        click_link(&browser, "catalog:cursor").await;
        wait_for(
            &browser,
            "//p[starts-with(normalize-space(), '2 changes match')]",
        )
        .await;
        assert_eq!(
            changes_listed(&browser).await,
            ["globex/website#12", "acme/payments#105"]
        );
    })
    .await;
}

#[tokio::test]
async fn the_overview_from_the_navigation_draws_each_chart_beside_its_numbers() {
    with_demo(|browser, base| async move {
        browser
            .goto(&format!("{base}/audit/changes"))
            .await
            .unwrap();
        heading(&browser, "Changes").await;
        click_nav(&browser, "Overview").await;
        heading(&browser, "Overview").await;
        assert_eq!(browser.title().await.unwrap(), "Overview: Warrant");

        let titles = texts(&browser, "h2").await;
        assert_eq!(
            titles,
            [
                "Agent changes per week, by conclusion",
                "Share of changes with agents",
                "Repositories by rollout state",
                "Most active agents",
                "Unregistered agents seen",
            ]
        );
        // Each chart is a drawing with a title, and a table beside it.
        let charts = browser.find_all(Locator::Css("svg.chart")).await.unwrap();
        assert_eq!(charts.len(), 5);
        for chart in &charts {
            assert_eq!(chart.attr("role").await.unwrap().as_deref(), Some("img"));
            let (_, _, width, height) = chart.rectangle().await.unwrap();
            assert!(width > 100.0 && height > 10.0, "{width}x{height}");
        }
        let sections = browser.find_all(Locator::Css("section")).await.unwrap();
        for section in &sections {
            let tables = section.find_all(Locator::Css("table")).await.unwrap();
            assert_eq!(tables.len(), 1, "a table beside each chart");
        }
        let bars = browser
            .find_all(Locator::Css("svg.chart rect"))
            .await
            .unwrap();
        assert!(!bars.is_empty(), "the charts draw bars");

        // acme's three repositories are enforced, globex's is seen only;
        // the fourteen changes are this week's.
        let all = rows(&browser).await;
        let state = |words: &str| {
            all.iter()
                .find(|r| r[0] == words)
                .map(|r| r[1].clone())
                .unwrap_or_else(|| panic!("no {words} row: {all:?}"))
        };
        assert_eq!(state("Enforce"), "3");
        assert_eq!(state("Visibility only"), "1");
        let changes: u64 = all
            .iter()
            .filter(|r| r[0].starts_with("20") && r.len() == 4)
            .map(|r| r[1].parse::<u64>().unwrap())
            .sum();
        assert_eq!(changes, 14);

        // The shadow agent is listed, linked to the changes it was seen on.
        let unregistered = browser
            .find(Locator::Css(
                "section[aria-labelledby=unregistered-heading]",
            ))
            .await
            .unwrap();
        unregistered
            .find(Locator::LinkText("catalog:cursor"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for(
            &browser,
            "//p[starts-with(normalize-space(), '2 changes match')]",
        )
        .await;
        assert_eq!(
            changes_listed(&browser).await,
            ["globex/website#12", "acme/payments#105"]
        );
    })
    .await;
}

#[tokio::test]
async fn the_repositories_page_shows_the_rollout_and_links_to_the_changes() {
    with_demo(|browser, base| async move {
        browser.goto(&format!("{base}/audit")).await.unwrap();
        heading(&browser, "Overview").await;
        click_nav(&browser, "Repositories").await;
        heading(&browser, "Repositories").await;
        assert_eq!(browser.title().await.unwrap(), "Repositories: Warrant");
        assert!(
            body(&browser)
                .await
                .contains("4 repositories: 3 enforce, 1 visibility only."),
            "{}",
            body(&browser).await
        );
        let header = texts(&browser, "table.repositories thead th").await;
        assert_eq!(
            header,
            [
                "Repository",
                "Rollout",
                "Policies",
                "Agents, last 30 days",
                "Changes, last 30 days",
                "Latest decision"
            ]
        );
        let lines = rows_of(&browser, "table.repositories").await;
        assert_eq!(lines.len(), 4);
        let firsts: Vec<[&str; 5]> = lines
            .iter()
            .map(|l| [&*l[0], &*l[1], &*l[2], &*l[3], &*l[4]])
            .collect();
        assert_eq!(
            firsts,
            [
                [
                    "acme/.github",
                    "Enforce",
                    "organisation (organisation enforce)",
                    "none",
                    "1 change"
                ],
                [
                    "acme/checkout",
                    "Enforce",
                    "organisation (organisation enforce)",
                    "copilot",
                    "1 change"
                ],
                [
                    "acme/payments",
                    "Enforce",
                    "organisation and repository (organisation enforce, repository enforce)",
                    "catalog:cursor, claude-code, codex, copilot, devin",
                    "11 changes"
                ],
                [
                    "globex/website",
                    "Visibility only",
                    "none",
                    "catalog:cursor",
                    "1 change"
                ],
            ]
        );

        // Devin's commit that kenji pushed straight onto main.
        let pushes = rows_of(&browser, "table.pushes").await;
        assert_eq!(pushes.len(), 1, "{pushes:?}");
        assert_eq!(pushes[0][1], "acme/payments refs/heads/main");
        assert_eq!(pushes[0][2], "kenji");
        assert!(
            pushes[0][3].ends_with("Index refunds by merchant"),
            "{pushes:?}"
        );
        assert_eq!(pushes[0][4], "devin (registered)");

        click_link(&browser, "11 changes").await;
        heading(&browser, "Changes").await;
        assert_eq!(matches_line(&browser).await, "11 changes match.");
        let repo = browser
            .find(Locator::Css("input[name=repo]"))
            .await
            .unwrap();
        assert_eq!(
            repo.prop("value").await.unwrap().as_deref(),
            Some("acme/payments")
        );
    })
    .await;
}

#[tokio::test]
async fn at_phone_width_no_page_scrolls_sideways_and_statuses_stay_words() {
    with_demo(|browser, base| async move {
        browser.set_window_size(PHONE.0, PHONE.1).await.unwrap();
        for path in pages() {
            browser.goto(&format!("{base}{path}")).await.unwrap();
            wait_for(&browser, "//h1").await;
            let [scroll_width, inner_width] = widths(&browser).await;
            assert!(
                inner_width <= f64::from(PHONE.0) && inner_width > 300.0,
                "{path}: the viewport is {inner_width}px wide"
            );
            assert!(
                scroll_width <= inner_width,
                "{path} scrolls sideways at phone width: {scroll_width}px of content \
                 in {inner_width}px"
            );
            // Each coloured status carries its meaning in words.
            let statuses = browser.find_all(Locator::Css(".status")).await.unwrap();
            assert!(!statuses.is_empty(), "{path} shows no status");
            for status in statuses {
                let words = status.text().await.unwrap();
                assert!(
                    STATUS_WORDS.iter().any(|w| words.starts_with(w)),
                    "{path}: a status reads {words:?}"
                );
                let (x, _, width, _) = status.rectangle().await.unwrap();
                assert!(
                    x >= 0.0 && x + width <= inner_width,
                    "{path}: the status {words:?} is out of sight at phone width"
                );
            }
            // Each chart shrinks to the phone's width, above its table.
            for chart in browser.find_all(Locator::Css("svg.chart")).await.unwrap() {
                let (x, _, width, height) = chart.rectangle().await.unwrap();
                assert!(
                    x >= 0.0 && x + width <= inner_width && height > 0.0,
                    "{path}: a chart is out of sight at phone width"
                );
            }
        }
    })
    .await;
}

#[tokio::test]
async fn no_page_has_a_script() {
    with_demo(|browser, base| async move {
        for path in pages() {
            browser.goto(&format!("{base}{path}")).await.unwrap();
            wait_for(&browser, "//h1").await;
            let scripts = browser.find_all(Locator::Css("script")).await.unwrap();
            assert!(scripts.is_empty(), "{path} has a <script> element");
            let source = browser.source().await.unwrap().to_lowercase();
            for handler in [" onclick=", " onload=", " onsubmit=", "javascript:"] {
                assert!(!source.contains(handler), "{path} has {handler}");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn the_content_security_policy_lets_every_pages_own_stylesheet_apply() {
    with_demo(|browser, base| async move {
        for path in pages() {
            browser.goto(&format!("{base}{path}")).await.unwrap();
            wait_for(&browser, "//h1").await;
            // `max-width: 60rem` on the body comes only from the inline
            // stylesheet; a policy that blocked it leaves `none`.
            let width = browser
                .execute(
                    "return getComputedStyle(document.body).maxWidth;",
                    Vec::new(),
                )
                .await
                .unwrap();
            assert_eq!(width.as_str(), Some("960px"), "{path}");
        }
    })
    .await;
}

/// The words a status starts with, on any page.
const STATUS_WORDS: &[&str] = &[
    "Enforce",
    "Observe",
    "Visibility only",
    "Invalid policy",
    "No decision yet",
    "Lapses in",
    "Lapsed",
    "lapsed",
    "Allowed",
    "Blocked",
    "Waiting for",
    "Observing",
    "Not enforced",
    "Approved",
    "Blocks the change",
    "Recorded",
    "registered",
    "unregistered",
    "Lifted",
    "Counted",
    "Did not count",
];

/// Every page of the demo.
fn pages() -> Vec<String> {
    let mut pages = vec![
        "/audit".to_owned(),
        "/audit/changes".to_owned(),
        "/audit/repositories".to_owned(),
        "/audit/agents".to_owned(),
    ];
    pages.extend((101..=111).map(|n| format!("/audit/github/acme/payments/changes/{n}")));
    pages.push("/audit/github/acme/.github/changes/3".to_owned());
    pages
}

/// Plays the demo on a fresh SQLite store, runs `test` in a browser with
/// the demo's address, then stops the demo.
async fn with_demo<F, Fut>(test: F)
where
    F: FnOnce(Client, String) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("warrant.db").display());
    let store = Store::connect(&url).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let demo = Demo::start(store, listener).await.unwrap();
    demo.play().await.unwrap();
    let base = demo.base_url();
    with_browser(move |browser| test(browser, base)).await;
    demo.stop().await.unwrap();
}

/// The commit the demo's merge creates.
fn merge_commit() -> String {
    script::scenes(Utc::now())
        .into_iter()
        .flat_map(|s| s.steps)
        .find_map(|step| match step {
            Step::Merge { commit, .. } => Some(commit.as_str().to_owned()),
            _ => None,
        })
        .unwrap()
}

/// Waits for the page's `h1` to start with `words`.
async fn heading(browser: &Client, words: &str) -> Element {
    wait_for(
        browser,
        &format!("//h1[starts-with(normalize-space(), '{words}')]"),
    )
    .await
}

async fn wait_for(browser: &Client, xpath: &str) -> Element {
    match browser
        .wait()
        .at_most(PAGE)
        .for_element(Locator::XPath(xpath))
        .await
    {
        Ok(element) => element,
        Err(err) => {
            let url = browser.current_url().await.ok();
            let text = body(browser).await;
            panic!("no {xpath} on {url:?} within {PAGE:?}: {err}\n{text}")
        }
    }
}

async fn click_link(browser: &Client, text: &str) {
    browser
        .find(Locator::LinkText(text))
        .await
        .unwrap_or_else(|e| panic!("no link {text:?}: {e}"))
        .click()
        .await
        .unwrap();
}

/// Clicks `words` in the header's navigation.
async fn click_nav(browser: &Client, words: &str) {
    let nav = browser.find(Locator::Css("header nav")).await.unwrap();
    nav.find(Locator::LinkText(words))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Clicks the change's link on the index and waits for its page.
async fn open_change(browser: &Client, number: u64) {
    click_link(browser, &format!("acme/payments#{number}")).await;
    heading(browser, &format!("acme/payments#{number}:")).await;
}

/// The browser's Back button, to the index.
async fn back_to_index(browser: &Client) {
    browser.back().await.unwrap();
    heading(browser, "Changes").await;
}

async fn press_filter(browser: &Client) {
    browser
        .find(Locator::Css("form.filters button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// The index's line saying how many changes match.
async fn matches_line(browser: &Client) -> String {
    let line = browser
        .find(Locator::XPath("//p[contains(., 'match')]"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    line.split(" Export").next().unwrap_or_default().to_owned()
}

/// The changes the index lists, in order.
async fn changes_listed(browser: &Client) -> Vec<String> {
    texts(browser, "tbody th[scope=row] a").await
}

/// The change page's sentence: its status and decision.
async fn decision(browser: &Client) -> String {
    browser
        .find(Locator::Css("main > p > strong"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The text of the section under the `h2` named `title`, to the next `h2`.
async fn section(browser: &Client, title: &str) -> String {
    let xpath = format!(
        "//h2[.='{title}']/following-sibling::*[preceding-sibling::h2[1][.='{title}'] \
         and not(self::h2)]"
    );
    let mut text = Vec::new();
    for element in browser.find_all(Locator::XPath(&xpath)).await.unwrap() {
        text.push(element.text().await.unwrap());
    }
    text.join("\n")
}

async fn body(browser: &Client) -> String {
    match browser.find(Locator::Css("body")).await {
        Ok(body) => body.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// The text of each element matching `css`, in document order.
async fn texts(browser: &Client, css: &str) -> Vec<String> {
    let mut texts = Vec::new();
    for element in browser.find_all(Locator::Css(css)).await.unwrap() {
        texts.push(element.text().await.unwrap());
    }
    texts
}

/// Each body row of the page's tables, as the text of its cells.
async fn rows(browser: &Client) -> Vec<Vec<String>> {
    rows_of(browser, "table").await
}

/// Each body row of the tables matching `table`, as the text of its cells.
async fn rows_of(browser: &Client, table: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let css = format!("{table} tbody tr");
    for row in browser.find_all(Locator::Css(&css)).await.unwrap() {
        let mut cells = Vec::new();
        for cell in row.find_all(Locator::Css("th, td")).await.unwrap() {
            cells.push(cell.text().await.unwrap());
        }
        rows.push(cells);
    }
    rows
}

/// The document's full width and the viewport's, in CSS pixels.
async fn widths(browser: &Client) -> [f64; 2] {
    let value = browser
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            Vec::new(),
        )
        .await
        .unwrap();
    let number = |v: &Value| v.as_f64().unwrap_or_else(|| panic!("not a width: {value}"));
    match value.as_array().map(Vec::as_slice) {
        Some([scroll, inner]) => [number(scroll), number(inner)],
        _ => panic!("not two widths: {value}"),
    }
}
