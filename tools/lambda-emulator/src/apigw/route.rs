//! Route (HTTP API) and resource (REST API) selection.
//!
//! API Gateway picks the most specific match ("Routing API requests" in the HTTP API
//! developer guide): a full match of path and method beats a match through a greedy path
//! variable (`{proxy+}`), which beats the `$default` route. Reproduced here by comparing
//! matching templates segment by segment, left to right: a static segment beats a `{param}`,
//! which beats a `{greedy+}`; with equal paths a route's own method beats `ANY`. So
//! `GET /tokens/rotate` wins over `GET /tokens/{id}`, `GET /pets/{proxy+}` over
//! `ANY /{proxy+}`. A greedy variable takes one segment or more (`/x/{proxy+}` does not match
//! `/x`). Segments are compared and path parameters given percent-decoded, as API Gateway
//! decodes request parameters before passing them on.

use std::collections::BTreeMap;

/// Why a route key or resource path cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// Not `METHOD /path` or `$default`.
    #[error("route key {0:?} is not `METHOD /path` or `$default`")]
    Key(String),
    /// A path that does not start with `/`, or a greedy variable before the end.
    #[error("resource path {0:?} is not valid")]
    Path(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Static(String),
    Param(String),
    Greedy(String),
}

/// A resource path such as `/tokens/{id}` or `/x/{proxy+}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathTemplate {
    segments: Vec<Segment>,
}

/// A route key: `GET /tokens/{id}`, `ANY /x/{proxy+}` or `$default`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteKey {
    /// A method (`None` for `ANY`) and a path.
    Route {
        /// `GET`, or `None` for `ANY`.
        method: Option<String>,
        /// The path template.
        path: PathTemplate,
    },
    /// The catch-all `$default` route.
    Default,
}

/// The selected route: its index and its path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    /// Index of the route in the list given to [`select`].
    pub index: usize,
    /// Path parameters, decoded.
    pub params: BTreeMap<String, String>,
}

impl PathTemplate {
    /// Reads a resource path.
    pub fn parse(path: &str) -> Result<Self, RouteError> {
        let rest = path
            .strip_prefix('/')
            .ok_or_else(|| RouteError::Path(path.into()))?;
        let mut segments = Vec::new();
        if !rest.is_empty() {
            for part in rest.split('/') {
                let segment = match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    Some(name) => match name.strip_suffix('+') {
                        Some(greedy) => Segment::Greedy(greedy.into()),
                        None => Segment::Param(name.into()),
                    },
                    None => Segment::Static(part.into()),
                };
                segments.push(segment);
            }
        }
        let greedy_before_end = segments
            .iter()
            .rev()
            .skip(1)
            .any(|s| matches!(s, Segment::Greedy(_)));
        if greedy_before_end {
            return Err(RouteError::Path(path.into()));
        }
        Ok(Self { segments })
    }

    /// The path parameters when `path` (raw, percent-encoded) matches.
    pub fn matches(&self, path: &str) -> Option<BTreeMap<String, String>> {
        let parts = split_path(path);
        let mut params = BTreeMap::new();
        for (i, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Static(s) => {
                    if parts.get(i).map(|p| percent_decode(p)) != Some(s.clone()) {
                        return None;
                    }
                }
                Segment::Param(name) => {
                    params.insert(name.clone(), percent_decode(parts.get(i)?));
                }
                Segment::Greedy(name) => {
                    let rest = parts.get(i..)?.join("/");
                    if rest.is_empty() {
                        return None;
                    }
                    params.insert(name.clone(), percent_decode(&rest));
                    return Some(params);
                }
            }
        }
        (parts.len() == self.segments.len()).then_some(params)
    }

    /// Specificity, compared lexicographically: static 2, `{param}` 1, greedy 0 per segment.
    fn rank(&self) -> Vec<u8> {
        self.segments
            .iter()
            .map(|s| match s {
                Segment::Static(_) => 2,
                Segment::Param(_) => 1,
                Segment::Greedy(_) => 0,
            })
            .collect()
    }
}

impl RouteKey {
    /// Reads a route key as the model has it.
    pub fn parse(key: &str) -> Result<Self, RouteError> {
        if key == "$default" {
            return Ok(Self::Default);
        }
        let (method, path) = key
            .split_once(' ')
            .ok_or_else(|| RouteError::Key(key.into()))?;
        if method.is_empty() || !method.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(RouteError::Key(key.into()));
        }
        let method = (method != "ANY").then(|| method.to_owned());
        let path = PathTemplate::parse(path)?;
        Ok(Self::Route { method, path })
    }
}

