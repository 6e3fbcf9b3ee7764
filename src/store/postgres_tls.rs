//! TLS to PostgreSQL, asked for as libpq reads it: `sslmode` and
//! `sslrootcert` in `WARRANT_DATABASE_URL`.
//!
//! sqlx parses both parameters itself (and `PGSSLMODE`, `PGSSLROOTCERT`
//! when the URL leaves them out). It reads three cases otherwise than
//! libpq, and a URL copied from a provider's instructions must mean what
//! libpq would make of it, so [`as_libpq_reads`] rewrites them first:
//!
//! - `sslmode=require` with an `sslrootcert` file: libpq then checks the
//!   certificate against that file (it behaves as `verify-ca`); sqlx would
//!   check nothing.
//! - `sslrootcert=system` (libpq 16): the well-known roots, with
//!   `verify-full` as the default mode and any weaker mode an error. sqlx
//!   would look for a file named `system`. Without a file sqlx trusts the
//!   Mozilla roots built into this binary, so the parameter is dropped.
//! - `sslmode=allow`: libpq tries without TLS, then with it. sqlx never
//!   tries TLS; `prefer` (TLS, then without) reaches the same servers.

use anyhow::bail;

/// The URL with the parameters libpq and sqlx read differently rewritten to
/// what libpq means; the other parameters are kept as written, in order.
pub(super) fn as_libpq_reads(url: &str) -> anyhow::Result<String> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok(url.to_owned());
    };
    // Each pair as written, with its decoded name and value.
    let pairs: Vec<(&str, String, String)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = decoded(pair).unwrap_or_default();
            (pair, key, value)
        })
        .collect();
    // sqlx lets the last of a repeated parameter win, and so does libpq.
    let last = |names: &[&str]| {
        pairs
            .iter()
            .rev()
            .find(|(_, key, _)| names.contains(&key.as_str()))
            .map(|(_, _, value)| value.as_str())
    };
    let (mode, root) = (last(SSLMODE), last(SSLROOTCERT));

    let new_mode = match (mode, root) {
        (None, Some("system")) => Some("verify-full"),
        (Some("verify-full"), Some("system")) => None,
        (Some(weaker), Some("system")) => bail!(
            "WARRANT_DATABASE_URL has sslrootcert=system with sslmode={weaker}: \
             as in libpq, the system's roots need sslmode=verify-full (or no sslmode)"
        ),
        (Some("require"), Some(_)) => Some("verify-ca"),
        (Some("allow"), _) => Some("prefer"),
        _ => None,
    };
    let drop_root = root == Some("system");
    let mut kept: Vec<&str> = pairs
        .iter()
        .filter(|(_, key, _)| {
            let rewritten = new_mode.is_some() && SSLMODE.contains(&key.as_str());
            let dropped = drop_root && SSLROOTCERT.contains(&key.as_str());
            !rewritten && !dropped
        })
        .map(|(pair, _, _)| *pair)
        .collect();
    let appended = new_mode.map(|mode| format!("sslmode={mode}"));
    kept.extend(appended.as_deref());
    Ok(if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    })
}

/// The names sqlx reads for the mode and the root certificates.
const SSLMODE: &[&str] = &["sslmode", "ssl-mode"];
const SSLROOTCERT: &[&str] = &["sslrootcert", "ssl-root-cert", "ssl-ca"];

/// One `key=value` pair, percent-decoded.
fn decoded(pair: &str) -> Option<(String, String)> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(pair)
        .ok()?
        .pop()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(url: &str) -> String {
        as_libpq_reads(url).unwrap()
    }

    #[test]
    fn urls_libpq_and_sqlx_agree_on_are_kept_as_written() {
        for url in [
            "postgres://u:p@h/db",
            "postgres://h/db?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem",
            "postgres://h/db?sslmode=require",
            "postgres://h/db?application_name=w&sslmode=disable",
            "postgres://h/db?sslmode=verify-ca&sslrootcert=/ca.pem",
        ] {
            assert_eq!(read(url), url);
        }
    }

    #[test]
    fn require_with_a_root_certificate_checks_it_as_libpq_does() {
        assert_eq!(
            read("postgres://h/db?sslmode=require&sslrootcert=/ca.pem&x=1"),
            "postgres://h/db?sslrootcert=/ca.pem&x=1&sslmode=verify-ca"
        );
    }

    #[test]
    fn system_roots_mean_verify_full_and_refuse_weaker_modes() {
        assert_eq!(
            read("postgres://h/db?sslrootcert=system"),
            "postgres://h/db?sslmode=verify-full"
        );
        assert_eq!(
            read("postgres://h/db?sslmode=verify-full&sslrootcert=system"),
            "postgres://h/db?sslmode=verify-full"
        );
        let err = as_libpq_reads("postgres://u:hunter2@h/db?sslmode=require&sslrootcert=system")
            .unwrap_err()
            .to_string();
        assert!(err.contains("sslmode=verify-full"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn allow_tries_tls_too() {
        assert_eq!(
            read("postgres://h/db?sslmode=allow"),
            "postgres://h/db?sslmode=prefer"
        );
    }

    #[test]
    fn the_last_of_repeated_parameters_decides() {
        assert_eq!(
            read("postgres://h/db?sslmode=require&sslmode=disable&sslrootcert=/ca.pem"),
            "postgres://h/db?sslmode=require&sslmode=disable&sslrootcert=/ca.pem"
        );
        assert_eq!(
            read("postgres://h/db?sslmode=disable&sslmode=require&sslrootcert=/ca.pem"),
            "postgres://h/db?sslrootcert=/ca.pem&sslmode=verify-ca"
        );
    }
}
