//! The authorizer's verdict on a token's rate limit and quota, as it hands it to your
//! integration (context keys `usage`, `retry_after`, `ratelimit_policy`, `ratelimit`; all
//! empty or absent for a token without limits).

use std::collections::HashMap;

use lambda_http::http::HeaderValue;
use lambda_http::{Body, Response};
use serde_json::Value;

/// What the authorizer decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Counted, within every limit.
    Admitted,
    /// Over the rate limit in this window.
    RateLimited,
    /// The quota of this period (or the total) is used up.
    QuotaExhausted,
}

/// The verdict and where the token's limits stand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    /// What was decided.
    pub verdict: Verdict,
    /// Seconds until a refused request may succeed (`None`: admitted, or a total quota that
    /// never refills).
    pub retry_after: Option<u64>,
    /// The `RateLimit-Policy` header's value, e.g. `"rate";q=100;w=60`.
    pub policy: String,
    /// The `RateLimit` header's value, e.g. `"rate";r=42;t=18`.
    pub state: String,
}

impl Usage {
    /// The verdict in an authorizer context; `None` for a token without limits (or a
    /// verdict this version does not know, which is treated as none).
    pub fn from_context(ctx: &HashMap<String, Value>) -> Option<Self> {
        let text = |k: &str| ctx.get(k).and_then(Value::as_str).unwrap_or_default();
        let verdict = match text("usage") {
            "admitted" => Verdict::Admitted,
            "rate_limited" => Verdict::RateLimited,
            "quota_exhausted" => Verdict::QuotaExhausted,
            _ => return None,
        };
        Some(Self {
            verdict,
            retry_after: text("retry_after").parse().ok(),
            policy: text("ratelimit_policy").to_string(),
            state: text("ratelimit").to_string(),
        })
    }

    /// The `RateLimit-Policy` and `RateLimit` headers (those not empty).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        [
            ("ratelimit-policy", &self.policy),
            ("ratelimit", &self.state),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k, v.clone()))
        .collect()
    }

    /// Adds [`Usage::headers`] to `resp`.
    pub fn add_headers(&self, resp: &mut Response<Body>) {
        for (name, value) in self.headers() {
            if let Ok(v) = HeaderValue::from_str(&value) {
                resp.headers_mut().insert(name, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use api_tokens::domain::usage as service;
    use api_tokens::http::HttpError;
    use api_tokens::ApiError;

    use crate::problem::tests::parts;

    fn service_usage(verdict: service::Verdict, retry_after: Option<u64>) -> service::Usage {
        let standing = service::Standing {
            name: "quota",
            limit: 1000,
            window: Some(86_400),
            remaining: 0,
            reset: retry_after,
        };
        service::Usage::new(verdict, retry_after, &[standing])
    }

    fn ours(u: &service::Usage) -> Usage {
        let ctx = u
            .to_context()
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::from(v)))
            .collect();
        Usage::from_context(&ctx).expect("a verdict")
    }

    #[test]
    fn a_429_is_the_services_own_header_by_header() {
        for (verdict, retry, error) in [
            (
                service::Verdict::RateLimited,
                Some(17),
                ApiError::RateLimited as fn(_) -> _,
            ),
            (
                service::Verdict::QuotaExhausted,
                Some(3600),
                ApiError::QuotaExhausted,
            ),
            (
                service::Verdict::QuotaExhausted,
                None,
                ApiError::QuotaExhausted,
            ),
        ] {
            let u = service_usage(verdict, retry);
            let mine = crate::Problem::over_limit(&ours(&u))
                .at("/orders")
                .into_response();
            // The service adds its limit headers in `http::serve`; here, the problem alone
            // plus the headers the consumer writes.
            let mut theirs = HttpError::from(error(u.clone())).into_response("/orders");
            for (k, v) in ours(&u).headers() {
                theirs
                    .headers_mut()
                    .insert(k, HeaderValue::from_str(&v).unwrap());
            }
            let (mine, theirs) = (parts(&mine), parts(&theirs));
            assert_eq!(mine, theirs);
            assert_eq!(mine.0, 429);
            let has_retry = mine.1.iter().any(|(k, _)| k == "retry-after");
            assert_eq!(has_retry, retry.is_some());
        }
    }

    #[test]
    fn no_verdict_is_no_usage_and_an_admitted_one_passes() {
        assert_eq!(Usage::from_context(&HashMap::new()), None);
        let admitted = ours(&service_usage(service::Verdict::Admitted, None));
        assert_eq!(admitted.verdict, Verdict::Admitted);
        assert_eq!(admitted.headers().len(), 2);
    }
}
