use clap::Parser;

use super::*;

/// A throwaway RSA key, shared with the GitHub client's tests.
const APP_KEY: &str = include_str!("../../fixtures/github-app/app-key.pem");

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    serve: ServeArgs,
}

/// Parses flags only: the environment is process-wide and tests run in
/// parallel, and flags and variables share one definition anyway.
fn validate(flags: &[&str]) -> Result<ServeConfig, ConfigError> {
    let argv = std::iter::once("warrant").chain(flags.iter().copied());
    Cli::try_parse_from(argv)
        .expect("flags parse")
        .serve
        .validate()
}

fn error(flags: &[&str]) -> String {
    validate(flags).unwrap_err().to_string()
}

fn full_app(secret: &str) -> Vec<&str> {
    vec![
        "--github-app-id",
        "42",
        "--github-private-key",
        APP_KEY,
        "--github-webhook-secret",
        secret,
    ]
}

#[test]
fn defaults_listen_on_localhost_with_sqlite_and_no_app() {
    let config = validate(&[]).unwrap();
    assert_eq!(config.listen.to_string(), "127.0.0.1:3000");
    assert_eq!(config.database_url.expose(), "sqlite://warrant.db");
    assert!(config.github.is_none());
    assert!(config.public_url.is_none());
    assert_eq!(config.log_format, LogFormat::Text);
}

#[test]
fn a_complete_app_is_read_with_every_webhook_secret() {
    let mut flags = full_app(" old , new ,");
    flags.extend(["--github-api-url", "https://ghe.example.com/api/v3/"]);
    let app = validate(&flags).unwrap().github.unwrap();
    assert_eq!(app.app_id, 42);
    assert_eq!(app.api_url, "https://ghe.example.com/api/v3");
    let secrets: Vec<_> = app.webhook_secrets.iter().map(Secret::expose).collect();
    assert_eq!(secrets, ["old", "new"]);
}

#[test]
fn a_malformed_listen_address_names_the_variable() {
    let err = error(&["--listen", "localhost"]);
    assert!(err.starts_with("WARRANT_LISTEN:"), "{err}");
}

#[test]
fn a_public_url_must_be_absolute_http() {
    for bad in ["warrant.example.com", "ftp://x", "https://", "https:// x"] {
        let err = error(&["--public-url", bad]);
        assert!(err.starts_with("WARRANT_PUBLIC_URL:"), "{err}");
    }
    let config = validate(&["--public-url", "https://w.example.com/"]).unwrap();
    assert_eq!(config.public_url.as_deref(), Some("https://w.example.com"));
}

#[test]
fn an_incomplete_app_names_what_is_missing() {
    let err = error(&["--github-app-id", "42", "--github-webhook-secret", "s"]);
    assert!(err.starts_with("WARRANT_GITHUB_PRIVATE_KEY (or"), "{err}");
    let err = error(&["--github-app-id", "42", "--github-private-key", APP_KEY]);
    assert!(
        err.starts_with("WARRANT_GITHUB_WEBHOOK_SECRET is not set"),
        "{err}"
    );
    let err = error(&["--github-webhook-secret", "s"]);
    assert!(err.starts_with("WARRANT_GITHUB_APP_ID is not set"), "{err}");
}

#[test]
fn an_empty_webhook_secret_list_is_refused() {
    let err = error(&full_app(" , "));
    assert_eq!(err, "WARRANT_GITHUB_WEBHOOK_SECRET is empty");
}

#[test]
fn a_malformed_app_id_names_the_variable() {
    let mut flags = full_app("s");
    flags[1] = "forty-two";
    let err = error(&flags);
    assert!(err.starts_with("WARRANT_GITHUB_APP_ID:"), "{err}");
}

#[test]
fn a_private_key_that_is_not_rsa_pem_is_refused_without_being_printed() {
    let mut flags = full_app("s");
    flags[3] = "-----BEGIN NONSENSE-----\nc2VjcmV0\n-----END NONSENSE-----";
    let err = error(&flags);
    assert!(err.starts_with("WARRANT_GITHUB_PRIVATE_KEY:"), "{err}");
    assert!(!err.contains("c2VjcmV0"), "{err}");
}