/// The most specific of `routes` for `method` and `path` (raw, without the query).
pub fn select(routes: &[RouteKey], method: &str, path: &str) -> Option<Selected> {
    let mut best: Option<((Vec<u8>, bool), Selected)> = None;
    for (index, route) in routes.iter().enumerate() {
        let RouteKey::Route {
            method: m,
            path: template,
        } = route
        else {
            continue;
        };
        if m.as_deref().is_some_and(|m| m != method) {
            continue;
        }
        let Some(params) = template.matches(path) else {
            continue;
        };
        let rank = (template.rank(), m.is_some());
        if best.as_ref().is_none_or(|(b, _)| rank > *b) {
            best = Some((rank, Selected { index, params }));
        }
    }
    best.map(|(_, s)| s).or_else(|| {
        let index = routes.iter().position(|r| *r == RouteKey::Default)?;
        Some(Selected {
            index,
            params: BTreeMap::new(),
        })
    })
}

fn split_path(path: &str) -> Vec<&str> {
    match path.strip_prefix('/') {
        Some("") | None => Vec::new(),
        Some(rest) => rest.split('/').collect(),
    }
}

/// Decodes `%XX` escapes (bytes that are not UTF-8 become U+FFFD); `+` stays `+`.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).and_then(|b| hex(*b)),
            bytes.get(i + 2).and_then(|b| hex(*b)),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes(keys: &[&str]) -> Vec<RouteKey> {
        keys.iter()
            .map(|k| RouteKey::parse(k).expect("a valid key"))
            .collect()
    }

    fn chosen(
        keys: &[&str],
        method: &str,
        path: &str,
    ) -> Option<(String, BTreeMap<String, String>)> {
        select(&routes(keys), method, path).map(|s| (keys[s.index].to_string(), s.params))
    }

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const SERVICE: &[&str] = &[
        "GET /tokens",
        "POST /tokens",
        "GET /tokens/{id}",
        "POST /tokens/{id}/rotate",
        "DELETE /tokens/{id}",
    ];

    #[test]
    fn a_route_matches_its_method_and_path_with_parameters() {
        assert_eq!(
            chosen(SERVICE, "GET", "/tokens"),
            Some(("GET /tokens".into(), params(&[])))
        );
        assert_eq!(
            chosen(SERVICE, "POST", "/tokens/tok_1/rotate"),
            Some((
                "POST /tokens/{id}/rotate".into(),
                params(&[("id", "tok_1")])
            ))
        );
        assert_eq!(chosen(SERVICE, "PUT", "/tokens/tok_1"), None);
        assert_eq!(chosen(SERVICE, "GET", "/tokens/tok_1/extra"), None);
        assert_eq!(chosen(SERVICE, "GET", "/"), None);
    }

    #[test]
    fn static_segments_beat_parameters_whatever_the_order() {
        let keys = &["GET /tokens/{id}", "GET /tokens/rotate"];
        assert_eq!(
            chosen(keys, "GET", "/tokens/rotate").map(|c| c.0),
            Some("GET /tokens/rotate".into())
        );
        assert_eq!(
            chosen(keys, "GET", "/tokens/x").map(|c| c.0),
            Some("GET /tokens/{id}".into())
        );
    }

    #[test]
    fn the_developer_guide_example() {
        let keys = &[
            "GET /pets/dog/{id}",
            "GET /pets/{proxy+}",
            "ANY /{proxy+}",
            "$default",
        ];
        assert_eq!(
            chosen(keys, "GET", "/pets/dog/1"),
            Some(("GET /pets/dog/{id}".into(), params(&[("id", "1")])))
        );
        assert_eq!(
            chosen(keys, "GET", "/pets/cat/1"),
            Some(("GET /pets/{proxy+}".into(), params(&[("proxy", "cat/1")])))
        );
        assert_eq!(
            chosen(keys, "POST", "/test/5"),
            Some(("ANY /{proxy+}".into(), params(&[("proxy", "test/5")])))
        );
        assert_eq!(
            chosen(keys, "GET", "/").map(|c| c.0),
            Some("$default".into())
        );
    }

    #[test]
    fn a_method_of_its_own_beats_any_on_the_same_path() {
        let keys = &["ANY /x", "GET /x"];
        assert_eq!(
            chosen(keys, "GET", "/x").map(|c| c.0),
            Some("GET /x".into())
        );
        assert_eq!(
            chosen(keys, "PUT", "/x").map(|c| c.0),
            Some("ANY /x".into())
        );
    }

    #[test]
    fn a_greedy_variable_needs_a_segment() {
        assert_eq!(chosen(&["ANY /x/{proxy+}"], "GET", "/x"), None);
        assert_eq!(chosen(&["ANY /x/{proxy+}"], "GET", "/x/"), None);
    }

    #[test]
    fn parameters_are_percent_decoded() {
        assert_eq!(
            chosen(&["GET /tokens/{id}"], "GET", "/tokens/a%2Fb%20c+d"),
            Some(("GET /tokens/{id}".into(), params(&[("id", "a/b c+d")])))
        );
    }

    #[test]
    fn malformed_keys_are_errors() {
        for bad in ["GET", "get /x", "GET x", "ANY /{proxy+}/x", "GET  /x"] {
            assert!(RouteKey::parse(bad).is_err(), "{bad}");
        }
    }
}
