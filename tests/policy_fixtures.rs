//! Every example policy in `fixtures/policies/` behaves as its name says:
//! `invalid-*.yml` fails with exactly the errors in its `.errors` file, any
//! other file loads. Regenerate the `.errors` files with
//! `WARRANT_BLESS=1 cargo test --test policy_fixtures` and review the diff.

use std::path::{Path, PathBuf};

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/policies");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

/// The name errors are reported under: the path from the repository root.
fn display_name(path: &Path) -> String {
    let name = path.file_name().unwrap().to_string_lossy();
    format!("fixtures/policies/{name}")
}

#[test]
fn valid_fixtures_load() {
    for path in fixtures() {
        let name = display_name(&path);
        if name.contains("/invalid-") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        if let Err(errors) = warrant::policy::load(&name, &text) {
            panic!("{name} should load:\n{errors}");
        }
    }
}

#[test]
fn invalid_fixtures_fail_with_their_recorded_errors() {
    let bless = std::env::var_os("WARRANT_BLESS").is_some();
    for path in fixtures() {
        let name = display_name(&path);
        if !name.contains("/invalid-") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let Err(errors) = warrant::policy::load(&name, &text) else {
            panic!("{name} should not load");
        };
        let actual = format!("{errors}\n");
        let expected_path = path.with_extension("errors");
        if bless {
            std::fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        assert_eq!(
            actual,
            expected,
            "{name}: errors differ from {} (WARRANT_BLESS=1 rewrites it)",
            expected_path.display()
        );
    }
}
