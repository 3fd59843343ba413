//! What a store call can fail with, how SDK failures are sorted into it, and what the API
//! answers for it.

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};

use crate::domain::error::ApiError;

/// A store failure. Throttling and unavailability are retryable by the client (503).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// DynamoDB throttled the request after the SDK's own retries.
    #[error("throttled: {0}")]
    Throttled(String),
    /// Timeout, connection failure, or a DynamoDB server error.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// An item did not have the expected shape.
    #[error("corrupt item: {0}")]
    Corrupt(String),
    /// A write kept losing races with concurrent writes to the same token.
    #[error("contended: {0}")]
    Contended(String),
    /// Anything else (bad configuration, missing table, access denied, ...).
    #[error("dynamodb: {0}")]
    Other(String),
}

/// Sorts SDK failures into retryable and not.
pub fn classify<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = err.code().map(str::to_string);
    let text = DisplayErrorContext(&err).to_string();
    match (&err, code.as_deref()) {
        (SdkError::TimeoutError(_) | SdkError::DispatchFailure(_), _) => {
            StoreError::Unavailable(text)
        }
        (
            _,
            Some(
                "ThrottlingException"
                | "ProvisionedThroughputExceededException"
                | "RequestLimitExceeded"
                | "TransactionConflictException",
            ),
        ) => StoreError::Throttled(text),
        (_, Some("InternalServerError" | "ServiceUnavailable")) => StoreError::Unavailable(text),
        _ => StoreError::Other(text),
    }
}

/// A conditional `UpdateItem`'s output, `None` when its condition failed (nothing written).
pub fn unless_condition_failed<R>(
    out: Result<UpdateItemOutput, SdkError<UpdateItemError, R>>,
) -> Result<Option<UpdateItemOutput>, StoreError>
where
    R: std::fmt::Debug,
{
    match out {
        Ok(out) => Ok(Some(out)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(classify(e)),
    }
}

/// A request builder's `build()` failure: a field the store forgot, so ours, not DynamoDB's.
pub fn unbuilt(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Other(e.to_string())
}

/// DynamoDB being busy is the client's to retry (503); any other store failure is ours.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Throttled(detail)
            | StoreError::Unavailable(detail)
            | StoreError::Contended(detail) => {
                tracing::warn!(detail = %detail, "DynamoDB busy or unreachable");
                Self::Unavailable
            }
            other => Self::Internal(other.to_string()),
        }
    }
}
