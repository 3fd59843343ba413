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

/// Sorts SDK failures into retryable and not. Every failure after which the request may
/// have been applied (a timeout, a connection lost while reading the answer, the same
/// transaction still in progress) is retryable: the retry is recognised, never doubled.
pub fn classify<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = err.code().map(str::to_string);
    let text = DisplayErrorContext(&err).to_string();
    match (&err, code.as_deref()) {
        (
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_),
            _,
        ) => StoreError::Unavailable(text),
        (
            _,
            Some(
                "ThrottlingException"
                | "ProvisionedThroughputExceededException"
                | "RequestLimitExceeded"
                | "TransactionConflictException"
                | "TransactionInProgressException",
            ),
        ) => StoreError::Throttled(text),
        // A transaction cancelled because one of its items was throttled: the reasons are
        // only in the message here, where the error's type is not known.
        (_, Some("TransactionCanceledException"))
            if text.contains("ThrottlingError")
                || text.contains("ProvisionedThroughputExceeded") =>
        {
            StoreError::Throttled(text)
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::get_item::GetItemError;
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;

    fn answered(code: &str, message: &str) -> SdkError<GetItemError, Response> {
        let meta = ErrorMetadata::builder().code(code).message(message).build();
        let raw = Response::new(StatusCode::try_from(400).unwrap(), SdkBody::empty());
        SdkError::service_error(GetItemError::generic(meta), raw)
    }

    #[test]
    fn failures_after_which_the_request_may_have_been_applied_are_retryable() {
        let lost = SdkError::<GetItemError, Response>::response_error(
            "connection closed while reading the answer",
            Response::new(StatusCode::try_from(200).unwrap(), SdkBody::empty()),
        );
        assert!(matches!(classify(lost), StoreError::Unavailable(_)));
        let timed_out = SdkError::<GetItemError, Response>::timeout_error("attempt timeout");
        assert!(matches!(classify(timed_out), StoreError::Unavailable(_)));
        for code in ["TransactionInProgressException", "ThrottlingException"] {
            assert!(
                matches!(classify(answered(code, "busy")), StoreError::Throttled(_)),
                "{code}"
            );
        }
        let throttled_item = answered(
            "TransactionCanceledException",
            "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ThrottlingError]",
        );
        assert!(matches!(classify(throttled_item), StoreError::Throttled(_)));
    }

    #[test]
    fn other_failures_are_ours() {
        let refused = answered(
            "TransactionCanceledException",
            "Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed]",
        );
        assert!(matches!(classify(refused), StoreError::Other(_)));
        assert!(matches!(
            classify(answered("ResourceNotFoundException", "no table")),
            StoreError::Other(_)
        ));
        assert!(matches!(
            classify(answered("InternalServerError", "oops")),
            StoreError::Unavailable(_)
        ));
    }
}
