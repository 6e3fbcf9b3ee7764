//! A throwaway PostgreSQL server with TLS on, for one test: its own data
//! directory, port and certificates, stopped and removed on drop. The shared
//! server on 5432 is left alone (other tests use it at the same time).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use rcgen::{BasicConstraints, Certificate, CertificateParams, DnType, IsCa, KeyPair};
use tempfile::TempDir;

/// The variable CI sets: with it, a missing PostgreSQL is a failure.
const POSTGRES_ENV: &str = "WARRANT_TEST_POSTGRES_URL";

/// A certificate authority made for the test.
pub struct Authority {
    cert: Certificate,
    key: KeyPair,
}

impl Authority {
    pub fn new(name: &str) -> Authority {
        let key = KeyPair::generate().expect("a CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.self_signed(&key).expect("a CA certificate");
        Authority { cert, key }
    }

    /// A server certificate for `names` and its key, in PEM.
    fn issue(&self, names: &[&str]) -> (String, String) {
        let key = KeyPair::generate().expect("a server key");
        let names: Vec<String> = names.iter().map(|name| name.to_string()).collect();
        let cert = CertificateParams::new(names)
            .expect("server params")
            .signed_by(&key, &self.cert, &self.key)
            .expect("a server certificate");
        (cert.pem(), key.serialize_pem())
    }

    /// Writes the CA's certificate where a client can name it in
    /// `sslrootcert`.
    pub fn write(&self, path: &Path) {
        std::fs::write(path, self.cert.pem()).expect("write the CA certificate");
    }
}

/// A running server that accepts only TLS connections over TCP
/// (`hostssl` in `pg_hba.conf`, trust authentication, user `postgres`), on
/// 127.0.0.1, with a certificate for `localhost` only.
pub struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    pub port: u16,
    // Dropped last: the server's files.
    _dir: TempDir,
}

impl Cluster {
    /// Starts a server whose certificate `authority` signed, or returns
    /// `None` (saying so loudly) where no PostgreSQL server binaries are
    /// installed and CI did not ask for PostgreSQL.
    pub fn start(authority: &Authority) -> Option<Cluster> {
        let Some(bin) = server_binaries() else {
            if std::env::var_os(POSTGRES_ENV).is_some() {
                panic!(
                    "{POSTGRES_ENV} is set but no PostgreSQL server binaries \
                     (initdb, pg_ctl) are under /usr/lib/postgresql/*/bin: \
                     install the postgresql package"
                );
            }
            eprintln!(
                "\n!!! PostgreSQL TLS test SKIPPED: no initdb under \
                 /usr/lib/postgresql/*/bin and {POSTGRES_ENV} unset !!!\n"
            );
            return None;
        };
        let dir = tempfile::tempdir().expect("a temporary directory");
        let data = dir.path().join("data");
        give_to_server_account(dir.path());
        run_as_server_account(
            Command::new(bin.join("initdb"))
                .args(["--auth=trust", "--username=postgres", "--no-sync"])
                .args(["--encoding=UTF8", "--locale=C", "-D"])
                .arg(&data),
        )
        .unwrap_or_else(|output| panic!("initdb failed:\n{output}"));

        let (cert, key) = authority.issue(&["localhost"]);
        std::fs::write(data.join("server.crt"), cert).unwrap();
        std::fs::write(data.join("server.key"), key).unwrap();
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\n\
             hostssl all all 127.0.0.1/32 trust\n\
             hostssl all all ::1/128 trust\n",
        )
        .unwrap();
        let port = free_port();
        let mut conf = std::fs::read_to_string(data.join("postgresql.conf")).unwrap();
        conf.push_str(&format!(
            "\nport = {port}\nlisten_addresses = '127.0.0.1'\n\
             unix_socket_directories = '{}'\n\
             ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n\
             fsync = off\n",
            dir.path().display()
        ));
        std::fs::write(data.join("postgresql.conf"), conf).unwrap();
        give_to_server_account(dir.path());
        set_mode(&data.join("server.key"), 0o600);

        let log = dir.path().join("server.log");
        let started = run_as_server_account(
            Command::new(bin.join("pg_ctl"))
                .args(["-w", "-t", "60", "-D"])
                .arg(&data)
                .arg("-l")
                .arg(&log)
                .arg("start"),
        );
        if let Err(output) = started {
            panic!(
                "pg_ctl start failed:\n{output}\nthe server's log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        Some(Cluster {
            bin,
            data,
            port,
            _dir: dir,
        })
    }

    /// The URL of the `postgres` database as `host`, with `params`.
    pub fn url(&self, host: &str, params: &str) -> String {
        format!("postgres://postgres@{host}:{}/postgres?{params}", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = run_as_server_account(
            Command::new(self.bin.join("pg_ctl"))
                .args(["-w", "-m", "immediate", "-D"])
                .arg(&self.data)
                .arg("stop"),
        );
    }
}

/// The `bin` directory of the newest PostgreSQL installed the Debian way.
fn server_binaries() -> Option<PathBuf> {
    std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .max_by_key(|(version, _)| *version)
        .map(|(_, bin)| bin)
}

/// initdb and the server refuse to run as root: as root, they run as the
/// `postgres` account the package made, which must own their files.
fn is_root() -> bool {
    let uid = Command::new("id").arg("-u").output().expect("id -u");
    String::from_utf8_lossy(&uid.stdout).trim() == "0"
}

fn give_to_server_account(dir: &Path) {
    if is_root() {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir)
            .status()
            .expect("chown");
        assert!(status.success(), "chown -R postgres {}", dir.display());
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Runs `command` as the server's account; its output, if it failed.
fn run_as_server_account(command: &mut Command) -> Result<(), String> {
    let mut runuser;
    let command = if is_root() {
        runuser = Command::new("runuser");
        runuser
            .args(["-u", "postgres", "--"])
            .arg(command.get_program())
            .args(command.get_args());
        &mut runuser
    } else {
        command
    };
    match command.output() {
        Ok(output) if output.status.success() => Ok(()),
        Ok(output) => Err(format!(
            "{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )),
        Err(err) => Err(err.to_string()),
    }
}

/// A port nothing listens on now (the server takes it a moment later).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}
