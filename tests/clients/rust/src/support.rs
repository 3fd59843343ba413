//! What every step of the drive shares: checks that exit naming what failed, one line per
//! step, the list query with nothing set, the problem of an error answer, and times as the
//! generated client writes them.

use std::fmt::Debug;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use api_tokens_client::apis::tokens_api::{
    CreateTokenError, GetTokenError, ListTokensError, ListTokensParams,
};
use api_tokens_client::apis::{Error, ResponseContent};
use api_tokens_client::models::{Problem, Token};

use crate::DAY;

pub fn check(condition: bool, what: &str) {
    if !condition {
        fail(what);
    }
}

pub fn fail(what: &str) -> ! {
    eprintln!("rust: FAILED: {what}");
    std::process::exit(1);
}

pub fn step(line: impl std::fmt::Display) {
    println!("rust: ok  {line}");
}

/// The answer of a call that must succeed.
pub fn ok<T, E: Debug>(result: Result<T, Error<E>>) -> T {
    result.unwrap_or_else(|e| fail(&format!("expected a success, got {e:?}")))
}

/// A list query with no parameter set (`ListTokensParams` has no `Default`).
pub fn no_filter() -> ListTokensParams {
    ListTokensParams {
        limit: None,
        cursor: None,
        status: None,
        include_revoked: None,
        user_id: None,
        token_ids: None,
        name: None,
        scope: None,
        metadata: None,
        created_after: None,
        created_before: None,
        expires_after: None,
        expires_before: None,
        last_used_after: None,
        last_used_before: None,
        sort: None,
        order: None,
        include_total_count: None,
        limited: None,
    }
}

/// Token ids as text (the driver does not name the `uuid` crate the model's ids come from).
pub fn ids<'a>(tokens: impl IntoIterator<Item = &'a Token>) -> Vec<String> {
    tokens.into_iter().map(|t| t.id.to_string()).collect()
}

pub fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// The problem+json of an error answer. Each operation's error enum has a variant per
/// documented status, all holding a `Problem`; being `#[serde(untagged)]`, the first variant
/// wins whatever the status, so the status is read from `ResponseContent`, not the variant.
pub fn problem<T: Debug, E: IntoProblem>(
    result: Result<T, Error<E>>,
    status: u16,
    r#type: &str,
) -> Problem {
    let p = match result {
        Err(Error::ResponseError(ResponseContent {
            status: got,
            entity: Some(e),
            ..
        })) if got.as_u16() == status => e.into_problem(),
        other => fail(&format!("expected a {status} problem, got {other:?}")),
    };
    check(
        p.status == i32::from(status) && p.r#type == r#type,
        &format!("problem {} {}, want {status} {type}", p.status, p.r#type),
    );
    check(
        !p.title.is_empty() && !p.detail.is_empty(),
        "a problem has a title and a detail",
    );
    p
}

pub trait IntoProblem: Debug {
    fn into_problem(self) -> Problem;
}

macro_rules! into_problem {
    ($error:ident: $($status:ident),*) => {
        impl IntoProblem for $error {
            fn into_problem(self) -> Problem {
                match self {
                    $($error::$status(p))|* => p,
                    $error::UnknownValue(v) => fail(&format!("not a problem: {v}")),
                }
            }
        }
    };
}
into_problem!(GetTokenError: Status401, Status403, Status404, Status422, Status429, Status503);
into_problem!(CreateTokenError: Status400, Status401, Status403, Status413, Status415, Status422, Status429, Status503);
into_problem!(ListTokensError: Status400, Status401, Status403, Status422, Status429, Status503);

/// RFC 3339 (UTC, seconds) for now plus `seconds`: date-times are strings in the generated
/// client (generated with useChrono=false; see scripts/test-clients).
pub fn at(seconds: i64) -> String {
    let t = since_epoch().as_secs() as i64 + seconds;
    let (days, secs) = (t.div_euclid(DAY), t.rem_euclid(DAY));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

pub fn since_epoch() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap()
}
