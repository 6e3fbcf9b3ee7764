//! The audit checkpoints' settings (`docs/audit.md`, "Checkpoints"): the
//! signing key, how often `serve` writes one, and where they are appended.

use std::path::PathBuf;
use std::time::Duration;

use super::ConfigError;
use crate::audit::checkpoint::SigningKey;

/// How often `serve` writes a checkpoint unless told otherwise: hourly, as
/// CloudTrail delivers its digests, bounds what an auditor's copy can miss
/// to an hour of events at little cost.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60 * 60);

#[derive(Clone, Debug, Default, clap::Args)]
pub struct CheckpointArgs {
    /// A file holding the key that signs audit checkpoints, made by
    /// `warrant audit keygen`. Unset: no checkpoints are written.
    #[arg(long, env = "WARRANT_AUDIT_SIGNING_KEY")]
    pub audit_signing_key: Option<PathBuf>,

    /// How long at least between two checkpoints written by `serve`, which
    /// writes one only when the trail grew: `30s`, `15m`, `1h` (default),
    /// `1d`, or `1h30m`.
    #[arg(long, env = "WARRANT_AUDIT_CHECKPOINT_INTERVAL")]
    pub audit_checkpoint_interval: Option<String>,

    /// A directory to append each checkpoint to, as a line of
    /// `checkpoints.jsonl`: ship it to write-once storage.
    #[arg(long, env = "WARRANT_AUDIT_CHECKPOINT_DIR")]
    pub audit_checkpoint_dir: Option<PathBuf>,
}

/// The checkpoints' settings, checked.
#[derive(Clone, Debug)]
pub struct CheckpointConfig {
    /// `None`: no checkpoints are written.
    pub key: Option<SigningKey>,
    pub interval: Duration,
    pub dir: Option<PathBuf>,
}

impl CheckpointArgs {
    pub fn validate(&self) -> Result<CheckpointConfig, ConfigError> {
        let key = self
            .audit_signing_key
            .as_deref()
            .map(|path| {
                SigningKey::read(path)
                    .map_err(|e| ConfigError::new("WARRANT_AUDIT_SIGNING_KEY", format!("{e:#}")))
            })
            .transpose()?;
        let interval = match self.audit_checkpoint_interval.as_deref().map(str::trim) {
            None | Some("") => DEFAULT_INTERVAL,
            Some(text) => parse_duration(text)
                .map_err(|e| ConfigError::new("WARRANT_AUDIT_CHECKPOINT_INTERVAL", e))?,
        };
        Ok(CheckpointConfig {
            key,
            interval,
            dir: self.audit_checkpoint_dir.clone(),
        })
    }
}

/// A span such as `90s`, `15m`, `1h`, `1d` or `1h30m`: numbers each
/// followed by a unit, at least one second in all.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let wrong = || format!("`{text}` is not a duration such as 30s, 15m, 1h, 1d or 1h30m");
    let mut seconds: u64 = 0;
    let mut number = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 60 * 60,
            'd' => 24 * 60 * 60,
            _ => return Err(wrong()),
        };
        let n: u64 = number.parse().map_err(|_| wrong())?;
        seconds = n
            .checked_mul(unit)
            .and_then(|s| seconds.checked_add(s))
            .ok_or_else(wrong)?;
        number.clear();
    }
    if !number.is_empty() || seconds == 0 {
        return Err(wrong());
    }
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_numbers_with_units() {
        let secs = |text| parse_duration(text).map(|d| d.as_secs());
        assert_eq!(secs("90s"), Ok(90));
        assert_eq!(secs("15m"), Ok(900));
        assert_eq!(secs(" 1h "), Ok(3600));
        assert_eq!(secs("1h30m"), Ok(5400));
        assert_eq!(secs("2d"), Ok(172_800));
        for wrong in [
            "",
            "0s",
            "1",
            "h",
            "1w",
            "1.5h",
            "-1h",
            "99999999999999999999d",
        ] {
            let err = parse_duration(wrong).unwrap_err();
            assert!(err.contains("is not a duration"), "{wrong}: {err}");
        }
    }

    #[test]
    fn without_a_key_no_checkpoints_are_written_and_the_interval_defaults_to_an_hour() {
        let config = CheckpointArgs::default().validate().unwrap();
        assert!(config.key.is_none());
        assert_eq!(config.interval, DEFAULT_INTERVAL);
    }

    #[test]
    fn a_wrong_setting_names_its_variable() {
        let args = CheckpointArgs {
            audit_checkpoint_interval: Some("soon".into()),
            ..CheckpointArgs::default()
        };
        let err = args.validate().unwrap_err().to_string();
        assert!(
            err.starts_with("WARRANT_AUDIT_CHECKPOINT_INTERVAL: `soon`"),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        let args = CheckpointArgs {
            audit_signing_key: Some(dir.path().join("missing.key")),
            ..CheckpointArgs::default()
        };
        let err = args.validate().unwrap_err().to_string();
        assert!(
            err.starts_with("WARRANT_AUDIT_SIGNING_KEY: cannot read"),
            "{err}"
        );
        let path = dir.path().join("audit.key");
        SigningKey::generate().write_new(&path).unwrap();
        let args = CheckpointArgs {
            audit_signing_key: Some(path),
            audit_checkpoint_interval: Some("5m".into()),
            audit_checkpoint_dir: None,
        };
        let config = args.validate().unwrap();
        assert!(config.key.is_some());
        assert_eq!(config.interval, Duration::from_secs(300));
    }
}
