//! Ingest of distinct deliveries: a load generator that posts signed
//! `pull_request` deliveries to a webhook door, each with its own delivery
//! id *and its own body*, as GitHub's are.
//!
//! `../shared/bench/ingest/compare.sh` posts one body under many delivery
//! ids. Warrant stores the first and answers every other as a replay
//! (`200 duplicate`, see `docs/github-app.md`, "Replays"), so that script
//! measures the replay path. This one makes each body distinct (a number
//! written into the pull request's title) and signs each, so that every
//! delivery Warrant answers is a new row, committed and synced first.
//! `benches/ingest-unique.sh` runs it against Warrant and the peer of
//! `compare.sh`, side by side in one run, like that script.
//!
//! ```sh
//! cargo bench --bench ingest_unique -- PORT SECONDS CONNECTIONS BODY_FILE SECRET
//! ```
//!
//! One thread, as `wrk -t1` is, so that the server keeps a core. Prints
//! one line: requests answered, those not 2xx, requests per second, p50
//! and p99. Not a test: nothing here passes or fails on time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use warrant::server::sign;

/// What is written into the title of each body to make it distinct.
const TITLE: &str = "\"title\": \"";

struct Args {
    port: u16,
    seconds: u64,
    connections: usize,
    body: Vec<u8>,
    secret: String,
}

fn args() -> Args {
    // `cargo bench` adds `--bench`; the rest is positional.
    let given: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let [port, seconds, connections, body, secret] = given.as_slice() else {
        eprintln!("usage: ingest_unique PORT SECONDS CONNECTIONS BODY_FILE SECRET");
        std::process::exit(2);
    };
    Args {
        port: port.parse().expect("PORT is a number"),
        seconds: seconds.parse().expect("SECONDS is a number"),
        connections: connections.parse().expect("CONNECTIONS is a number"),
        body: std::fs::read(body).expect("BODY_FILE can be read"),
        secret: secret.clone(),
    }
}

/// The body with `n` at the start of its first title, and its signature.
fn delivery(template: &[u8], at: usize, secret: &str, n: u64) -> (Bytes, String) {
    let mut body = Vec::with_capacity(template.len() + 24);
    body.extend_from_slice(&template[..at]);
    body.extend_from_slice(format!("#{n} ").as_bytes());
    body.extend_from_slice(&template[at..]);
    let signature = sign(secret, &body);
    (Bytes::from(body), signature)
}

fn main() {
    let args = args();
    let at = args
        .body
        .windows(TITLE.len())
        .position(|w| w == TITLE.as_bytes())
        .expect("the body has a title")
        + TITLE.len();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run(args, at));
}

async fn run(args: Args, at: usize) {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(args.connections)
        .build_http();
    let url = format!("http://127.0.0.1:{}/webhooks/github", args.port);
    let template = Arc::new(args.body);
    let secret = Arc::new(args.secret);
    // Distinct across runs too, so that a rerun against the same database
    // posts no body it stored before.
    let run_id = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos();
    let end = Instant::now() + Duration::from_secs(args.seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for connection in 0..args.connections as u64 {
        let (client, url) = (client.clone(), url.clone());
        let (template, secret) = (template.clone(), secret.clone());
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            let mut failed = 0u64;
            let mut n = connection;
            while Instant::now() < end {
                let (body, signature) = delivery(&template, at, &secret, n);
                let request = Request::post(&url)
                    .header("content-type", "application/json")
                    .header("x-github-event", "pull_request")
                    .header("x-github-delivery", format!("{run_id}-{n}"))
                    .header("x-hub-signature-256", signature)
                    .body(Full::new(body))
                    .expect("a request");
                let started = Instant::now();
                match client.request(request).await {
                    Ok(response) => {
                        let ok = response.status().is_success();
                        let _ = response.into_body().collect().await;
                        failed += u64::from(!ok);
                    }
                    Err(_) => failed += 1,
                }
                latencies.push(started.elapsed());
                n += args.connections as u64;
            }
            (latencies, failed)
        });
    }
    let mut latencies = Vec::new();
    let mut failed = 0;
    for (l, f) in tasks.join_all().await {
        latencies.extend(l);
        failed += f;
    }
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "requests {} non-2xx {} req/s {:.0} p50 {:.2}ms p99 {:.2}ms",
        latencies.len(),
        failed,
        latencies.len() as f64 / args.seconds as f64,
        at(0.50).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
    );
}
