//! `scripts/bench scale`: does a list page cost more, or take longer, when the tenant holds
//! more tokens? One table over DynamoDB Local holds one tenant per size (default 1k, 10k,
//! 30k and 100k tokens: 80% active, 10% expired, 10% revoked, 10 owners), seeded with
//! `BatchWriteItem`. Pages of 100 are then read through `TokenService::list` in rounds that
//! visit every size in turn (rotating the order), so background load on the machine falls
//! on every size alike. Prints a Markdown table and writes a CSV for `scripts/plot`.
//!
//! - `SCALE_SIZES`: comma list of tenant sizes (default `1000,10000,30000,100000`).
//! - `SCALE_ROUNDS`: measured rounds (default 31, after 3 warm-up rounds).
//! - `SCALE_CSV`: where the CSV goes (default `docs/bench/scale.csv`).

use std::io::Write as _;
use std::time::Instant;

use api_tokens::model::Status;
use api_tokens::service::listing::{ListQuery, ListResult};
use api_tokens::{schema, time, DynamoStore, TokenService};
use api_tokens_benches::{median, percentile, seed_tenant};
use integration_tests::{dynamodb, endpoint, principal, test_config};

const USERS: usize = 10;
const PAGE: u32 = 100;
const WARM_UP_ROUNDS: usize = 3;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn queries() -> Vec<(&'static str, ListQuery)> {
    vec![
        (
            "default (no filter)",
            ListQuery {
                limit: PAGE,
                ..Default::default()
            },
        ),
        (
            "status=active",
            ListQuery {
                limit: PAGE,
                statuses: Some([Status::Active].into()),
                ..Default::default()
            },
        ),
        (
            "user_id=user0&status=active",
            ListQuery {
                limit: PAGE,
                statuses: Some([Status::Active].into()),
                user_id: Some("user0".into()),
                ..Default::default()
            },
        ),
    ]
}

/// What one (size, query) cell measured.
struct Cell {
    size: usize,
    query: &'static str,
    ms: Vec<f64>,
    last: Option<ListResult>,
}

#[tokio::main]
async fn main() {
    let sizes = sizes();
    let rounds: usize = env_or("SCALE_ROUNDS", 31);
    let csv_path: String = env_or("SCALE_CSV", "docs/bench/scale.csv".to_string());

    let db = dynamodb(&endpoint());
    let table = format!("bench-{}", uuid::Uuid::now_v7().simple());
    schema::create_table(&db, &table).await.unwrap();
    let seeding = seed(&db, &table, &sizes).await;
    let service = TokenService::new(DynamoStore::new(db.clone(), &table), &test_config(&table));
    let cells = measure(&service, &sizes, rounds).await;
    write_csv(&csv_path, &cells, &seeding);
    print_tables(&cells, &sizes, &seeding);
    eprintln!("wrote {csv_path}");
    db.delete_table().table_name(&table).send().await.unwrap();
}

/// `SCALE_SIZES`, smallest first.
fn sizes() -> Vec<usize> {
    let mut sizes: Vec<usize> = std::env::var("SCALE_SIZES")
        .unwrap_or_else(|_| "1000,10000,30000,100000".into())
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("SCALE_SIZES: comma list of numbers")
        })
        .collect();
    sizes.sort_unstable();
    sizes
}

/// Seeds one tenant per size; the seconds each took.
async fn seed(db: &aws_sdk_dynamodb::Client, table: &str, sizes: &[usize]) -> Vec<(usize, f64)> {
    let base = time::now() - chrono::Duration::days(400);
    let mut seeding = Vec::new();
    for &n in sizes {
        let started = Instant::now();
        seed_tenant(db, table, &tenant(n), 0..n, USERS, base, 4).await;
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "seeded {n} tokens in {secs:.1} s ({:.0} tokens/s)",
            n as f64 / secs
        );
        seeding.push((n, secs));
    }
    seeding
}