#[test]
fn a_private_key_with_escaped_newlines_is_accepted() {
    let escaped = APP_KEY.replace('\n', "\\n");
    let mut flags = full_app("s");
    flags[3] = &escaped;
    assert!(validate(&flags).unwrap().github.is_some());
}

#[test]
fn a_private_key_is_read_from_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("key.pem");
    std::fs::write(&path, APP_KEY).unwrap();
    let path = path.to_str().unwrap();
    let flags = [
        "--github-app-id",
        "1",
        "--github-private-key-path",
        path,
        "--github-webhook-secret",
        "s",
    ];
    assert!(validate(&flags).unwrap().github.is_some());

    let missing = dir.path().join("missing.pem");
    let missing = missing.to_str().unwrap();
    let err = error(&[
        "--github-app-id",
        "1",
        "--github-private-key-path",
        missing,
        "--github-webhook-secret",
        "s",
    ]);
    assert!(
        err.starts_with(&format!(
            "WARRANT_GITHUB_PRIVATE_KEY_PATH: cannot read {missing}:"
        )),
        "{err}"
    );
}

#[test]
fn a_key_given_twice_is_refused() {
    let mut flags = full_app("s");
    flags.extend(["--github-private-key-path", "/k.pem"]);
    let err = error(&flags);
    assert!(err.contains("both set"), "{err}");
}

#[test]
fn secrets_never_show_in_debug_output() {
    let mut flags = full_app("hunter2");
    flags.extend(["--database-url", "postgres://u:pw@h/db"]);
    let argv = std::iter::once("warrant").chain(flags.iter().copied());
    let args = Cli::try_parse_from(argv).unwrap().serve;
    let config = args.validate().unwrap();
    for debug in [format!("{args:?}"), format!("{config:?}")] {
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(!debug.contains("pw@"), "{debug}");
        assert!(!debug.contains("PRIVATE KEY"), "{debug}");
    }
}

fn credentials_json(secret: &str) -> String {
    serde_json::json!({
        "id": 7, "slug": "warrant-octo", "pem": APP_KEY, "webhook_secret": secret,
        "client_id": "Iv1.x", "client_secret": "cs", "html_url": "https://github.com/apps/warrant-octo",
    })
    .to_string()
}

#[test]
fn an_app_registered_at_the_root_page_is_loaded_from_its_file_on_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.json");
    std::fs::write(&file, credentials_json("from-file")).unwrap();
    let path = file.to_str().unwrap();
    let app = validate(&["--github-app-file", path])
        .unwrap()
        .github
        .unwrap();
    assert_eq!(app.app_id, 7);
    let secrets: Vec<_> = app.webhook_secrets.iter().map(Secret::expose).collect();
    assert_eq!(secrets, ["from-file"]);
}

#[test]
fn the_github_variables_win_over_the_credentials_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.json");
    std::fs::write(&file, credentials_json("from-file")).unwrap();
    let mut flags = full_app("from-env");
    flags.extend(["--github-app-file", file.to_str().unwrap()]);
    let app = validate(&flags).unwrap().github.unwrap();
    assert_eq!(app.app_id, 42);
}

#[test]
fn the_credentials_file_sits_beside_the_sqlite_database_by_default() {
    let config = validate(&["--database-url", "sqlite:///nonexistent/dir/w.db"]).unwrap();
    assert_eq!(
        config.github_app_file,
        std::path::Path::new("/nonexistent/dir/warrant-github-app.json")
    );
    assert!(config.github.is_none());
}

#[test]
fn a_broken_credentials_file_names_the_variable_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.json");
    std::fs::write(&file, "{\"id\": 7, \"pem\": \"SECRET-PEM").unwrap();
    let message = error(&["--github-app-file", file.to_str().unwrap()]);
    assert!(
        message.starts_with("WARRANT_GITHUB_APP_FILE: "),
        "{message}"
    );
    assert!(!message.contains("SECRET-PEM"), "{message}");
}

#[test]
fn sign_in_is_off_and_pages_private_by_default() {
    let config = validate(&[]).unwrap();
    assert!(config.github_oauth.is_none());
    assert!(!config.public_pages);
    assert!(config.session_key.is_none());
    assert_eq!(config.github_url, "https://github.com");
}

