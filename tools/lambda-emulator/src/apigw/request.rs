//! One client request as API Gateway sees it: method, raw path and query, headers in order
//! (names lower-cased), body, and the TCP peer's address, which is the only source of
//! `sourceIp` (no header can set it).

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use super::route::percent_decode;

/// API Gateway's payload quota: 10 MB.
pub const MAX_BODY: usize = 10 * 1024 * 1024;

/// Why a request could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The body is over [`MAX_BODY`].
    #[error("request body over {MAX_BODY} bytes")]
    TooLarge,
    /// The connection failed while the body was read.
    #[error("reading the request body: {0}")]
    Body(String),
}

/// A client request, read in full.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path as sent, percent-encoding kept.
    pub raw_path: String,
    /// The query string as sent, without `?` (empty when none).
    pub raw_query: String,
    /// Headers in the order sent, names lower-case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// The TCP peer's address.
    pub source_ip: IpAddr,
    /// `HTTP/1.1`.
    pub protocol: String,
    /// When it arrived.
    pub time: DateTime<Utc>,
}

impl ApiRequest {
    /// Reads a request from a connection with `peer`.
    pub async fn read(
        request: hyper::Request<Incoming>,
        source_ip: IpAddr,
    ) -> Result<Self, ReadError> {
        let (parts, body) = request.into_parts();
        let time = Utc::now();
        let body = Limited::new(body, MAX_BODY)
            .collect()
            .await
            .map_err(|e| match e.downcast::<http_body_util::LengthLimitError>() {
                Ok(_) => ReadError::TooLarge,
                Err(e) => ReadError::Body(e.to_string()),
            })?
            .to_bytes()
            .to_vec();
        let headers = parts
            .headers
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_ascii_lowercase(), value)
            })
            .collect();
        Ok(Self {
            method: parts.method.as_str().to_owned(),
            raw_path: parts.uri.path().to_owned(),
            raw_query: parts.uri.query().unwrap_or_default().to_owned(),
            headers,
            body,
            source_ip,
            protocol: format!("{:?}", parts.version),
            time,
        })
    }

    /// Every value of header `name` (case-insensitive), in order.
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Header `name`'s values joined with `,`, if it was sent.
    pub fn joined_header(&self, name: &str) -> Option<String> {
        let values = self.header_values(name);
        (!values.is_empty()).then(|| values.join(","))
    }

    /// The `User-Agent` header, or empty.
    pub fn user_agent(&self) -> String {
        self.joined_header("user-agent").unwrap_or_default()
    }

    /// The query's name/value pairs in order, percent-decoded.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.raw_query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(name), percent_decode(value))
            })
            .collect()
    }

    /// Every cookie of every `Cookie` header (`name=value`), in order.
    pub fn cookies(&self) -> Vec<String> {
        self.header_values("cookie")
            .iter()
            .flat_map(|h| h.split(';'))
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The body as a string: as it is when it is text, else base64 (and `true`).
    pub fn body_text(&self, text_content: bool) -> (String, bool) {
        use base64::Engine;
        match std::str::from_utf8(&self.body) {
            Ok(text) if text_content => (text.to_owned(), false),
            _ => (
                base64::engine::general_purpose::STANDARD.encode(&self.body),
                true,
            ),
        }
    }
}

#[cfg(test)]
pub(crate) mod fixture {
    use super::*;

    /// A request from `127.0.0.1` with these headers.
    pub fn request(method: &str, target: &str, headers: &[(&str, &str)]) -> ApiRequest {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        ApiRequest {
            method: method.into(),
            raw_path: path.into(),
            raw_query: query.into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_ascii_lowercase(), v.to_string()))
                .collect(),
            body: Vec::new(),
            source_ip: IpAddr::from([127, 0, 0, 1]),
            protocol: "HTTP/1.1".into(),
            time: DateTime::from_timestamp(1_583_348_638, 390_000_000).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixture::request;

    #[test]
    fn repeated_headers_are_joined_with_commas_case_insensitively() {
        let r = request("GET", "/", &[("X-A", "1"), ("x-a", "2"), ("B", "3")]);
        assert_eq!(r.joined_header("x-a").as_deref(), Some("1,2"));
        assert_eq!(r.joined_header("X-B"), None);
    }

    #[test]
    fn query_pairs_are_decoded_in_order() {
        let r = request("GET", "/?a=1&b=x%20y&a=2&flag", &[]);
        let pairs: Vec<(String, String)> = r.query_pairs();
        let expected = [("a", "1"), ("b", "x y"), ("a", "2"), ("flag", "")];
        assert_eq!(pairs, expected.map(|(n, v)| (n.to_string(), v.to_string())));
    }

    #[test]
    fn cookies_come_from_every_cookie_header() {
        let r = request("GET", "/", &[("Cookie", "a=1; b=2"), ("Cookie", "c=3")]);
        assert_eq!(r.cookies(), ["a=1", "b=2", "c=3"]);
    }
}