/// Reads every (size, query) cell once per round, visiting the sizes in a rotating order;
/// the first rounds warm up and are not kept.
async fn measure(service: &TokenService<DynamoStore>, sizes: &[usize], rounds: usize) -> Vec<Cell> {
    let queries = queries();
    let mut cells: Vec<Cell> = Vec::new();
    for &n in sizes {
        for (query, _) in &queries {
            cells.push(Cell {
                size: n,
                query,
                ms: Vec::new(),
                last: None,
            });
        }
    }
    let per_size = queries.len();
    for round in 0..WARM_UP_ROUNDS + rounds {
        for k in 0..sizes.len() {
            let s = (k + round) % sizes.len();
            let admin = principal(&tenant(sizes[s]), "root", &["tokens:admin"]);
            for (j, (_, q)) in queries.iter().enumerate() {
                let t = Instant::now();
                let r = service.list(&admin, q).await.unwrap();
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                let cell = &mut cells[s * per_size + j];
                if round >= WARM_UP_ROUNDS {
                    cell.ms.push(ms);
                }
                cell.last = Some(r);
            }
        }
    }
    cells
}

/// The CSV `scripts/plot` reads.
fn write_csv(path: &str, cells: &[Cell], seeding: &[(usize, f64)]) {
    if let Some(dir) = std::path::Path::new(path).parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    let mut csv = std::fs::File::create(path).unwrap();
    writeln!(
        csv,
        "tokens_in_tenant,query,items_returned,requests,items_read,rcu,p50_ms,p90_ms,seed_seconds"
    )
    .unwrap();
    for c in cells {
        let r = c.last.as_ref().unwrap();
        let (p50, p90) = (median(&c.ms), percentile(&c.ms, 0.9));
        let seed = seeding.iter().find(|(n, _)| *n == c.size).unwrap().1;
        writeln!(
            csv,
            "{},{},{},{},{},{},{p50:.3},{p90:.3},{seed:.1}",
            c.size,
            c.query,
            r.items.len(),
            r.stats.requests,
            r.stats.items_read,
            r.stats.capacity
        )
        .unwrap();
    }
}

/// Every cell, then the largest size against the smallest, then the seeding.
fn print_tables(cells: &[Cell], sizes: &[usize], seeding: &[(usize, f64)]) {
    println!("| tokens in tenant | page of {PAGE} | items returned | DynamoDB requests | items read | RCU | p50 | p90 |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for c in cells {
        let r = c.last.as_ref().unwrap();
        let (p50, p90) = (median(&c.ms), percentile(&c.ms, 0.9));
        println!(
            "| {} | {} | {} | {} | {} | {} | {p50:.2} ms | {p90:.2} ms |",
            c.size,
            c.query,
            r.items.len(),
            r.stats.requests,
            r.stats.items_read,
            r.stats.capacity
        );
    }
    let per_size = queries().len();
    let (small, large) = (sizes[0], sizes[sizes.len() - 1]);
    println!("\n| page of {PAGE} | latency p50, {large} / {small} | RCU, {large} / {small} |");
    println!("| --- | --- | --- |");
    for (j, (query, _)) in queries().iter().enumerate() {
        let (a, b) = (&cells[j], &cells[(sizes.len() - 1) * per_size + j]);
        let rcu = |c: &Cell| c.last.as_ref().unwrap().stats.capacity;
        println!(
            "| {query} | {:.2} | {:.2} |",
            median(&b.ms) / median(&a.ms),
            rcu(b) / rcu(a)
        );
    }
    println!("\nSeeding (`BatchWriteItem`, 25 records per request, 4 at a time):");
    for (n, secs) in seeding {
        println!(
            "- {n} tokens: {secs:.1} s ({:.0} tokens/s)",
            *n as f64 / secs
        );
    }
}

/// The tenant holding `n` tokens.
fn tenant(n: usize) -> String {
    format!("t{n}")
}