#[test]
fn the_web_url_follows_an_enterprise_api_url_unless_given() {
    let config = validate(&["--github-api-url", "https://ghe.example.com/api/v3"]).unwrap();
    assert_eq!(config.github_url, "https://ghe.example.com");
    let config = validate(&["--github-url", "https://login.example.com/"]).unwrap();
    assert_eq!(config.github_url, "https://login.example.com");
    let err = error(&["--github-url", "github.com"]);
    assert!(err.starts_with("WARRANT_GITHUB_URL:"), "{err}");
}

#[test]
fn the_oauth_client_needs_its_id_and_secret_together() {
    let config = validate(&[
        "--github-client-id",
        "Iv1.abc",
        "--github-client-secret",
        "shh",
    ])
    .unwrap();
    let oauth = config.github_oauth.unwrap();
    assert_eq!(oauth.client_id, "Iv1.abc");
    assert_eq!(oauth.client_secret.expose(), "shh");
    let err = error(&["--github-client-id", "Iv1.abc"]);
    assert!(
        err.starts_with("WARRANT_GITHUB_CLIENT_SECRET is not set"),
        "{err}"
    );
    let err = error(&["--github-client-secret", "shh"]);
    assert!(
        err.starts_with("WARRANT_GITHUB_CLIENT_ID is not set"),
        "{err}"
    );
    assert!(!err.contains("shh"), "{err}");
}

#[test]
fn the_oauth_client_defaults_to_the_registered_apps() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.json");
    std::fs::write(&file, credentials_json("s")).unwrap();
    let path = file.to_str().unwrap();
    let oauth = validate(&["--github-app-file", path])
        .unwrap()
        .github_oauth
        .unwrap();
    assert_eq!(oauth.client_id, "Iv1.x");
    assert_eq!(oauth.client_secret.expose(), "cs");
}

#[test]
fn public_pages_take_a_boolean() {
    assert!(validate(&["--public-pages", "true"]).unwrap().public_pages);
    assert!(!validate(&["--public-pages", "off"]).unwrap().public_pages);
    let err = error(&["--public-pages", "maybe"]);
    assert!(err.starts_with("WARRANT_PUBLIC_PAGES:"), "{err}");
}

#[test]
fn registration_is_offered_without_an_app_unless_turned_off_or_gitlab_runs_alone() {
    let gitlab = ["--gitlab-token", "glpat-x", "--gitlab-webhook-secret", "s"];
    assert!(validate(&[]).unwrap().offers_registration());
    let off = validate(&["--github-registration", "false"]).unwrap();
    assert!(!off.offers_registration());
    assert!(!validate(&gitlab).unwrap().offers_registration());
    let mut both = gitlab.to_vec();
    both.extend(["--github-registration", "true"]);
    assert!(validate(&both).unwrap().offers_registration());
    assert!(!validate(&full_app("s")).unwrap().offers_registration());
    let err = error(&["--github-registration", "maybe"]);
    assert!(err.starts_with("WARRANT_GITHUB_REGISTRATION:"), "{err}");
}

#[test]
fn the_webhook_memory_is_in_mib_and_holds_at_least_one_largest_body() {
    const MIB: usize = 1024 * 1024;
    let default = validate(&[]).unwrap().webhook_memory;
    assert_eq!(default, crate::server::DEFAULT_BODY_BUDGET);
    let set = validate(&["--webhook-memory-mb", "128"]).unwrap();
    assert_eq!(set.webhook_memory, 128 * MIB);
    for wrong in ["24", "0", "lots", "65537"] {
        let err = error(&["--webhook-memory-mb", wrong]);
        assert!(
            err.starts_with("WARRANT_WEBHOOK_MEMORY_MB:"),
            "{wrong}: {err}"
        );
    }
}

