//! One case of the catalog: a request and the answer it must get, built with `const fn`s so
//! each table is a constant.

/// Who calls.
#[derive(Debug, Clone, Copy)]
pub(super) enum Auth {
    /// `acme/alice`, scopes `tokens:read tokens:write`.
    Alice,
    /// `acme/rita`, scope `tokens:read` only.
    Reader,
    /// `acme/carol`, user scopes, her token expires in a day.
    Expiring,
    /// No `Authorization` header.
    Missing,
    /// This exact `Authorization` value (placeholders filled in).
    Raw(&'static str),
}

/// The request body.
#[derive(Debug, Clone, Copy)]
pub(super) enum Body {
    Empty,
    /// Text with placeholders filled in.
    Text(&'static str),
    /// Exactly these bytes.
    Bytes(&'static [u8]),
    /// Built at run time (large bodies).
    Built(fn() -> Vec<u8>),
}

/// One bad request and the answer it must get.
#[derive(Debug, Clone, Copy)]
pub(super) struct Case {
    pub(super) name: &'static str,
    pub(super) method: &'static str,
    /// Path and query, with placeholders such as `{id}` and `{cursor}`.
    pub(super) path: &'static str,
    pub(super) auth: Auth,
    pub(super) content_type: Option<&'static str>,
    pub(super) headers: &'static [(&'static str, &'static str)],
    pub(super) body: Body,
    pub(super) status: u16,
    pub(super) problem: &'static str,
    /// For validation errors: the `loc` (compact JSON) one of the errors must have.
    pub(super) loc: Option<&'static str>,
}

pub(super) const JSON: &str = "application/json";

pub(super) const fn case(name: &'static str, method: &'static str, path: &'static str) -> Case {
    Case {
        name,
        method,
        path,
        auth: Auth::Alice,
        content_type: None,
        headers: &[],
        body: Body::Empty,
        status: 0,
        problem: "",
        loc: None,
    }
}

/// `POST /tokens` with a JSON body.
pub(super) const fn create(name: &'static str, body: &'static str) -> Case {
    case(name, "POST", "/tokens").json(body)
}

/// `PATCH /tokens/{id}` (one of alice's tokens) with a JSON body.
pub(super) const fn patch(name: &'static str, body: &'static str) -> Case {
    case(name, "PATCH", "/tokens/{id}").json(body)
}

/// `POST /tokens/{id}/rotate` with a JSON body.
pub(super) const fn rotate(name: &'static str, body: &'static str) -> Case {
    case(name, "POST", "/tokens/{id}/rotate").json(body)
}

/// `GET /tokens?{query}`.
pub(super) const fn list(name: &'static str, path: &'static str) -> Case {
    case(name, "GET", path)
}

impl Case {
    pub(super) const fn json(self, body: &'static str) -> Self {
        Self {
            content_type: Some(JSON),
            body: Body::Text(body),
            ..self
        }
    }

    pub(super) const fn built(self, body: fn() -> Vec<u8>) -> Self {
        Self {
            content_type: Some(JSON),
            body: Body::Built(body),
            ..self
        }
    }

    pub(super) const fn bytes(
        self,
        content_type: Option<&'static str>,
        body: &'static [u8],
    ) -> Self {
        Self {
            content_type,
            body: Body::Bytes(body),
            ..self
        }
    }

    pub(super) const fn auth(self, auth: Auth) -> Self {
        Self { auth, ..self }
    }

    pub(super) const fn headers(self, headers: &'static [(&'static str, &'static str)]) -> Self {
        Self { headers, ..self }
    }

    /// Answered with this status and problem type.
    pub(super) const fn fails(self, status: u16, problem: &'static str) -> Self {
        Self {
            status,
            problem,
            ..self
        }
    }

    /// A `422 /problems/validation-error` naming `loc`.
    pub(super) const fn invalid(self, loc: &'static str) -> Self {
        Self {
            loc: Some(loc),
            ..self.fails(422, "validation-error")
        }
    }

    /// A `400 /problems/malformed-json`.
    pub(super) const fn malformed(self) -> Self {
        self.fails(400, "malformed-json")
    }

    /// A `400 /problems/invalid-cursor`.
    pub(super) const fn bad_cursor(self) -> Self {
        self.fails(400, "invalid-cursor")
    }

    /// A `401 /problems/unauthorized`.
    pub(super) const fn unauthorized(self) -> Self {
        self.fails(401, "unauthorized")
    }
}