#[test]
fn a_token_key_is_32_bytes_of_hex_and_never_printed() {
    assert!(validate(&[]).unwrap().token_key.is_none());
    let err = error(&["--token-key", "hunter2hunter2"]);
    assert!(
        err.starts_with("WARRANT_TOKEN_KEY: not 32 bytes in hex"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
    let key = "0f".repeat(32);
    let config = validate(&["--token-key", &key]).unwrap();
    assert!(config.token_key.is_some());
    assert!(!format!("{config:?}").contains(&key));
}

#[test]
fn a_short_session_key_is_refused_without_being_printed() {
    let err = error(&["--session-key", "hunter2hunter2"]);
    assert!(err.starts_with("WARRANT_SESSION_KEY: too short"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    let key = "k".repeat(32);
    let config = validate(&["--session-key", &key]).unwrap();
    assert_eq!(config.session_key.unwrap().expose(), key);
    assert!(!format!("{:?}", validate(&["--session-key", &key]).unwrap()).contains(&key));
}

#[test]
fn gitlab_is_off_by_default_and_its_url_defaults_to_gitlab_com() {
    assert!(validate(&[]).unwrap().gitlab.is_none());
    let config = validate(&["--gitlab-token", "glpat-x", "--gitlab-webhook-secret", "s"]).unwrap();
    assert_eq!(config.gitlab.unwrap().url, "https://gitlab.com");
}

#[test]
fn gitlab_is_read_with_every_webhook_secret_beside_github() {
    let mut flags = full_app("gh");
    flags.extend([
        "--gitlab-url",
        "https://gitlab.example.com/",
        "--gitlab-token",
        " glpat-x ",
        "--gitlab-webhook-secret",
        " old , new ,",
    ]);
    let config = validate(&flags).unwrap();
    assert!(config.github.is_some(), "both forges may be configured");
    let gitlab = config.gitlab.unwrap();
    assert_eq!(gitlab.url, "https://gitlab.example.com");
    assert_eq!(gitlab.token.expose(), "glpat-x");
    let secrets: Vec<_> = gitlab.webhook_secrets.iter().map(Secret::expose).collect();
    assert_eq!(secrets, ["old", "new"]);
}

#[test]
fn gitlab_needs_its_token_and_webhook_secret_together() {
    let err = error(&["--gitlab-token", "glpat-x"]);
    assert!(
        err.starts_with("WARRANT_GITLAB_WEBHOOK_SECRET is not set"),
        "{err}"
    );
    let err = error(&["--gitlab-webhook-secret", "s"]);
    assert!(err.starts_with("WARRANT_GITLAB_TOKEN is not set"), "{err}");
}

#[test]
fn an_empty_gitlab_token_or_secret_list_is_refused() {
    let err = error(&["--gitlab-token", " ", "--gitlab-webhook-secret", "s"]);
    assert_eq!(err, "WARRANT_GITLAB_TOKEN is empty");
    let err = error(&["--gitlab-token", "t", "--gitlab-webhook-secret", " , "]);
    assert_eq!(err, "WARRANT_GITLAB_WEBHOOK_SECRET is empty");
}

#[test]
fn a_malformed_gitlab_url_names_the_variable() {
    let err = error(&["--gitlab-url", "gitlab.example.com"]);
    assert!(err.starts_with("WARRANT_GITLAB_URL: "), "{err}");
}

#[test]
fn the_gitlab_token_never_shows_in_debug_output() {
    let config = validate(&[
        "--gitlab-token",
        "glpat-secret",
        "--gitlab-webhook-secret",
        "hush",
    ]);
    let debug = format!("{:?}", config.unwrap());
    assert!(
        !debug.contains("glpat-secret") && !debug.contains("hush"),
        "{debug}"
    );
}

#[test]
fn the_organisations_policy_repositories_default_to_each_forges_home() {
    let config = validate(&[]).unwrap();
    assert_eq!(config.org_repositories.github, ".github");
    assert_eq!(config.org_repositories.gitlab, "gitlab-profile");
    let config = validate(&[
        "--github-org-repository",
        "governance",
        "--gitlab-org-project",
        " policies ",
    ])
    .unwrap();
    assert_eq!(config.org_repositories.github, "governance");
    assert_eq!(config.org_repositories.gitlab, "policies");
}

#[test]
fn an_organisation_repository_is_a_name_without_an_owner() {
    let err = error(&["--github-org-repository", "acme/.github"]);
    assert!(err.starts_with("WARRANT_GITHUB_ORG_REPOSITORY:"), "{err}");
    let err = error(&["--gitlab-org-project", ""]);
    assert!(err.starts_with("WARRANT_GITLAB_ORG_PROJECT:"), "{err}");
}
